import { randomBytes } from "node:crypto";

import { run } from "./lan";
import type { Sandbox } from "./sandbox";

/**
 * Plays a guest NIC with a given MAC on a bridge in the sandbox: a veth pair
 * whose one end joins the bridge and whose other end sits in a namespace of
 * its own, where busybox udhcpc asks for a lease. Returns the leased
 * address, or undefined when no DHCP server answered within about 20 s. The
 * namespace and the veth pair are gone when the call returns.
 */
export async function requestLease(sandbox: Sandbox, bridge: string, mac: string): Promise<string | undefined> {
  const suffix = randomBytes(3).toString("hex");
  const netns = `nac-${suffix}`;
  const port = `vc${suffix}`;

  await checked(["ip", "netns", "add", netns]);
  try {
    await checked(["ip", "link", "add", port, "netns", sandbox.netns, "type", "veth", "peer", "name", "eth0", "netns", netns]);
    await checked(["ip", "netns", "exec", sandbox.netns, "ip", "link", "set", port, "master", bridge, "up"]);
    await checked(["ip", "netns", "exec", netns, "ip", "link", "set", "eth0", "address", mac, "up"]);

    // -B asks for broadcast replies, since the client has no address yet to receive unicast on.
    const result = await run(["ip", "netns", "exec", netns, "busybox", "udhcpc", "-B", "-i", "eth0", "-n", "-q", "-f", "-s", "/bin/true", "-t", "8", "-T", "2"]);
    const match = /lease of ([0-9.]+) obtained/.exec(result.stdout + result.stderr);
    return match?.[1];
  } finally {
    // Deleting the namespace destroys its end of the veth pair, and with it the port on the bridge.
    await run(["ip", "netns", "delete", netns]);
  }
}

async function checked(argv: string[]): Promise<void> {
  const result = await run(argv);
  if (result.code !== 0) {
    throw new Error(`${argv.join(" ")} failed (exit code ${result.code}): ${result.stderr.trim()}`);
  }
}
