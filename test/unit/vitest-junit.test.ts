/**
 * suites-junit.xml as vitest's JUnit reporter really writes it (a run of vitest on a small suite with an
 * annotation, a skipped and a failed test), before and after jenkinsJunit, against the schema Jenkins'
 * tooling publishes (test/support/junit.xsd).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearSecrets, registerSecret } from '../../harness/core/redact.js';
import { jenkinsJunit } from '../../harness/report/vitest-junit.js';

const SCHEMA = fileURLToPath(new URL('../support/junit.xsd', import.meta.url));
const VITEST = join(createRequire(import.meta.url).resolve('vitest/package.json'), '..', 'vitest.mjs');
const SECRET = 'junit-secret-4711';

let dir: string;
let raw: string;

function schemaCheck(xml: string): string {
  const result = spawnSync('xmllint', ['--noout', '--schema', SCHEMA, '-'], { input: xml, encoding: 'utf8' });
  if (result.error) throw new Error(`xmllint could not be run: ${result.error.message}`);
  return result.stderr;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hil-vitest-junit-'));
  writeFileSync(
    join(dir, 'sample.test.ts'),
    [
      "import { expect, test } from 'vitest';",
      "test('annotated', async ({ annotate }) => {",
      `  await annotate('the board said <hi> & "${SECRET}"', 'notice');`,
      '});',
      "test.skip('skipped one', () => {});",
      `test('fails', () => { expect('${SECRET}').toBe('other'); });`,
      '',
    ].join('\n'),
  );
  const run = spawnSync(
    process.execPath,
    [VITEST, 'run', '--root', dir, '--reporter=junit', `--outputFile=${join(dir, 'out.xml')}`, 'sample.test.ts'],
    { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
  );
  expect(run.status, run.stderr).toBe(1);
  raw = readFileSync(join(dir, 'out.xml'), 'utf8');
}, 60_000);

afterAll(() => {
  clearSecrets();
  rmSync(dir, { recursive: true, force: true });
});

describe("vitest's JUnit report for Jenkins", () => {
  it("as vitest writes it, does not validate: a testcase's annotations are properties inside it", () => {
    expect(schemaCheck(raw)).toBe(
      "-:5: element properties: Schemas validity error : Element 'properties': This element is not expected.\n- fails to validate\n",
    );
  });

  it('validates once the annotations are system-out lines, and keeps them', () => {
    const fitted = jenkinsJunit(raw);
    expect(schemaCheck(fitted)).toBe('- validates\n');
    expect(fitted).toContain(`<system-out>notice: the board said &lt;hi&gt; &amp; &quot;${SECRET}&quot;</system-out>`);
    expect(fitted).not.toContain('<properties>');
    expect(fitted.match(/<testcase /g)).toHaveLength(3);
  });

  it('masks registered secrets in the failure and the annotation', () => {
    registerSecret(SECRET);
    expect(raw).toContain(SECRET);
    const fitted = jenkinsJunit(raw);
    expect(fitted).not.toContain(SECRET);
    expect(fitted).toContain('notice: the board said &lt;hi&gt; &amp; &quot;***&quot;');
    expect(schemaCheck(fitted)).toBe('- validates\n');
  });
});
