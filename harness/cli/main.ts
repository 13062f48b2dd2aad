/**
 * The `hil` command line.
 *
 *   hil --target NAME [--image NAME] [--results DIR] [--run-id ID] [--lock-timeout S]
 *   hil --pool NAME ...              the same on the first free target of a pool
 *   hil run --target NAME ...        (the same)
 *   hil images [--image NAME]        prepare (download, unpack, build) boot images
 *   hil targets [--json]             list the targets (--json: for a pipeline to plan from)
 *   hil report [--results DIR] [--out DIR]   Allure HTML report of the runs under DIR
 *   hil power --target NAME on|off|cycle|status   switch a lab board's power
 *   hil console --target NAME [--read-only]   the target's console in this terminal
 *   hil doctor [--cleanup | --target NAME]    check this host, or one target without powering it
 *
 * Exit codes: 0 passed, 1 the target failed, 2 bad usage or config, 3 a lab
 * fault, 128+n interrupted by signal n.
 *
 * What only one command needs (the report, doctor, power, console, a
 * --no-boot attach, the re-run in a user namespace) is imported in its case,
 * so that a run loads none of it.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { loadTarget } from '../config/load-target.js';
import { ExitCode, HilError, LabFault, UsageError } from '../core/errors.js';
import { EventBus } from '../core/events.js';
import { attachLiveView, wantsLiveView } from '../report/live-status.js';
import { attachTerminalReporter } from '../report/terminal.js';
import { prepareRunDirs } from '../core/private-dir.js';
import { redact, registerSecretsFromEnv } from '../core/redact.js';
import { Interrupted } from '../run/interrupt.js';
import type { RunOn } from '../run/job-context.js';
import { refuseRootlessNfsRoot, refuseWhatCannotRun, runJob } from '../run/run-job.js';
import type { ImageDefinition } from '../images/image.js';
import { loadPoolRunConfig, loadRunConfig } from './run-config.js';
import { loadImage, loadImages } from '../images/load-image.js';
import { busyPollBudgetUs } from '../pxe/busy-poll.js';
import { resolveSuite } from '../run/suite-runner.js';
import { needsUserNamespace, readHostFacts } from '../run/rootless-check.js';
import { closingCause, watchOutputClosing } from './closed-output.js';

const USAGE = `usage:
  npm run hil -- --target NAME [options]     netboot a target and watch it boot
  npm run hil -- --pool NAME [options]       the same on the first free target of pool NAME
  npm run hil -- images [--image NAME]       prepare boot images (Debian packages, cached)
  npm run hil -- targets [--json]            list targets (--json: with agent label, pools, power, console)
  npm run report [-- --results DIR --out DIR] Allure HTML report of the runs (default: hil-results -> allure-report)
  npm run hil -- power --target NAME on|off|cycle|status   a lab board's power (BMC, PDU, commands)
  npm run hil -- doctor [--cleanup]          check this host; --cleanup removes what crashed jobs left
  npm run hil -- doctor --target NAME        check a target's power, console, secrets and network, powering nothing
  npm run hil -- console --target NAME       the target's console here (shares a running job's); Ctrl-] q leaves

options for a run:
  --target NAME        target file targets/NAME.ts (this or --pool is required)
  --pool NAME          the first free target of pool NAME (target files naming it in 'pools'), waiting up to --lock-timeout
  --image NAME|PATH    boot image instead of the target's own: a file of --images-dir, or an image file's path
  --images-dir DIR     where image files are (default: the fixtures/images folder of pxe-hil)
  --kernel PATH        boot this kernel (the job's own file, pinned at job start); without --image, a generic Linux boot
  --initrd PATH        with this initrd
  --dtb PATH           with this device tree (served as dtb/<file name>)
  --file NAME=PATH     also serve PATH as NAME (a preseed, a payload); repeatable
  --rootfs DIR|TARBALL the board's root file system, copied for the job and served over NFS to the board only
  --keep-rootfs        keep the job's copy of the root file system (what the board wrote) in the results, as rootfs/
  --append 'ARGS'      add to the kernel command line
  --ready REGEX|ssh    booted means: a console line matching REGEX, or 'ssh' ('ssh:PORT'): the board's SSH server answers
  --results DIR        where results go (default hil-results); a run writes DIR/<target>/<run id>/
  --run-id ID          name of this run (default: $BUILD_TAG, else a time stamp)
  --lock-timeout S     how long to wait for a target (or any target of --pool) other jobs hold (default 600)
  --targets-dir DIR    where target files are (default: the targets/ folder of pxe-hil)
  --suite NAME         after the boot, run suites/NAME.test.ts (or a .test.ts path) on the target over SSH; repeatable
  --keep-up            after the boot (and suites), keep the target up until Ctrl-C, for --no-boot runs
  --no-boot            run the --suite(s) on the target a --keep-up job holds up; no boot, no power action
`;

/** Every option of every command (node:util parseArgs). */
const OPTIONS = {
  target: { type: 'string' },
  pool: { type: 'string' },
  json: { type: 'boolean', default: false },
  image: { type: 'string' },
  results: { type: 'string', default: 'hil-results' },
  'run-id': { type: 'string' },
  'lock-timeout': { type: 'string', default: '600' },
  'targets-dir': { type: 'string' },
  'images-dir': { type: 'string' },
  kernel: { type: 'string' },
  initrd: { type: 'string' },
  dtb: { type: 'string' },
  file: { type: 'string', multiple: true },
  rootfs: { type: 'string' },
  'keep-rootfs': { type: 'boolean', default: false },
  append: { type: 'string' },
  ready: { type: 'string' },
  out: { type: 'string', default: 'allure-report' },
  suite: { type: 'string', multiple: true },
  'keep-up': { type: 'boolean', default: false },
  'no-boot': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
  cleanup: { type: 'boolean' },
  'read-only': { type: 'boolean', default: false },
} as const satisfies ParseArgsConfig['options'];

type Values = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: typeof OPTIONS }>
>['values'];

async function main(argv: string[]): Promise<number> {
  // Secrets beyond those a target names (loading a target registers those): PXE_HIL_SECRET_VARS, comma-separated.
  registerSecretsFromEnv((process.env.PXE_HIL_SECRET_VARS ?? '').split(',').filter(Boolean));
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  if (values.help) {
    process.stdout.write(USAGE);
    return ExitCode.passed;
  }
  const command = positionals[0] ?? 'run';
  if (positionals.length > (command === 'power' ? 2 : 1))
    throw new UsageError(`unexpected argument '${positionals.at(-1)}'`);
  return dispatch(command, values, positionals);
}

/** The command's own function; what only one command needs is imported in its case. */
async function dispatch(command: string, values: Values, positionals: string[]): Promise<number> {
  const write = (text: string) => void process.stdout.write(text);
  switch (command) {
    case 'targets':
      return (await import('./targets-command.js')).targetsCommand({
        targetsDir: values['targets-dir'],
        json: values.json === true,
        write: (text) => write(text),
      });
    case 'images':
      return imagesCommand(values);
    case 'report': {
      const { generateAllureReport } = await import('../report/allure-html.js');
      const { inputs } = await generateAllureReport(values.results ?? 'hil-results', values.out ?? 'allure-report');
      process.stdout.write(`report: ${values.out} (from ${inputs.length} run${inputs.length === 1 ? '' : 's'})\n`);
      return ExitCode.passed;
    }
    case 'doctor':
      if (values.target) {
        if (values.cleanup) throw new UsageError('doctor takes --target or --cleanup, not both');
        const { doctorTarget } = await import('./target-doctor.js');
        return doctorTarget(await loadTarget(values.target, values['targets-dir']), {
          write: (text) => write(text),
        });
      }
      return (await import('./doctor.js')).doctor({
        cleanup: values.cleanup ?? false,
        write: (text) => write(text),
      });
    case 'run':
      // A bad PXE_HIL_TFTP_BUSY_POLL_US is refused before anything starts.
      busyPollBudgetUs();
      // An ordinary user's run goes on in its own user and network namespaces (harness/run/rootless.ts).
      if (!values['no-boot'] && needsUserNamespace(readHostFacts())) {
        if (values.rootfs) refuseRootlessNfsRoot('--rootfs');
        return (await import('../run/rootless.js')).runInUserNamespace();
      }
      return runCommand(values);
    case 'power':
      return (await import('./power-command.js')).powerCommand({
        target: values.target,
        action: positionals[1],
        targetsDir: values['targets-dir'],
        lockTimeoutS: Number(values['lock-timeout']),
      });
    case 'console': {
      if (!values.target) throw new UsageError('--target is required, e.g. hil console --target board-1');
      const { consoleCommand } = await import('./console-command.js');
      return consoleCommand(await loadTarget(values.target, values['targets-dir']), {
        readOnly: values['read-only'] === true,
      });
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

async function imagesCommand(values: Values): Promise<number> {
  const wanted = values.image
    ? [await loadImage(values.image, values['images-dir'])]
    : await loadImages(values['images-dir']);
  for (const image of wanted) {
    const prepared = await image.prepare();
    process.stdout.write(
      `${image.name.padEnd(20)} ${prepared.provenance}\n  kernel ${prepared.kernel}\n${prepared.initrd ? `  initrd ${prepared.initrd}\n` : ''}`,
    );
  }
  return ExitCode.passed;
}

type RunValues = {
  target?: string;
  pool?: string;
  image?: string;
  results?: string;
  'run-id'?: string;
  'lock-timeout'?: string;
  'targets-dir'?: string;
  'images-dir'?: string;
  kernel?: string;
  initrd?: string;
  dtb?: string;
  file?: string[];
  rootfs?: string;
  'keep-rootfs'?: boolean;
  append?: string;
  ready?: string;
  suite?: string[];
  'keep-up'?: boolean;
  'no-boot'?: boolean;
};

async function runCommand(values: RunValues): Promise<number> {
  const lockTimeoutS = Number(values['lock-timeout']);
  if (!Number.isFinite(lockTimeoutS) || lockTimeoutS < 0)
    throw new UsageError(`--lock-timeout must be a number of seconds, got '${values['lock-timeout']}'`);
  const { on, image } = await loadRun(values);
  if (values['keep-rootfs'] && !image.rootfs)
    throw new UsageError(
      `--keep-rootfs: image '${image.name}' has no root file system to keep; give --rootfs DIR|TARBALL`,
    );
  // The lock and runtime directories are this user's own, or nothing starts (core/private-dir.ts).
  if (!values['no-boot']) prepareRunDirs();
  const suiteFiles = (values.suite ?? []).map((suite) => resolveSuite(suite));
  if (!values['no-boot'])
    for (const target of on.pool?.targets ?? [on.target!]) refuseWhatCannotRun(target, image, suiteFiles);
  if (values['no-boot'] && suiteFiles.length === 0)
    throw new UsageError('--no-boot runs suites on a target that is up: name them with --suite NAME');
  if (values['no-boot'] && (values.rootfs || values['keep-rootfs']))
    throw new UsageError(
      '--no-boot runs suites on a target that is up and boots nothing: --rootfs and --keep-rootfs are for a run that boots',
    );
  if (values['no-boot'] && values['keep-up'])
    throw new UsageError(
      '--no-boot and --keep-up do not go together: --keep-up boots and holds, --no-boot uses a held target',
    );
  const bus = new EventBus();
  if (wantsLiveView()) attachLiveView(bus);
  else attachTerminalReporter(bus);
  const signal = interruptOnSignals();

  if (on.target && values['no-boot']) {
    const { runSuitesOnRunningJob } = await import('../run/attach-suites.js');
    const attached = await runSuitesOnRunningJob({
      target: on.target,
      suiteFiles,
      resultsRoot: values.results ?? 'hil-results',
      runId: values['run-id'],
      bus,
      signal,
    });
    process.stdout.write(`results: ${attached.resultsDir}\n`);
    return attached.exitCode;
  }
  const result = await runJob({
    ...on,
    image,
    resultsRoot: values.results ?? 'hil-results',
    runId: values['run-id'],
    lockTimeoutS,
    bus,
    signal,
    suiteFiles,
    keepUp: values['keep-up'] === true,
    keepRootfs: values['keep-rootfs'] === true,
  });
  if (result.results) process.stdout.write(`results: ${result.results.dir}\n`);
  return result.exitCode;
}

/** The run's target (or pool) and image, loaded and checked before anything starts. */
async function loadRun(values: RunValues): Promise<{ on: RunOn; image: ImageDefinition }> {
  if (values.target && values.pool)
    throw new UsageError(
      '--target and --pool do not go together: name one board (--target NAME) or ask for any free one of a pool (--pool NAME)',
    );
  if (values.pool && values['no-boot'])
    throw new UsageError('--no-boot runs suites on the target a --keep-up job holds: name it with --target NAME');
  const input = {
    image: values.image,
    targetsDir: values['targets-dir'],
    imagesDir: values['images-dir'],
    kernel: values.kernel,
    initrd: values.initrd,
    dtb: values.dtb,
    files: values.file,
    rootfs: values.rootfs,
    append: values.append,
    ready: values.ready,
  };
  if (values.pool) {
    const { pool, image } = await loadPoolRunConfig({ ...input, pool: values.pool });
    return { on: { pool }, image };
  }
  if (!values.target)
    throw new UsageError('--target or --pool is required, e.g. --target qemu-x86 (see: npm run hil -- targets)');
  const { target, image } = await loadRunConfig({ ...input, target: values.target });
  return { on: { target }, image };
}

/**
 * SIGINT, SIGTERM (a Jenkins abort) and SIGHUP interrupt the run; a second one only says that teardown goes on.
 * Output that nothing reads any more (`| head`, a lost agent) interrupts it as SIGPIPE would, once the stream closes.
 */
function interruptOnSignals(): AbortSignal {
  const controller = new AbortController();
  crash.run = controller;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`pxe-hil: ${signal} again; still tearing down (powering off, removing the PXE server)\n`);
      return;
    }
    controller.abort(new Interrupted(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  outputClosed.run = (why) => {
    if (!controller.signal.aborted) controller.abort(new Interrupted('SIGPIPE', why));
  };
  return controller.signal;
}

/** What a closed stdout or stderr does: nothing but dropping its writes, outside a run; interrupting it, in one. */
const outputClosed: { run?: (why: string) => void } = {};
watchOutputClosing((name, error) => {
  const why = closingCause(name, error);
  // Whoever piped stdout into `head` still reads stderr: say why the run stops.
  if (name === 'stdout' && outputClosed.run) process.stderr.write(`pxe-hil: ${why}; stopping the run\n`);
  outputClosed.run?.(why);
});

/**
 * A bug anywhere in the harness (an unhandled rejection, an uncaught
 * exception) never ends a run without its teardown: it aborts the run, which
 * then tears down as on Ctrl-C and reports a lab fault, and the command exits
 * 3. Outside a run, or once the run is already being torn down, it is
 * written to stderr (the teardown goes on); outside a run the command exits 3 at once.
 */
const crash: { run?: AbortController; happened: boolean } = { happened: false };

function onCrash(error: unknown): void {
  crash.happened = true;
  const message = error instanceof Error ? error.message : String(error);
  if (crash.run && !crash.run.signal.aborted) {
    crash.run.abort(new LabFault(`unexpected error: ${message}`));
    return;
  }
  process.stderr.write(`pxe-hil: unexpected error: ${error instanceof Error ? error.stack : message}\n`);
  if (!crash.run) process.exit(ExitCode.labFault);
}

process.on('unhandledRejection', onCrash);
process.on('uncaughtException', onCrash);

main(process.argv.slice(2)).then(
  (code) => process.exit(crash.happened ? ExitCode.labFault : code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof HilError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`pxe-hil: ${redact(message)}\n`);
      if (!(error instanceof HilError)) process.stderr.write(USAGE);
      process.exit(error instanceof HilError ? error.exitCode : ExitCode.badUsage);
    }
    process.stderr.write(
      `pxe-hil: unexpected error: ${redact(String(error instanceof Error ? error.stack : message))}\n`,
    );
    process.exit(ExitCode.labFault);
  },
);
