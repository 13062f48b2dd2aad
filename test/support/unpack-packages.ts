/**
 * Prepares Debian packages into the image cache the way a run does
 * (harness/images/apt-packages.ts), all at once, and prints what it got as
 * JSON: for tests of several processes preparing into one cache.
 *
 *   tsx test/support/unpack-packages.ts NAME...
 */
import { unpackPackage } from '../../harness/images/apt-packages.js';

const unpacked = await Promise.all(process.argv.slice(2).map((name) => unpackPackage(name)));
process.stdout.write(`${JSON.stringify(unpacked)}\n`);
