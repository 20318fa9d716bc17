import { readFile } from "node:fs/promises";
import { join } from "node:path";

import type { Sandbox } from "./sandbox";

/** IPv4 addresses ("10.77.0.1/24") on an interface in the sandbox namespace, or undefined when the interface does not exist. */
export async function interfaceIpv4(sandbox: Sandbox, device: string): Promise<string[] | undefined> {
  const result = await sandbox.exec(["ip", "-j", "-4", "addr", "show", "dev", device]);
  if (result.code !== 0) {
    return undefined;
  }
  const interfaces = JSON.parse(result.stdout) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
  return interfaces.flatMap((i) => i.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

/** Whether a network device exists in the sandbox namespace. */
export async function deviceExists(sandbox: Sandbox, device: string): Promise<boolean> {
  return (await sandbox.exec(["ip", "link", "show", "dev", device])).code === 0;
}

/** IPv4 NAT rules in the sandbox namespace that masquerade traffic, one rule per line. */
export async function masqueradeRules(sandbox: Sandbox): Promise<string[]> {
  const result = await sandbox.exec(["iptables", "-t", "nat", "-S"]);
  if (result.code !== 0) {
    throw new Error(`iptables -t nat -S failed in ${sandbox.netns}: ${result.stderr}`);
  }
  return result.stdout.split("\n").filter((line) => line.includes("MASQUERADE"));
}

/**
 * The PID of the dnsmasq libvirt runs for a network, or undefined when none
 * runs. libvirt writes its pid file under /run/libvirt/network, which the
 * sandbox maps to its own folder.
 */
export async function dnsmasqPid(sandbox: Sandbox, network: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(join(sandbox.dir, "run", "network", `${network}.pid`), "utf8")).trim());
  } catch {
    return undefined;
  }
  try {
    const commandLine = await readFile(`/proc/${pid}/cmdline`, "utf8");
    return commandLine.includes("dnsmasq") && commandLine.includes(`${network}.conf`) ? pid : undefined;
  } catch {
    return undefined;
  }
}
