/**
 * vitest's JUnit report (suites-junit.xml) made fit for strict JUnit readers:
 * vitest puts a test's annotations in a <properties> element inside its
 * <testcase>, which the schema Jenkins' tooling publishes (the xUnit plugin's
 * junit-10.xsd) does not allow there; they become lines of a <system-out> of
 * that testcase instead. Registered secrets are masked. Pure: text in, text out.
 *
 * Tested against: vitest 4.1 (junit reporter, annotations, skipped and failed tests).
 * Reference: junit-10.xsd of the Jenkins xUnit plugin (test/support/junit.xsd).
 */
import { redact } from '../core/redact.js';

const TESTCASE = /(<testcase\b[^>]*[^/]>)([\s\S]*?)(<\/testcase>)/g;
const PROPERTIES = /<properties>([\s\S]*?)<\/properties>/g;
const PROPERTY = /<property name="([^"]*)" value="([^"]*)"\s*\/?>(?:\s*<\/property>)?/g;

export function jenkinsJunit(xml: string): string {
  const fitted = xml.replace(
    TESTCASE,
    (_, open: string, body: string, close: string) =>
      `${open}${body.replace(PROPERTIES, (__, list: string) => asSystemOut(list))}${close}`,
  );
  return redact(fitted);
}

/** The properties' "name: value" lines; names and values stay escaped as vitest wrote them, valid in text too. */
function asSystemOut(list: string): string {
  const lines = [...list.matchAll(PROPERTY)].map((m) => `${m[1]}: ${m[2]}`);
  return `<system-out>${lines.join('\n')}</system-out>`;
}
