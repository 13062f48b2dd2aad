/**
 * The Jenkinsfile parses as Groovy (Debian's groovy), and every npm script and
 * `hil` command line option it calls exists.
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

  it('calls only npm scripts that exist', () => {
    const scripts = Object.keys(
      JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).scripts as Record<string, string>,
    );
    const called = [...jenkinsfile.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!);
    expect(called.length).toBeGreaterThan(0);
    for (const script of called) expect(scripts, `npm run ${script}`).toContain(script);
  });

  it('stashes the boot files the build stage makes, and every HIL stage unstashes and boots them', () => {
    const stashed = /stash name: 'boot-files', includes: BOOT_FILES/.test(jenkinsfile);
    const files = /def BOOT_FILES = '([^']+)'/.exec(jenkinsfile)?.[1]?.split(',');
    expect(stashed).toBe(true);
    expect(files).toEqual(['out/vmlinuz', 'out/initrd.cpio.gz']);
    expect(jenkinsfile).toMatch(/unstash 'boot-files'; hilStage\(target\)\(\)/);
    const boot = /def boot = "([^"]+)"/.exec(jenkinsfile)?.[1];
    expect(boot).toBe("--kernel out/vmlinuz --initrd out/initrd.cpio.gz --ready '${READY}'");
    expect(jenkinsfile).toMatch(/npm run hil -- --target \$\{target\} \$\{boot\} --results hil-results/);
  });

  it('calls only hil commands and options that the command line knows', async () => {
    const help = await hil(['--help']);
    expect(help.exitCode).toBe(0);
    // The boot options are kept in a variable; they are checked as if written out.
    const boot = /def boot = "([^"]+)"/.exec(jenkinsfile)?.[1] ?? '';
    const calls = [...jenkinsfile.replace('${boot}', boot).matchAll(/npm run hil -- ([^"']+)/g)].map((m) =>
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
