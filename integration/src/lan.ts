import { ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { ExecResult, Sandbox } from "./sandbox";

/**
 * A small LAN behind the sandbox: a second network namespace joined to the
 * sandbox's namespace by a veth pair, with dnsmasq as the LAN's DHCP server.
 * The sandbox end of the pair is the uplink that BRIDGE networks (through a
 * bridge holding it) and MACVTAP networks use. Every address is from the
 * documentation ranges 192.0.2.0/24 and 2001:db8:5::/64 and lives only in
 * these two namespaces.
 */
export interface Lan {
  /** Name of the LAN's network namespace. */
  netns: string;
  /** The uplink: the veth end inside the sandbox namespace. */
  uplink: string;
  /** The LAN router's address, which also runs the DHCP server: "192.0.2.1". */
  routerAddress: string;
  /** The LAN's IPv4 subnet, "192.0.2.0/24". */
  subnet: string;
  /** Addresses the LAN's DHCP server hands out. */
  dhcpRange: { start: string; end: string };
  /** The LAN's IPv6 prefix, "2001:db8:5::/64", announced when routerAdvertisements is set. */
  ipv6Prefix: string;
  /** PID of the LAN's dnsmasq. */
  dnsmasqPid: number;
  /** Runs argv in the LAN namespace. Resolves with any exit code. */
  exec(argv: string[]): Promise<ExecResult>;
  /** Leases the LAN's DHCP server handed out, from its lease file. */
  leases(): Promise<Array<{ mac: string; ip: string }>>;
  /** Stops dnsmasq by PID and deletes the LAN namespace, which removes the veth pair and the uplink. Safe to call twice. */
  stop(): Promise<void>;
}

export interface LanOptions {
  /** Name of the uplink in the sandbox namespace. Default "uplink0". */
  uplink?: string;
  /**
   * Have dnsmasq send IPv6 router advertisements for 2001:db8:5::/64, so that
   * the sandbox learns a default route of protocol "ra" on the uplink (with
   * the kernel's default accept_ra=1). Default false.
   */
  routerAdvertisements?: boolean;
  /**
   * An address, CIDR, for the uplink in the sandbox namespace, as a host has
   * on its LAN interface: NAT guests then reach the LAN through the host.
   * Default none.
   */
  hostAddress?: string;
}

const LAN_DEVICE = "lan0";

/**
 * Builds the LAN next to a sandbox. Requires root. The caller must call
 * stop(), typically in a mocha after() hook, before stopping the sandbox.
 * @throws Error with dnsmasq's log when the DHCP server does not start.
 */
export async function startLan(sandbox: Sandbox, options: LanOptions = {}): Promise<Lan> {
  const uplink = options.uplink ?? "uplink0";
  const netns = `nal-${randomBytes(4).toString("hex")}`;
  const dir = await mkdtemp(join(tmpdir(), "netagent-lan-"));
  let dnsmasq: ChildProcess | undefined;
  let stopping: Promise<void> | undefined;

  const inLan = (argv: string[]) => runChecked(["ip", "netns", "exec", netns, ...argv]);
  const stop = () => {
    stopping ??= (async () => {
      if (dnsmasq !== undefined) {
        await stopChild(dnsmasq);
      }
      await run(["ip", "netns", "delete", netns]);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    await runChecked(["ip", "netns", "add", netns]);
    await inLan(["ip", "link", "set", "lo", "up"]);
    await runChecked(["ip", "link", "add", uplink, "netns", sandbox.netns, "type", "veth", "peer", "name", LAN_DEVICE, "netns", netns]);
    await inLan(["ip", "addr", "add", "192.0.2.1/24", "dev", LAN_DEVICE]);
    await inLan(["ip", "addr", "add", "2001:db8:5::1/64", "dev", LAN_DEVICE, "nodad"]);
    await inLan(["ip", "link", "set", LAN_DEVICE, "up"]);
    const inSandbox = [["ip", "link", "set", uplink, "up"]];
    if (options.hostAddress !== undefined) {
      inSandbox.push(["ip", "addr", "add", options.hostAddress, "dev", uplink]);
    }
    for (const argv of inSandbox) {
      const result = await sandbox.exec(argv);
      if (result.code !== 0) {
        throw new Error(`${argv.join(" ")} failed in ${sandbox.netns}: ${result.stderr}`);
      }
    }

    const args = [
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--port=0",
      `--interface=${LAN_DEVICE}`,
      "--bind-interfaces",
      "--dhcp-range=192.0.2.100,192.0.2.199,1h",
      `--dhcp-leasefile=${join(dir, "leases")}`,
      `--log-facility=${join(dir, "dnsmasq.log")}`,
      "--pid-file=",
    ];
    if (options.routerAdvertisements) {
      args.push("--enable-ra", "--dhcp-range=2001:db8:5::,ra-only");
    }
    // ip netns exec replaces itself with dnsmasq, so the child's PID is dnsmasq's.
    dnsmasq = spawn("ip", ["netns", "exec", netns, "dnsmasq", ...args], { stdio: "ignore" });
    await waitForStart(dnsmasq, join(dir, "dnsmasq.log"));
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    netns,
    uplink,
    routerAddress: "192.0.2.1",
    subnet: "192.0.2.0/24",
    dhcpRange: { start: "192.0.2.100", end: "192.0.2.199" },
    ipv6Prefix: "2001:db8:5::/64",
    dnsmasqPid: dnsmasq.pid!,
    exec: (argv) => run(["ip", "netns", "exec", netns, ...argv]),
    async leases() {
      const text = await readFile(join(dir, "leases"), "utf8").catch(() => "");
      // Lease file lines: expiry MAC IP hostname client-id.
      return text
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => line.split(" "))
        .map(([, mac, ip]) => ({ mac, ip }));
    },
    stop,
  };
}

async function waitForStart(child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`the LAN's dnsmasq exited with code ${child.exitCode}: ${await readFile(logPath, "utf8").catch(() => "(no log)")}`);
    }
    const log = await readFile(logPath, "utf8").catch(() => "");
    if (log.includes("DHCP, sockets bound")) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the LAN's dnsmasq did not start within 10 s: ${await readFile(logPath, "utf8").catch(() => "(no log)")}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Runs argv without a shell, bounded to 30 s, and resolves with any exit code. */
export function run(argv: string[]): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code: code ?? -1 });
    });
  });
}

async function runChecked(argv: string[]): Promise<ExecResult> {
  const result = await run(argv);
  if (result.code !== 0) {
    throw new Error(`${argv.join(" ")} failed (exit code ${result.code}): ${result.stderr.trim()}`);
  }
  return result;
}
