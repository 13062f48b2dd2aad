/**
 * `npm run bench`: measures pxe-hil against references in the same run on the
 * same machine, prints a Markdown table of the figures (median of the runs,
 * with min and max) and writes them as JSON.
 *
 *   npm run bench [-- --quick] [-- --out FILE] [-- --runs N] [-- --page FILE]
 *
 * pxe-hil's jobs run as users start them, `npm run hil` on copies of the
 * qemu-x86 target (bench/cli-job.ts): boots, starts to the PXE server, and
 * busybox jobs at once (4; 2 with --quick). The embedded path (bench/uboot.ts:
 * U-Boot's TFTP windows, the arm64 U-Boot board against its floor) is
 * measured too, except with --quick.
 *
 * --quick: one run each, the small busybox image and a small file, the
 * slowest reference (the dnsmasq+pxelinux boot) and the U-Boot board
 * skipped; for the smoke test.
 * A full run also rewrites its table in docs/performance.md (or --page FILE)
 * between the `bench:main` markers (bench/docs-table.ts); a --quick run
 * rewrites a page only when --page names one.
 */
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { bootFloor, type FloorBoot } from './boot-floor.js';
import { type BenchTargets, benchTargets, bootHarness, type HarnessBoot } from './boot-harness.js';
import { bootSeedWay, type SeedBoot } from './boot-seed.js';
import { commandLine, loadNow, machineFacts, rewriteDocsTable } from './docs-table.js';
import { figure, renderTable, type Figure, type FigureLabels } from './figures.js';
import {
  type ConcurrentJobs,
  concurrentTargets,
  jobFigures,
  measureConcurrentJobs,
  measureStarts,
  type StartTimes,
  warmTargets,
} from './jobs.js';
import { benchBlock, type BenchResult, type NotMeasured } from './results.js';
import { BENCH_ID, interrupted } from './support.js';
import { measureTftpFigures } from './tftp.js';
import { measureUboot } from './uboot.js';
import { loadRunConfig } from '../harness/cli/run-config.js';
import type { Target } from '../harness/config/target.js';
import type { ImageDefinition } from '../harness/images/image.js';
import { loadImage } from '../harness/images/load-image.js';
import { biosPxeLoaders } from '../harness/images/pxe-loaders.js';
import { resolveAccel } from '../harness/power/qemu.js';

const BOOT_TIMEOUT_MS = 600_000;

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

const seconds = (ms: number) => ms / 1000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-results.json' },
      runs: { type: 'string' },
      page: { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  const runs = values.runs ? Number(values.runs) : quick ? 1 : 3;
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a whole number of at least 1, got '${values.runs}'`);
  const command = commandLine('bench');
  const loadAtStart = loadNow();
  const figures: Figure[] = [];
  const notMeasured: NotMeasured[] = [];
  const jobIds: string[] = [];

  // 1, 2, 4: boots (pxe-hil, the direct-kernel floor, the dnsmasq+pxelinux way), set-up and tear-down, memory.
  const imageName = quick ? 'busybox' : 'debian-netinstall';
  const config = await loadRunConfig({ target: 'qemu-x86', image: imageName });
  const { image } = config;
  if (config.target.power.driver !== 'qemu') throw new Error('qemu-x86 is expected to be a QEMU board');
  // One accelerator for all the boots (pxe-hil's, the floor, both seeds), resolved once and recorded.
  const accel = await resolveAccel(config.target.power.accel, config.target.power.arch);
  const target = { ...config.target, power: { ...config.target.power, accel } };
  progress(`accelerator for every boot: ${accel}`);
  progress(`preparing image ${image.name}, busybox and the PXE loaders`);
  const [prepared] = await Promise.all([image.prepare(), (await loadImage('busybox')).prepare(), biosPxeLoaders()]);
  // pxe-hil's jobs run as users run them (npm run hil), on copies of the target in a targets folder of the bench's own.
  const benchTarget = `bench-${target.name}`;
  const together = concurrentTargets(target, quick ? 2 : 4);
  const targets = await benchTargets([{ ...target, name: benchTarget }, ...together]);
  let harness: HarnessBoot[];
  let starts: StartTimes;
  let jobs: ConcurrentJobs;
  try {
    await warmTargets(targets);
    const boots = await measureBoots(runs, quick, targets, benchTarget, target, image, accel);
    harness = boots.harness;
    figures.push(...boots.figures);
    notMeasured.push(...boots.notMeasured);
    jobIds.push(...harness.map((h) => h.jobId));

    // 5, 6: the command's start, and jobs at once.
    progress(`${runs} start(s) of a busybox job through npm run hil, each to its PXE server ready`);
    starts = await measureStarts(targets, benchTarget, runs);
    jobIds.push(...starts.jobIds);
    progress(`${together.length} busybox jobs at once`);
    jobs = await measureConcurrentJobs(
      targets,
      together.map((t) => t.name),
    );
    jobIds.push(...jobs.jobIds);
  } finally {
    await targets.remove();
  }

  // 3: TFTP against dnsmasq, and RFC 7440 windowsize.
  interrupted.signal.throwIfAborted();
  const [tftpFile, tftpName] = prepared.initrd
    ? [prepared.initrd, image.servedNames.initrd ?? 'initrd']
    : [prepared.kernel, image.servedNames.kernel];
  progress(`TFTP: ${runs} run(s) of every client against pxe-hil and dnsmasq, file ${tftpFile}`);
  figures.push(...(await measureTftpFigures(tftpFile, tftpName, runs)));

  // 3b: the embedded path: U-Boot's TFTP windows, and the arm64 U-Boot board against its floor.
  interrupted.signal.throwIfAborted();
  if (quick)
    notMeasured.push({
      figure: 'U-Boot TFTP windows; the arm64 U-Boot board to Run /init',
      why: 'not with --quick (npm run bench:uboot measures them alone)',
    });
  else figures.push(...(await measureUboot(runs, progress)).figures);

  // 4: peak memory during the boots above.
  figures.push(
    figure({
      id: 'memory.harness',
      figure: `peak RSS of the harness process during a ${image.name} boot`,
      unit: 'MiB',
      values: harness.map((h) => h.memory.harnessMiB),
      goal: { kind: 'value-at-most', limit: 80, text: '< 80 MiB' },
    }),
    figure({
      id: 'memory.file-server',
      figure: `peak RSS of the file server process (serving ${image.servedNames.initrd ?? 'the kernel'})`,
      unit: 'MiB',
      values: harness.map((h) => h.memory.fileServerMiB),
      goal: { kind: 'value-at-most', limit: 50, text: '< 50 MiB' },
    }),
    ...jobFigures(starts, jobs),
  );

  // 7: console and power figures, from their own files when this branch has them.
  // --quick: one round each; else each file's own number of rounds.
  const rounds = quick ? 1 : undefined;
  await optionalFigures('console', ['console-throughput.ts'], figures, notMeasured, rounds);
  await optionalFigures('power', powerFiles(), figures, notMeasured, rounds);

  const table = renderTable(figures, notMeasured);
  process.stdout.write(table);
  const result: BenchResult = {
    date: new Date().toISOString(),
    command,
    mode: quick ? 'quick' : 'full',
    runs,
    machine: { ...machineFacts(), accel },
    /** One-minute load averages at the start and end: other jobs' boots on the same cores skew the figures. */
    loadAverage: { start: loadAtStart, end: loadNow() },
    image: image.name,
    provenance: prepared.provenance,
    figures,
    notMeasured,
    benchId: BENCH_ID,
    jobIds,
  };
  await writeFile(values.out!, `${JSON.stringify(result, null, 2)}\n`);
  progress(`wrote ${values.out}`);
  const page = values.page ?? (quick ? undefined : 'docs/performance.md');
  if (page) progress(`wrote the table in ${await rewriteDocsTable(page, 'main', benchBlock(result))}`);
}

/** pxe-hil's boots against the floor and (unless quick) the classic way, in turns; their figures. */
async function measureBoots(
  runs: number,
  quick: boolean,
  targets: BenchTargets,
  benchTarget: string,
  target: Target,
  image: ImageDefinition,
  accel: 'kvm' | 'tcg',
): Promise<{ harness: HarnessBoot[]; figures: Figure[]; notMeasured: NotMeasured[] }> {
  const harness: HarnessBoot[] = [];
  const floor: FloorBoot[] = [];
  const seed: SeedBoot[] = [];
  const tuned: SeedBoot[] = [];
  const figures: Figure[] = [];
  const notMeasured: NotMeasured[] = [];
  for (let i = 1; i <= runs; i++) {
    interrupted.signal.throwIfAborted();
    progress(`boot ${i}/${runs} of ${image.name} through pxe-hil`);
    const h = await bootHarness(targets, benchTarget, image, BOOT_TIMEOUT_MS);
    harness.push(h);
    progress(
      `  init ${seconds(h.initMs).toFixed(1)} s, ready ${seconds(h.readyMs).toFixed(1)} s; boot ${i}/${runs}: direct kernel boot (floor)`,
    );
    const f = await bootFloor(target, image, BOOT_TIMEOUT_MS, accel);
    floor.push(f);
    progress(`  init ${seconds(f.initMs).toFixed(1)} s, ready ${seconds(f.readyMs).toFixed(1)} s`);
    if (!quick) {
      progress(`boot ${i}/${runs}: dnsmasq DHCP+TFTP with pxelinux`);
      const s = await bootSeedWay(target, image, BOOT_TIMEOUT_MS, { accel, tuned: false });
      seed.push(s);
      progress(`  init ${seconds(s.initMs).toFixed(1)} s, ready ${seconds(s.readyMs).toFixed(1)} s`);
      progress(`boot ${i}/${runs}: dnsmasq DHCP+TFTP with pxelinux, tuned (router advertisements, no ProxyDHCP wait)`);
      const t = await bootSeedWay(target, image, BOOT_TIMEOUT_MS, { accel, tuned: true });
      tuned.push(t);
      progress(`  init ${seconds(t.initMs).toFixed(1)} s, ready ${seconds(t.readyMs).toFixed(1)} s`);
    }
  }
  const marks = image.milestones.at(-1)!.name;
  for (const [key, label] of [
    ['init', 'Run /init as init process'],
    ['ready', marks],
  ] as const) {
    const ms = key === 'init' ? 'initMs' : 'readyMs';
    figures.push(
      figure({
        id: `boot.${key}.floor`,
        figure: `${image.name}: run start to '${label}'`,
        unit: 's',
        values: harness.map((h) => seconds(h[ms])),
        reference: { name: 'direct -kernel boot', values: floor.map((f) => seconds(f[ms])) },
        goal: { kind: 'ratio-at-most', limit: 1.5, text: 'within 1.5x of the floor' },
      }),
    );
    if (seed.length > 0) {
      figures.push(
        figure({
          id: `boot.${key}.seed`,
          figure: `${image.name}: run start to '${label}'`,
          unit: 's',
          values: harness.map((h) => seconds(h[ms])),
          reference: { name: 'dnsmasq+pxelinux', values: seed.map((s) => seconds(s[ms])) },
          goal: { kind: 'ratio-at-most', limit: 0.5, text: '≥ 2x faster than dnsmasq+pxelinux' },
        }),
        // The same dnsmasq with pxe-hil's two DHCP options: what is left is HTTP against pxelinux over TFTP.
        figure({
          id: `boot.${key}.tuned-seed`,
          figure: `${image.name}: run start to '${label}'`,
          unit: 's',
          values: harness.map((h) => seconds(h[ms])),
          reference: { name: 'dnsmasq+pxelinux, tuned', values: tuned.map((s) => seconds(s[ms])) },
        }),
      );
    }
  }
  if (seed.length === 0) notMeasured.push({ figure: 'boot vs dnsmasq+pxelinux', why: 'skipped in --quick mode' });
  const seedReference = (values: number[]) => (values.length > 0 ? { name: 'dnsmasq+pxelinux', values } : undefined);
  figures.push(
    figure({
      id: 'setup',
      figure: 'set-up: run start to PXE server ready',
      unit: 's',
      values: harness.map((h) => seconds(h.setupMs)),
      reference: seedReference(seed.map((s) => seconds(s.setupMs))),
      goal: { kind: 'value-at-most', limit: 0.15, text: '< 0.15 s' },
    }),
    figure({
      id: 'teardown',
      figure: 'tear-down: last milestone to everything gone',
      unit: 's',
      values: harness.map((h) => seconds(h.teardownMs)),
      reference: seedReference(seed.map((s) => seconds(s.teardownMs))),
    }),
  );
  return { harness, figures, notMeasured };
}

/** The power benchmark's file(s), whatever their name on the branch that brings them: bench/*power*.ts or *ipmi*.ts. */
function powerFiles(): string[] {
  const dir = new URL('./', import.meta.url);
  return readdirSync(dir).filter((f) => /(power|ipmi).*\.ts$/i.test(f));
}

/**
 * Runs every exported `measure*` function of the given bench files that exist
 * (with `rounds`, when given, as its one argument) and turns each numeric
 * field of its result (a number: one run; an array of numbers: several runs,
 * the figure their median) into a figure; a field `x` with a sibling
 * `baselineX` gets it as its reference, and `labels.x` names both.
 */
async function optionalFigures(
  kind: string,
  files: string[],
  figures: Figure[],
  notMeasured: NotMeasured[],
  rounds: number | undefined,
): Promise<void> {
  const present = files.filter((f) => existsSync(new URL(`./${f}`, import.meta.url)));
  if (present.length === 0) {
    notMeasured.push({ figure: kind, why: 'not measured on this branch' });
    return;
  }
  for (const file of present) {
    const module = (await import(new URL(`./${file}`, import.meta.url).href)) as Record<string, unknown>;
    for (const [name, measure] of Object.entries(module)) {
      if (!name.startsWith('measure') || typeof measure !== 'function') continue;
      progress(`${kind}: ${name} (${file})`);
      const result = (await (measure as (rounds?: number) => Promise<unknown>)(rounds)) as unknown;
      const fields = typeof result === 'number' ? { value: result } : (result as Record<string, unknown>);
      const labels = (fields.labels ?? {}) as FigureLabels;
      for (const [key, value] of Object.entries(fields)) {
        const values = numbersOf(value);
        if (!values || key.startsWith('baseline')) continue;
        const baseline = numbersOf(fields[`baseline${key[0]!.toUpperCase()}${key.slice(1)}`]);
        const label = labels[key];
        const runs = values.length > 1 ? `, ${values.length} rounds` : ', one run';
        figures.push(
          figure({
            id: `${kind}.${key}`,
            figure: `${kind}: ${label?.figure ?? `${name.replace(/^measure/, '')} ${key}`}${runs}`,
            unit: unitOf(key),
            values,
            reference: baseline ? { name: label?.baseline ?? 'baseline', values: baseline } : undefined,
          }),
        );
      }
    }
  }
}

/** A measured field as its runs: a number is one run, an array of numbers several. */
function numbersOf(value: unknown): number[] | undefined {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number')) return value;
  return undefined;
}

function unitOf(key: string): string {
  if (/MbPerS$/i.test(key)) return 'MB/s';
  if (/Ms$/.test(key)) return 'ms';
  if (/S$/.test(key)) return 's';
  return '';
}

// Ctrl-C or a kill: the measurement under way stops and removes what it started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted.signal.aborted) return;
    progress(`${signal}: stopping and cleaning up`);
    interrupted.abort(new Error(`interrupted by ${signal}`));
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
