/**
 * board1: the example real board. An x86 server board in the lab rack,
 * powered through its BMC (IPMI over LAN), its serial console on a USB
 * serial adapter of the CI host, its first NIC cabled to the lab switch
 * that the CI host's enp3s0 is on. The lab already runs DHCP, so the job
 * adds only the boot information (proxyDHCP). See docs/lab-wiring.md.
 *
 * Run it with: npm run hil -- --target board1
 * It needs the board; CI's test suite only loads and validates this file.
 */
import { defineTarget } from '../harness/config/target.js';

export default defineTarget({
  // The file's name without .ts; also the lock name, so two jobs never drive board1 at once.
  name: 'board1',
  description: 'x86 server board in rack 2, BMC power, USB serial console, proxyDHCP on the lab network',
  // What a plain `--target board1` boots (fixtures/images); --image overrides it.
  image: 'busybox',
  // The board's UART is ttyS0 at 115200 baud; the kernel gets console= from console.kernelConsole below.
  kernelArgs: '',

  power: {
    // The BMC, over IPMI v2.0 (ipmitool -I lanplus); `chassis bootdev pxe` is set before every power cycle.
    driver: 'ipmi',
    // The BMC's address on the management network (not the boot network).
    host: 'board1-bmc.lab.example',
    // An operator account of the BMC (power control is enough; it needs no administrator rights).
    username: 'hil',
    // The environment variable that holds the BMC password; the password itself never goes into a file.
    passwordEnv: 'BOARD1_BMC_PASSWORD',
    // Cipher suites tried in this order: 17 (SHA-256, AES) and 3 (SHA-1, AES), the ones most BMCs offer.
    cipherSuites: [17, 3],
    // A network boot for the next boot only, in legacy BIOS mode: the job serves BIOS pxelinux.
    bootdev: { persistent: false, efi: false },
    // How long the board stays off in a cycle: some power supplies need a few seconds to really drop.
    offTimeS: 5,
  },

  console: {
    // A USB serial adapter on the CI host, named by its serial number so that it keeps its name across reboots.
    kind: 'serial',
    path: '/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10KXYZ1-if00-port0',
    // 115200 8N1, no flow control: what the board's firmware and kernel use.
    baud: 115200,
    parity: 'none',
    dataBits: 8,
    stopBits: 1,
    flowControl: 'none',
    // What Linux on the board calls that port.
    kernelConsole: 'ttyS0,115200',
  },

  network: {
    // The board's NIC is on the lab network that the CI host reaches through enp3s0.
    kind: 'lab',
    // The CI host's interface on that network. For a boot VLAN give its VLAN interface instead, e.g. 'enp3s0.42'.
    interface: 'enp3s0',
    // The lab's DHCP server gives the board its address; the job only adds the boot file (proxyDHCP).
    mode: 'proxy',
    // The job's own address on the lab network: a free address outside the lab DHCP server's range,
    // different for every target on enp3s0 (board2 would take .251), since their jobs may run at once.
    serverAddress: '192.168.10.250/24',
    // The MAC of the board's NIC that netboots: the only client the job answers.
    mac: '3c:ec:ef:12:34:56',
  },

  // 'auto': the firmware's PXE ROM gets pxelinux, or an iPXE ROM its script; 'pxelinux' for everyone.
  boot: { loader: 'auto' },
  // Power the board off at the end of every job (pass, fail or abort), so it draws no power between jobs.
  powerOffAtEnd: true,
  // A server board's firmware takes a minute or two before it netboots: every milestone gets three times its time.
  timeoutScale: 3,
  // The CI host whose enp3s0 and USB serial adapter board1 is wired to: the Jenkins agent labelled hil-lab-2.
  jenkins: { agent: 'hil-lab-2' },
  // One of the lab's x86 server boards: a job that wants "an x86 server board" asks for the pool, not for board1.
  pools: ['x86-server'],
});
