// Real QEMU guests for integration tests, defined and started with virsh in a
// sandbox. They run under TCG (<domain type='qemu'>), because a Linux guest
// under nested KVM hangs right after kernel decompression on the machines
// where the suite was tried.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { Sandbox } from "../sandbox";
import type { GuestImage } from "./image";

/** Report of the guest's /init on one NIC, read from its serial console. */
export interface NicReport {
  macAddress: string;
  /** The DHCP lease, when the NIC got one. */
  lease?: {
    /** CIDR, for example "10.77.0.23/24". */
    address: string;
    /** The DHCP server that handed out the lease. */
    server: string;
    router: string | undefined;
  };
  /** The link-local address the NIC took without a lease, CIDR. */
  linkLocal?: string;
  /** Whether each probed address replied to a ping from this NIC. */
  reached: Map<string, boolean>;
}

/** A guest booted from the test image that reports on its serial console. */
export interface ReportingGuest {
  name: string;
  /** Resolves with the report of the NIC with this MAC address once the guest has finished with it, waiting up to `timeoutMs`. */
  waitForNic(macAddress: string, timeoutMs?: number): Promise<NicReport>;
  /** Resolves once the guest reports that the NIC with this MAC address is gone, waiting up to `timeoutMs`. */
  waitForRemoval(macAddress: string, timeoutMs?: number): Promise<void>;
  /** The whole console output so far, for failure messages. */
  console(): Promise<string>;
}

const POLL_INTERVAL_MS = 200;

// QEMU runs as root without relabelling, because the sandbox folder, where
// the console file lives, only admits root. The guest is still confined to
// the sandbox's network namespace.
const ROOT_SECLABEL = "<seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>";

/**
 * Defines and starts a guest that boots the test image on machine type pc
 * with ACPI, so that NICs can be hot-plugged and unplugged. Its /init pings
 * each of `probes` from every NIC it configures. Resolves once /init runs.
 */
export async function startReportingGuest(
  sandbox: Sandbox,
  image: GuestImage,
  options: { name: string; probes: string[] },
): Promise<ReportingGuest> {
  const consolePath = join(sandbox.dir, `${options.name}-console.log`);
  const cmdline = ["console=ttyS0", "edd=off", "quiet", `netagent.probe=${options.probes.join(",")}`].join(" ");
  const xml = `<domain type='qemu'>
  <name>${options.name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${image.kernel}</kernel>
    <initrd>${image.initrd}</initrd>
    <cmdline>${cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  ${ROOT_SECLABEL}
  <devices>
    <serial type='file'><source path='${consolePath}'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>`;
  await defineAndStart(sandbox, options.name, xml);

  const readConsole = () => readFile(consolePath, "utf8").catch(() => "");
  const guest: ReportingGuest = {
    name: options.name,
    console: readConsole,

    async waitForNic(macAddress, timeoutMs = 60_000) {
      const text = await waitForConsole(readConsole, timeoutMs, `the guest's report on NIC ${macAddress}`, (output) => {
        const block = lastReportBlock(output, macAddress);
        return block !== undefined && block.includes(`NETAGENT done mac=${macAddress}`) ? block : undefined;
      });
      return parseReport(macAddress, text);
    },

    async waitForRemoval(macAddress, timeoutMs = 30_000) {
      await waitForConsole(readConsole, timeoutMs, `the guest to report NIC ${macAddress} removed`, (output) =>
        output.includes(`NETAGENT removed mac=${macAddress}`) ? output : undefined,
      );
    },
  };

  await waitForConsole(readConsole, 60_000, "the guest's /init to start", (output) => (output.includes("NETAGENT ready") ? output : undefined));
  return guest;
}

/**
 * Defines and starts a guest without an operating system on machine type q35
 * with exactly one free PCIe root port: the first hot-plugged NIC fills it,
 * and a second finds no free slot. Nothing in the guest handles a hot-unplug
 * request, so a live detach never completes.
 */
export async function startGuestWithOneSlot(sandbox: Sandbox, options: { name: string }): Promise<void> {
  const xml = `<domain type='qemu'>
  <name>${options.name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/></features>
  ${ROOT_SECLABEL}
  <devices>
    <controller type='usb' model='none'/>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'/>
    <memballoon model='none'/>
  </devices>
</domain>`;
  await defineAndStart(sandbox, options.name, xml);
}

async function defineAndStart(sandbox: Sandbox, name: string, xml: string): Promise<void> {
  const path = join(sandbox.dir, `${name}.xml`);
  await writeFile(path, xml);
  await sandbox.virsh(["define", path]);
  await sandbox.virsh(["start", name]);
}

/** Polls the console until `extract` returns a value, for at most `timeoutMs`. */
async function waitForConsole(
  readConsole: () => Promise<string>,
  timeoutMs: number,
  description: string,
  extract: (output: string) => string | undefined,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const output = await readConsole();
    const value = extract(output);
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}; guest console:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/** Returns the console text from the NIC's last "lease" or "nolease" line on, or undefined before there is one. */
function lastReportBlock(output: string, macAddress: string): string | undefined {
  const starts = [`NETAGENT lease mac=${macAddress} `, `NETAGENT nolease mac=${macAddress} `].map((marker) => output.lastIndexOf(marker));
  const start = Math.max(...starts);
  return start < 0 ? undefined : output.slice(start);
}

function parseReport(macAddress: string, block: string): NicReport {
  const report: NicReport = { macAddress, reached: new Map() };
  const mac = macAddress.replace(/:/g, "\\:");

  const lease = new RegExp(`NETAGENT lease mac=${mac} ip=(\\S+) server=(\\S+) router=(\\S+)`).exec(block);
  if (lease !== null) {
    report.lease = { address: lease[1], server: lease[2], router: lease[3] === "none" ? undefined : lease[3] };
  }
  const linkLocal = new RegExp(`NETAGENT nolease mac=${mac} ip=(\\S+)`).exec(block);
  if (linkLocal !== null) {
    report.linkLocal = linkLocal[1];
  }
  for (const probe of block.matchAll(new RegExp(`NETAGENT probe mac=${mac} target=(\\S+) reached=(yes|no)`, "g"))) {
    report.reached.set(probe[1], probe[2] === "yes");
  }
  return report;
}
