/**
 * Takes a target's lock the way a job does and holds it until a line arrives
 * on stdin (then releases it and exits) or until it is killed.
 *
 *   tsx test/support/lock-holder.ts TARGET
 */
import { lockTarget } from '../../harness/run/target-lock.js';

const target = process.argv[2] ?? 'qemu-x86';
const lock = await lockTarget(target, 0, () => {});
process.stdout.write('held\n');
process.stdin.once('data', () => {
  void lock.release().then(() => {
    process.stdout.write('released\n');
    process.exit(0);
  });
});
