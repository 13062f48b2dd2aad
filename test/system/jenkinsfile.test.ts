/**
 * The Jenkinsfile parses as Groovy (Debian's groovy), every npm script and
 * `hil` command line option it calls exists, and the agent's user installs
 * nothing on the lab host: the set-up stage checks the host with hil doctor.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { hil, REPO } from '../support/hil.js';

const jenkinsfile = readFileSync(join(REPO, 'Jenkinsfile'), 'utf8');

describe('Jenkinsfile', () => {
  it('is valid Groovy', async () => {
    const parse = await execa(
      'groovy',
      ['-e', 'new GroovyShell().parse(new File(args[0]))', join(REPO, 'Jenkinsfile')],
      { reject: false },
    );
    expect(parse.stderr).toBe('');
    expect(parse.exitCode).toBe(0);
  }, 60_000);

  it('a syntax error is caught by the same check', async () => {
    const parse = await execa(
      'groovy',
      ['-e', 'new GroovyShell().parse(args[0])', 'pipeline { stages { stage("x") { '],
      { reject: false },
    );
    expect(parse.exitCode).not.toBe(0);
    expect(parse.stderr).toMatch(/unexpected|expecting/i);
  }, 60_000);

  it("sets up nothing as the agent's user: it checks the host with hil doctor, which stops the build with the fix", () => {
    const setUp = /stage\('Set up'\) \{([\s\S]*?)\n {4}\}/.exec(jenkinsfile)?.[1] ?? '';
    const steps = [...setUp.matchAll(/sh '([^']+)'/g)].map((m) => m[1]);
    expect(steps).toEqual(['npm ci --no-audit --no-fund', 'npm run hil -- doctor']);
    // Nowhere in the pipeline's steps (its comments may tell the administrator how): no package installs, no
    // root, no host set-up script.
    expect(jenkinsfile.replace(/\/\/.*$/gm, '')).not.toMatch(/apt-get|sudo|scripts\/setup'|bash scripts\/setup/);
  });

  it('calls only npm scripts that exist', () => {
    const scripts = Object.keys(
      JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).scripts as Record<string, string>,
    );
    const called = [...jenkinsfile.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!);
    expect(called.length).toBeGreaterThan(0);
    for (const script of called) expect(scripts, `npm run ${script}`).toContain(script);
  });

  it('calls only hil commands and options that the command line knows', async () => {
    const help = await hil(['--help']);
    expect(help.exitCode).toBe(0);
    const calls = [...jenkinsfile.matchAll(/npm run hil -- ([^"']+)/g)].map((m) =>
      m[1]!
        .replace(/\$\{[^}]+\}/g, 'X')
        .trim()
        .split(/\s+/),
    );
    expect(calls.length).toBeGreaterThan(0);
    for (const words of calls) {
      for (const word of words.filter((w) => w.startsWith('--')))
        expect(help.stdout, `option ${word}`).toContain(`${word} `);
      if (!words[0]!.startsWith('--'))
        expect(help.stdout, `command ${words[0]}`).toMatch(new RegExp(`npm run hil -- ${words[0]}\\b`));
    }
  });
});
