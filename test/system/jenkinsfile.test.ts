/**
 * The Jenkinsfile parses as Groovy (Debian's groovy), every npm script and
 * `hil` command line option it calls exists, and every HIL stage runs on an
 * agent label its targets name, holding a Lockable Resource (a pool's label or
 * a target's name) that scripts/lockable-resources.ts generates from
 * `hil targets --json`; and the agent's user installs nothing on the lab
 * host: the set-up stage checks the host with hil doctor.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { TargetsJson } from '../../harness/cli/targets-command.js';
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
    const called = [...jenkinsfile.matchAll(/npm run (?:-s )?([\w:-]+)/g)].map((m) => m[1]!);
    expect(called.length).toBeGreaterThan(0);
    for (const script of called) expect(scripts, `npm run ${script}`).toContain(script);
  });

  it('stashes the boot files the build stage makes, and every HIL stage unstashes and boots them', () => {
    const stashed = /stash name: 'boot-files', includes: BOOT_FILES/.test(jenkinsfile);
    const files = /@Field final String BOOT_FILES = '([^']+)'/.exec(jenkinsfile)?.[1]?.split(',');
    expect(stashed).toBe(true);
    expect(files).toEqual(['out/vmlinuz', 'out/initrd.cpio.gz']);
    expect(jenkinsfile).toMatch(/def hilRun\(String target\) \{\n {2}unstash 'boot-files'\n/);
    const stages = hilStages();
    expect(stages.length).toBeGreaterThan(0);
    for (const stage of stages) expect(stage.text, stage.name).toMatch(/script \{ hilRun\(/);
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

  it('runs each HIL stage on the agent its boards are wired to, holding them by the generated Lockable Resources', async () => {
    const listed = await hil(['targets', '--json']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    const targets = (JSON.parse(listed.stdout) as TargetsJson).targets;
    const resources = await generatedResources();
    expect(resources.map((r) => r.name)).toEqual(targets.map((t) => `hil-target-${t.name}`));
    const agentOf = (resource: string) => targets.find((t) => `hil-target-${t.name}` === resource)?.agent;

    // Every agent label is one some target names; the pipeline's own agent too.
    const agents = [...jenkinsfile.matchAll(/agent \{ label '([^']+)' \}/g)].map((m) => m[1]!);
    expect(agents.length).toBeGreaterThan(1);
    for (const agent of agents)
      expect(
        targets.map((t) => t.agent),
        `agent ${agent}`,
      ).toContain(agent);

    const stages = hilStages();
    expect(stages.some((s) => s.text.includes('lock(label:'))).toBe(true);
    expect(stages.some((s) => s.text.includes('lock(resource:'))).toBe(true);
    for (const stage of stages) {
      const agent = /agent \{ label '([^']+)' \}/.exec(stage.text)?.[1];
      const pool = /lock\(label: '([^']+)', variable: 'HIL_TARGET', quantity: 1\) \{/.exec(stage.text)?.[1];
      const named = /lock\(resource: '([^']+)'\) \{/.exec(stage.text)?.[1];
      expect(agent, `${stage.name}: agent { label ... }`).toBeDefined();
      expect([pool, named].filter(Boolean), `${stage.name}: one lock`).toHaveLength(1);
      // The resources the stage's lock may take: those with the pool's label, or the one it names.
      const held = pool
        ? resources.filter((r) => r.labels.split(' ').includes(pool))
        : resources.filter((r) => r.name === named);
      expect(held.length, `${stage.name}: ${pool ?? named} in the generated Lockable Resources`).toBeGreaterThan(0);
      for (const resource of held) expect(agentOf(resource.name), `${stage.name}: ${resource.name}`).toBe(agent);
      if (pool) expect(stage.text).toContain('script { hilRun(targetOf(env.HIL_TARGET)) }');
      else expect(stage.text).toContain(`script { hilRun('${named!.replace(/^hil-target-/, '')}') }`);
    }
    // Every lock the file calls (comments aside) is one of the HIL stages'.
    const code = jenkinsfile
      .split('\n')
      .filter((line) => !line.trim().startsWith('//'))
      .join('\n');
    expect([...code.matchAll(/\block\(/g)]).toHaveLength(stages.length);
  }, 60_000);

  it("maps Lockable Resources' name back to the target as the harness names it", async () => {
    const mapped = /String targetOf\(String resource\) \{\n {2}return resource\.replaceFirst\('([^']+)', ''\)/.exec(
      jenkinsfile,
    )?.[1];
    expect(mapped).toBe('^hil-target-');
    for (const resource of await generatedResources())
      expect(`hil-target-${resource.name.replace(new RegExp(mapped!), '')}`).toBe(resource.name);
  }, 60_000);
});

/** The stages inside the HIL stage's `parallel` block, each with its text up to the next stage. */
function hilStages(): { name: string; text: string }[] {
  const parallel = jenkinsfile.slice(jenkinsfile.indexOf("stage('HIL') {"), jenkinsfile.indexOf('  post {'));
  return [...parallel.matchAll(/stage\('([^']+)'\) \{([\s\S]*?)(?=stage\('|$)/g)]
    .map((m) => ({ name: m[1]!, text: m[2]! }))
    .filter((s) => s.name !== 'HIL');
}

/** The Lockable Resources scripts/lockable-resources.ts generates, read back by a YAML parser (python3-yaml). */
async function generatedResources(): Promise<{ name: string; description: string; labels: string }[]> {
  const generated = await execa(process.execPath, ['--import', 'tsx', 'scripts/lockable-resources.ts'], {
    cwd: REPO,
    reject: false,
  });
  expect(generated.exitCode, generated.stderr).toBe(0);
  const parsed = await execa(
    'python3',
    ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'],
    { input: generated.stdout, reject: false },
  );
  expect(parsed.exitCode, parsed.stderr).toBe(0);
  return JSON.parse(parsed.stdout).unclassified.lockableResourcesManager.declaredResources;
}
