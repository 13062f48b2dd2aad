/**
 * The `hil` command line.
 *
 *   hil --target NAME [--image NAME] [--results DIR] [--run-id ID] [--lock-timeout S]
 *   hil run --target NAME ...        (the same)
 *   hil images [--image NAME]        prepare (download, unpack, build) boot images
 *   hil targets                      list the targets
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
import { parseArgs } from 'node:util';
import { listTargets, loadTarget } from '../config/load-target.js';
import { ExitCode, HilError, UsageError } from '../core/errors.js';
import { EventBus } from '../core/events.js';
import { attachLiveView, wantsLiveView } from '../report/live-status.js';
import { attachTerminalReporter } from '../report/terminal.js';
import { registerSecretsFromEnv } from '../core/redact.js';
import { Interrupted } from '../run/interrupt.js';
import { runJob } from '../run/run-job.js';
import { loadRunConfig } from './run-config.js';
import { loadImage, loadImages } from '../images/load-image.js';
import { resolveSuite } from '../run/suite-runner.js';
import { needsUserNamespace, readHostFacts } from '../run/rootless-check.js';

const USAGE = `usage:
  npm run hil -- --target NAME [options]     netboot a target and watch it boot
  npm run hil -- images [--image NAME]       prepare boot images (Debian packages, cached)
  npm run hil -- targets                     list targets
  npm run report [-- --results DIR --out DIR] Allure HTML report of the runs (default: hil-results -> allure-report)
  npm run hil -- power --target NAME on|off|cycle|status   a lab board's power (BMC, PDU, commands)
  npm run hil -- doctor [--cleanup]          check this host; --cleanup removes what crashed jobs left
  npm run hil -- doctor --target NAME        check a target's power, console, secrets and network, powering nothing
  npm run hil -- console --target NAME       the target's console here (shares a running job's); Ctrl-] q leaves

options for a run:
  --target NAME        target file targets/NAME.ts (required)
  --image NAME|PATH    boot image instead of the target's own: a file of --images-dir, or an image file's path
  --images-dir DIR     where image files are (default: the fixtures/images folder of pxe-hil)
  --results DIR        where results go (default hil-results); a run writes DIR/<target>/<run id>/
  --run-id ID          name of this run (default: $BUILD_TAG, else a time stamp)
  --lock-timeout S     how long to wait for a target another job holds (default 600)
  --targets-dir DIR    where target files are (default: the targets/ folder of pxe-hil)
  --suite NAME         after the boot, run suites/NAME.test.ts (or a .test.ts path) on the target over SSH; repeatable
  --keep-up            after the boot (and suites), keep the target up until Ctrl-C, for --no-boot runs
  --no-boot            run the --suite(s) on the target a --keep-up job holds up; no boot, no power action
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      target: { type: 'string' },
      image: { type: 'string' },
      results: { type: 'string', default: 'hil-results' },
      'run-id': { type: 'string' },
      'lock-timeout': { type: 'string', default: '600' },
      'targets-dir': { type: 'string' },
      'images-dir': { type: 'string' },
      out: { type: 'string', default: 'allure-report' },
      suite: { type: 'string', multiple: true },
      'keep-up': { type: 'boolean', default: false },
      'no-boot': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
      cleanup: { type: 'boolean' },
      'read-only': { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return ExitCode.passed;
  }
  const command = positionals[0] ?? 'run';
  if (positionals.length > (command === 'power' ? 2 : 1))
    throw new UsageError(`unexpected argument '${positionals.at(-1)}'`);

  switch (command) {
    case 'targets': {
      const names = await listTargets(values['targets-dir']);
      const width = Math.max(20, ...names.map((name) => name.length + 1));
      for (const name of names) {
        const target = await loadTarget(name, values['targets-dir']);
        process.stdout.write(`${name.padEnd(width)} ${target.description}\n`);
      }
      return ExitCode.passed;
    }
    case 'images': {
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
          write: (text) => process.stdout.write(text),
        });
      }
      return (await import('./doctor.js')).doctor({
        cleanup: values.cleanup ?? false,
        write: (text) => process.stdout.write(text),
      });
    case 'run':
      // An ordinary user's run goes on in its own user and network namespaces (harness/run/rootless.ts).
      if (!values['no-boot'] && needsUserNamespace(readHostFacts()))
        return (await import('../run/rootless.js')).runInUserNamespace();
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

async function runCommand(values: {
  target?: string;
  image?: string;
  results?: string;
  'run-id'?: string;
  'lock-timeout'?: string;
  'targets-dir'?: string;
  'images-dir'?: string;
  suite?: string[];
  'keep-up'?: boolean;
  'no-boot'?: boolean;
}): Promise<number> {
  if (!values.target)
    throw new UsageError('--target is required, e.g. --target qemu-x86 (see: npm run hil -- targets)');
  const lockTimeoutS = Number(values['lock-timeout']);
  if (!Number.isFinite(lockTimeoutS) || lockTimeoutS < 0)
    throw new UsageError(`--lock-timeout must be a number of seconds, got '${values['lock-timeout']}'`);

  const { target, image } = await loadRunConfig(
    values.target,
    values.image,
    values['targets-dir'],
    values['images-dir'],
  );
  // Until targets name their secret variables, PXE_HIL_SECRET_VARS lists them (comma-separated).
  registerSecretsFromEnv((process.env.PXE_HIL_SECRET_VARS ?? '').split(',').filter(Boolean));
  const suiteFiles = (values.suite ?? []).map((suite) => resolveSuite(suite));
  if (values['no-boot'] && suiteFiles.length === 0)
    throw new UsageError('--no-boot runs suites on a target that is up: name them with --suite NAME');
  if (values['no-boot'] && values['keep-up'])
    throw new UsageError(
      '--no-boot and --keep-up do not go together: --keep-up boots and holds, --no-boot uses a held target',
    );
  const bus = new EventBus();
  if (wantsLiveView()) attachLiveView(bus);
  else attachTerminalReporter(bus);
  const controller = new AbortController();
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

  if (values['no-boot']) {
    const { runSuitesOnRunningJob } = await import('../run/attach-suites.js');
    const attached = await runSuitesOnRunningJob({
      target,
      suiteFiles,
      resultsRoot: values.results ?? 'hil-results',
      runId: values['run-id'],
      bus,
      signal: controller.signal,
    });
    process.stdout.write(`results: ${attached.resultsDir}\n`);
    return attached.exitCode;
  }
  const result = await runJob({
    target,
    image,
    resultsRoot: values.results ?? 'hil-results',
    runId: values['run-id'],
    lockTimeoutS,
    bus,
    signal: controller.signal,
    suiteFiles,
    keepUp: values['keep-up'] === true,
  });
  if (result.artifacts) process.stdout.write(`results: ${result.artifacts.dir}\n`);
  return result.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof HilError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`pxe-hil: ${message}\n`);
      if (!(error instanceof HilError)) process.stderr.write(USAGE);
      process.exit(error instanceof HilError ? error.exitCode : ExitCode.badUsage);
    }
    process.stderr.write(`pxe-hil: unexpected error: ${error instanceof Error ? error.stack : message}\n`);
    process.exit(ExitCode.labFault);
  },
);
