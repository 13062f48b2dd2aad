/**
 * JUnit XML for Jenkins' `junit` step: the boot as one testsuite, one
 * testcase per milestone with its time, a failure naming the milestone that
 * failed and the last console lines, the artifacts' paths in system-out.
 *
 * Reference: the JUnit XML schema Jenkins' tooling publishes (the xUnit
 * plugin's junit-10.xsd, in test/support/junit.xsd), which every file
 * written here validates against.
 */
import { redactValue } from '../core/redact.js';
import type { BootRecord, Provenance } from './boot-record.js';
import { cdata, xmlEscape } from './xml.js';

export function renderJunit(input: BootRecord): string {
  const record = redactValue(input);
  const suite = `boot.${record.target}`;
  const count = (status: string) => record.milestones.filter((m) => m.status === status).length;
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const counts = `tests="${record.milestones.length}" failures="${count('failed')}" errors="${count('error')}"`;
  const time = `time="${seconds(record.durationMs)}"`;
  // Jenkins' JUnit schema (the xUnit plugin's junit-10.xsd) allows `skipped` on testsuite only, not on testsuites.
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pxe-hil" ${counts} ${time}>`,
    `  <testsuite name="${xmlEscape(suite)}" ${counts} skipped="${count('skipped')}" ${time} timestamp="${record.startedAt.toISOString()}">`,
    '    <properties>',
    `      <property name="target" value="${xmlEscape(record.target)}"/>`,
    `      <property name="image" value="${xmlEscape(record.image)}"/>`,
    `      <property name="run" value="${xmlEscape(record.runId)}"/>`,
    ...placeProperties(record),
    ...record.provenance.flatMap((p) => provenanceProperties(p)),
    '    </properties>',
  ];
  record.milestones.forEach((m, i) => {
    const name = `${String(i + 1).padStart(2, '0')} ${m.name}`;
    const open = `    <testcase classname="${xmlEscape(suite)}" name="${xmlEscape(name)}" time="${seconds('durationMs' in m ? m.durationMs : 0)}"`;
    switch (m.status) {
      case 'passed':
        lines.push(`${open}/>`);
        break;
      case 'skipped':
        lines.push(`${open}>`, `      <skipped message="${xmlEscape(m.message)}"/>`, '    </testcase>');
        break;
      case 'failed':
      case 'error': {
        const tag = m.status === 'failed' ? 'failure' : 'error';
        const body = m.detail ? `Last console lines:\n${m.detail}` : m.message;
        lines.push(
          `${open}>`,
          `      <${tag} message="${xmlEscape(m.message)}" type="${xmlEscape(m.type)}">${cdata(body)}</${tag}>`,
          '    </testcase>',
        );
        break;
      }
    }
  });
  const artifacts = Object.entries(record.artifacts).map(([what, path]) => `${what}: ${path}`);
  lines.push(`    <system-out>${cdata(artifacts.join('\n'))}</system-out>`, '  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

/**
 * The job's own files as properties: artifact.kernel.sha256, artifact.kernel.bytes,
 * artifact.kernel.source (an extra file: artifact.file.<name>.sha256 ...); a root
 * file system given as a directory also artifact.rootfs.digest=listing and
 * artifact.rootfs.entries.
 */
function provenanceProperties(p: Provenance): string[] {
  const key = p.role === 'file' ? `artifact.file.${p.name}` : `artifact.${p.role}`;
  return [
    ['sha256', p.sha256],
    ['bytes', String(p.bytes)],
    ['source', p.source],
    ...(p.digest === 'listing' ? [['digest', 'listing']] : []),
    ...(p.entries !== undefined ? [['entries', String(p.entries)]] : []),
  ].map(([field, value]) => `      <property name="${xmlEscape(`${key}.${field}`)}" value="${xmlEscape(value!)}"/>`);
}

/** Where the job ran: host, pool (a target taken from one), jenkins.node (the agent, NODE_NAME). */
function placeProperties(record: BootRecord): string[] {
  const place = { host: record.host, pool: record.pool, 'jenkins.node': record.jenkinsNode };
  return Object.entries(place)
    .filter(([, value]) => value)
    .map(([name, value]) => `      <property name="${name}" value="${xmlEscape(value!)}"/>`);
}
