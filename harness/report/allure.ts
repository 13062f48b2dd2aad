/**
 * Allure results for the boot: one test, 'boot <target>', with a step per
 * milestone and its duration, the console log, the PXE log, the step events
 * and the timeline attached, and labels for target, image and Jenkins build.
 * `npm run report` turns the results into the HTML report.
 *
 * Tested against: allure-commandline 2.x (`allure generate`).
 * Reference: Allure 2 result file format (<uuid>-result.json, attachments, labels).
 */
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { extname, join } from 'node:path';
import type { BootRecord } from './boot-record.js';

type Status = 'passed' | 'failed' | 'broken' | 'skipped';

export type AllureAttachment = { name: string; path: string; type: string };

export function writeAllureResults(
  record: BootRecord,
  dir: string,
  attachments: readonly AllureAttachment[],
  env: NodeJS.ProcessEnv = process.env,
): string {
  mkdirSync(dir, { recursive: true });
  const uuid = randomUUID();
  const start = record.startedAt.getTime();

  let clock = start;
  const steps = record.milestones.map((m) => {
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
  const failed = record.milestones.find((m) => m.status === 'failed' || m.status === 'error');
  const status: Status = failed ? statusOf(failed.status) : 'passed';

  const copied = attachments
    .filter((a) => existsSync(a.path))
    .map((a) => {
      const source = `${randomUUID()}-attachment${extname(a.path) || '.txt'}`;
      copyFileSync(a.path, join(dir, source));
      return { name: a.name, source, type: a.type };
    });

  const labels = [
    { name: 'parentSuite', value: 'pxe-hil' },
    { name: 'suite', value: 'boot' },
    { name: 'subSuite', value: record.target },
    { name: 'target', value: record.target },
    { name: 'image', value: record.image },
    { name: 'host', value: hostname() },
    { name: 'framework', value: 'pxe-hil' },
    ...(env.BUILD_TAG ? [{ name: 'build', value: env.BUILD_TAG }] : []),
  ];
  const result = {
    uuid,
    historyId: createHash('md5').update(`boot:${record.target}:${record.image}`).digest('hex'),
    testCaseId: createHash('md5').update(`boot:${record.target}`).digest('hex'),
    name: `boot ${record.target}`,
    fullName: `pxe-hil.boot.${record.target}`,
    description: `Netboot of image ${record.image} on target ${record.target} (run ${record.runId})`,
    status,
    ...(failed && 'message' in failed ? { statusDetails: { message: failed.message } } : {}),
    stage: 'finished',
    start,
    stop: Math.round(start + record.durationMs),
    labels,
    steps,
    attachments: copied,
    parameters: [
      { name: 'target', value: record.target },
      { name: 'image', value: record.image },
      ...record.provenance.map((p) => ({
        name: `${p.role === 'file' ? p.name : p.role} sha256`,
        value: `${p.sha256} (${p.digest === 'listing' ? `listing of ${p.entries} entries, ` : ''}${p.bytes} bytes, ${p.source})`,
      })),
    ],
  };
  writeFileSync(join(dir, `${uuid}-result.json`), JSON.stringify(result, null, 2));
  writeFileSync(
    join(dir, 'environment.properties'),
    `${[
      `target=${record.target}`,
      `image=${record.image}`,
      `run=${record.runId}`,
      `host=${hostname()}`,
      ...record.provenance.map((p) => `${p.role === 'file' ? `file.${p.name}` : p.role}.sha256=${p.sha256}`),
    ].join('\n')}\n`,
  );
  if (env.BUILD_URL || env.BUILD_TAG) {
    writeFileSync(
      join(dir, 'executor.json'),
      JSON.stringify({
        name: 'Jenkins',
        type: 'jenkins',
        buildName: env.BUILD_TAG,
        buildUrl: env.BUILD_URL,
        buildOrder: Number(env.BUILD_NUMBER) || undefined,
      }),
    );
  }
  return uuid;
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
