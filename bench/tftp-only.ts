/**
 * The TFTP part of `npm run bench` on its own, quicker to repeat while
 * working on the TFTP server: the job's file server against dnsmasq's TFTP
 * server for each lock-step client, and windowsize 8 against 1, on the
 * Debian installer's initrd (the busybox image's with --quick). Prints the
 * same Markdown rows as the full benchmark.
 *
 * Run: npm run bench:tftp [-- --runs N] [-- --quick]
 */
import { parseArgs } from 'node:util';
import { loadRunConfig } from '../harness/cli/run-config.js';
import { renderTable } from './figures.js';
import { measureTftp, tftpFigures } from './tftp.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, quick: { type: 'boolean', default: false } },
  strict: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a whole number of at least 1, got '${values.runs}'`);
const { image } = await loadRunConfig({ target: 'qemu-x86', image: values.quick ? 'busybox' : 'debian-netinstall' });
const prepared = await image.prepare();
const [file, name] = prepared.initrd
  ? [prepared.initrd, image.servedNames.initrd ?? 'initrd']
  : [prepared.kernel, image.servedNames.kernel];
process.stderr.write(`bench: TFTP, ${runs} run(s) of every client against pxe-hil and dnsmasq, file ${file}\n`);
process.stdout.write(`${renderTable(tftpFigures(await measureTftp(file, name, runs)), [])}\n`);
