import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Shell functions for test peers (a BMC's chassis control, a PDU's outlet
 * handler) that power a QEMU board: start_qemu starts it in the network
 * namespace of the job that holds $TARGET (found under $RUNTIME by its
 * job.json: tap, MAC, console socket; $CONSOLE_SOCKET, when set, instead of the
 * job's, for a board whose console goes elsewhere), with its pid in $dir/qemu.pid;
 * stop_qemu ends it; running says whether it runs.
 */
export const QEMU_BOARD_FUNCTIONS = `running() { [ -f "$dir/qemu.pid" ] && kill -0 "$(cat "$dir/qemu.pid")" 2>/dev/null; }
field() { node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(String(j[process.argv[2]]))' "$1" "$2"; }
start_qemu() {
  for f in "$RUNTIME"/*/job.json; do
    [ -f "$f" ] && [ "$(field "$f" target)" = "$TARGET" ] && [ "$(field "$f" netns)" != undefined ] && job=$f
  done
  [ -n "$job" ] || { echo "no job holds $TARGET" >> "$dir/calls.log"; return 1; }
  printf '\\370\\003' > "$dir/sercon-port"
  ip netns exec "$(field "$job" netns)" qemu-system-x86_64 -name "hil-$TARGET-$(field "$job" jobId)" \\
    -machine pc,accel=tcg -m 512 -smp 1 -nodefaults -no-user-config -display none \\
    -fw_cfg name=etc/sercon-port,file="$dir/sercon-port" \\
    -chardev socket,id=console,path="\${CONSOLE_SOCKET:-$(field "$job" consoleSocket)}",server=off -serial chardev:console \\
    -netdev tap,id=net0,ifname="$(field "$job" tap)",script=no,downscript=no \\
    -device virtio-net-pci,netdev=net0,mac="$(field "$job" mac)" \\
    -boot order=n,strict=on,menu=off -daemonize -pidfile "$dir/qemu.pid" 2>> "$dir/qemu.err"
}
stop_qemu() { running && kill "$(cat "$dir/qemu.pid")"; }
`;

/** Ends a QEMU board that a peer in `dir` started and nobody switched off (a failed test), by its pid file. */
export function endQemuBoard(dir: string): void {
  const pidFile = join(dir, 'qemu.pid');
  if (!existsSync(pidFile)) return;
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
  } catch {
    // already gone
  }
}
