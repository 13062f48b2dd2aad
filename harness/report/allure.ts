/**
 * Allure results for the boot: one test, 'boot <target>', with a step per
 * milestone and its duration, the console log, the PXE log, the step events
 * and the timeline attached, and labels for target, image, host, pool, Jenkins agent and build.
 * `npm run report` turns the results into the HTML report.
 *
 * Tested against: allure-commandline 2.x (`allure generate`).
 * Reference: Allure 2 result file format (<uuid>-result.json, attachments, labels).
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { extname, join } from 'node:path';
import { redact, redactValue, StreamRedactor } from '../core/redact.js';
import type { BootRecord } from './boot-record.js';

type Status = 'passed' | 'failed' | 'broken' | 'skipped';

export type AllureAttachment = { name: string; path: string; type: string };

export function writeAllureResults(
  input: BootRecord,
  dir: string,
  attachments: readonly AllureAttachment[],
  env: NodeJS.ProcessEnv = process.env,
): string {
  // The failed milestone's message and last console lines are the board's words: a secret it printed is masked.
  const record = redactValue(input);
  mkdirSync(dir, { recursive: true });
  const uuid = randomUUID();
  const start = record.startedAt.getTime();
  const failed = record.milestones.find((m) => m.status === 'failed' || m.status === 'error');
  const result = {
    uuid,
    historyId: createHash('md5').update(`boot:${record.target}:${record.image}`).digest('hex'),
    testCaseId: createHash('md5').update(`boot:${record.target}`).digest('hex'),
    name: `boot ${record.target}`,
    fullName: `pxe-hil.boot.${record.target}`,
    description: `Netboot of image ${record.image} on target ${record.target} (run ${record.runId})`,
    status: (failed ? statusOf(failed.status) : 'passed') satisfies Status,
    ...(failed && 'message' in failed ? { statusDetails: { message: failed.message } } : {}),
    stage: 'finished',
    start,
    stop: Math.round(start + record.durationMs),
    labels: labelsOf(record, env),
    steps: stepsOf(record),
    attachments: copyAttachments(attachments, dir),
    parameters: [
      { name: 'target', value: record.target },
      { name: 'image', value: record.image },
      ...record.provenance.map((p) => ({
        name: `${p.role === 'file' ? p.name : p.role} sha256`,
        value: `${p.sha256} (${p.digest === 'listing' ? `listing of ${p.entries} entries, ` : ''}${p.bytes} bytes, ${p.source})`,
      })),
    ],
  };
  writeFileSync(join(dir, `${uuid}-result.json`), JSON.stringify(redactValue(result), null, 2));
  writeFileSync(join(dir, 'environment.properties'), redact(environmentOf(record)));
  if (env.BUILD_URL || env.BUILD_TAG) {
    const executor = {
      name: 'Jenkins',
      type: 'jenkins',
      buildName: env.BUILD_TAG,
      buildUrl: env.BUILD_URL,
      buildOrder: Number(env.BUILD_NUMBER) || undefined,
    };
    writeFileSync(join(dir, 'executor.json'), JSON.stringify(redactValue(executor)));
  }
  return uuid;
}

/** One Allure step per milestone, placed on the run's clock. */
function stepsOf(record: BootRecord) {
  const start = record.startedAt.getTime();
  let clock = start;
  return record.milestones.map((m) => {
    const duration = 'durationMs' in m ? m.durationMs : 0;
    const stepStart = m.status === 'passed' ? start + m.t - duration : clock;
    clock = stepStart + duration;
    return {
      name: m.name,
      status: statusOf(m.status),
      stage: 'finished',
      start: Math.round(stepStart),
      stop: Math.round(stepStart + duration),
      ...(m.status === 'passed'
        ? {}
        : { statusDetails: { message: m.message, ...('detail' in m && m.detail ? { trace: m.detail } : {}) } }),
      steps: [],
      attachments: [],
      parameters: [],
    };
  });
}

/** The attachments that exist, copied beside the result with registered secrets masked (they are text). */
function copyAttachments(attachments: readonly AllureAttachment[], dir: string) {
  return attachments
    .filter((a) => existsSync(a.path))
    .map((a) => {
      const source = `${randomUUID()}-attachment${extname(a.path) || '.txt'}`;
      const masked = new StreamRedactor('latin1');
      writeFileSync(join(dir, source), masked.push(readFileSync(a.path, 'latin1')) + masked.flush(), 'latin1');
      return { name: a.name, source, type: a.type };
    });
}

/** Labels Allure groups and filters by: where the boot ran (host, Jenkins node, pool) and what it booted. */
function labelsOf(record: BootRecord, env: NodeJS.ProcessEnv) {
  return [
    { name: 'parentSuite', value: 'pxe-hil' },
    { name: 'suite', value: 'boot' },
    { name: 'subSuite', value: record.target },
    { name: 'target', value: record.target },
    { name: 'image', value: record.image },
    { name: 'host', value: record.host ?? hostname() },
    ...(record.pool ? [{ name: 'pool', value: record.pool }] : []),
    ...(record.jenkinsNode ? [{ name: 'jenkins.node', value: record.jenkinsNode }] : []),
    { name: 'framework', value: 'pxe-hil' },
    ...(env.BUILD_TAG ? [{ name: 'build', value: env.BUILD_TAG }] : []),
  ];
}

/** environment.properties: the run's facts, and the SHA-256 of each of the job's own files. */
function environmentOf(record: BootRecord): string {
  const lines = [
    `target=${record.target}`,
    `image=${record.image}`,
    `run=${record.runId}`,
    `host=${record.host ?? hostname()}`,
    ...(record.pool ? [`pool=${record.pool}`] : []),
    ...(record.jenkinsNode ? [`jenkins.node=${record.jenkinsNode}`] : []),
    ...record.provenance.map((p) => `${p.role === 'file' ? `file.${p.name}` : p.role}.sha256=${p.sha256}`),
  ];
  return `${lines.join('\n')}\n`;
}

function statusOf(status: BootRecord['milestones'][number]['status']): Status {
  switch (status) {
    case 'passed':
      return 'passed';
    case 'failed':
      return 'failed';
    case 'error':
      return 'broken';
    case 'skipped':
      return 'skipped';
  }
}

/**
 * Masks registered secrets in every file of an allure-results directory that
 * another writer filled (allure-vitest, for the suites): results, containers
 * and attachments, byte for byte apart from the secrets.
 */
export function maskAllureResults(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(dir, entry.name);
    const text = readFileSync(path, 'latin1');
    const masked = new StreamRedactor('latin1');
    const out = masked.push(text) + masked.flush();
    if (out !== text) writeFileSync(path, out, 'latin1');
  }
}
