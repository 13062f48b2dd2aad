import { describe, expect, it } from 'vitest';
import { parseVitestJunit, resolveSuite, suiteName } from '../../harness/run/suite-runner.js';
import { REPO } from '../support/hil.js';

const JUNIT = `<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="3" failures="1" errors="0" time="1.5">
    <testsuite name="suites/smoke.test.ts" timestamp="2026-01-01T00:00:00.000Z" hostname="vm" tests="3" failures="1" errors="0" skipped="1" time="1.25">
        <testcase classname="suites/smoke.test.ts" name="smoke &gt; kernel" time="0.4">
        </testcase>
        <testcase classname="suites/smoke.test.ts" name="smoke &gt; memory" time="0.2">
            <system-out>
MemTotal
            </system-out>
            <failure message="expected 1 to be 2" type="AssertionError">
AssertionError: expected 1 to be 2
            </failure>
        </testcase>
        <testcase classname="suites/smoke.test.ts" name="smoke &gt; later" time="0">
            <skipped/>
        </testcase>
    </testsuite>
    <testsuite name="../../../tmp/x/other.test.ts" timestamp="2026-01-01T00:00:00.000Z" hostname="vm" tests="1" failures="0" errors="0" skipped="0" time="0.1">
        <testcase classname="../../../tmp/x/other.test.ts" name="ok" time="0.1">
        </testcase>
    </testsuite>
</testsuites>
`;

describe('parseVitestJunit', () => {
  it('counts each suite file and names its failed tests', () => {
    expect(parseVitestJunit(JUNIT)).toEqual([
      { name: 'smoke', tests: 3, passed: 1, failed: 1, skipped: 1, durationMs: 1250, failedTests: ['smoke > memory'] },
      { name: 'other', tests: 1, passed: 1, failed: 0, skipped: 0, durationMs: 100, failedTests: [] },
    ]);
  });
});

describe('suites by name or path', () => {
  it('finds suites/NAME.test.ts by name and names it back', () => {
    const file = resolveSuite('smoke');
    expect(file).toBe(`${REPO}suites/smoke.test.ts`);
    expect(suiteName(file)).toBe('smoke');
  });

  it('rejects a suite that does not exist with a usage error', () => {
    expect(() => resolveSuite('no-such-suite')).toThrow(
      "no suite 'no-such-suite': expected a name of a file suites/<name>.test.ts or the path of a .test.ts file",
    );
  });
});
