import { execFile } from "node:child_process";

import type { Sandbox } from "../sandbox";

/**
 * A network namespace that plays the LAN beyond the sandbox's host: a veth
 * pair links the host (the sandbox's namespace) to a LAN host that has one
 * address. Guests that reach lanAddress reach beyond the host.
 */
export interface Lan {
  netns: string;
  /** The host's end of the veth pair, in the sandbox namespace: the uplink of BRIDGE and MACVTAP networks. */
  uplink: string;
  /** The host's address on the LAN. */
  hostAddress: string;
  /** The LAN host's address, which guests probe. */
  lanAddress: string;
  prefixLength: number;
  /** Deletes the LAN namespace, and with it the veth pair. Safe to call twice. */
  stop(): Promise<void>;
}

// 203.0.113.0/24 is TEST-NET-3 (RFC 5737), so it clashes with no real network.
const HOST_ADDRESS = "203.0.113.1";
const LAN_ADDRESS = "203.0.113.10";
const PREFIX_LENGTH = 24;
const UPLINK = "na-uplink";

function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("ip", args, { encoding: "utf8", timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`ip ${args.join(" ")} failed: ${stderr.trim() || error.message}`));
      } else {
        resolve();
      }
    });
  });
}

/** Creates the LAN namespace next to a sandbox and links it to the sandbox's namespace. Requires root. */
export async function startLan(sandbox: Sandbox): Promise<Lan> {
  const netns = `${sandbox.netns}-lan`;
  await ip(["netns", "add", netns]);

  let stopped = false;
  const lan: Lan = {
    netns,
    uplink: UPLINK,
    hostAddress: HOST_ADDRESS,
    lanAddress: LAN_ADDRESS,
    prefixLength: PREFIX_LENGTH,
    async stop() {
      if (!stopped) {
        stopped = true;
        await ip(["netns", "delete", netns]);
      }
    },
  };

  try {
    await ip(["link", "add", UPLINK, "netns", sandbox.netns, "type", "veth", "peer", "name", "eth0", "netns", netns]);
    await ip(["-n", sandbox.netns, "addr", "add", `${HOST_ADDRESS}/${PREFIX_LENGTH}`, "dev", UPLINK]);
    await ip(["-n", sandbox.netns, "link", "set", UPLINK, "up"]);
    await ip(["-n", netns, "addr", "add", `${LAN_ADDRESS}/${PREFIX_LENGTH}`, "dev", "eth0"]);
    await ip(["-n", netns, "link", "set", "eth0", "up"]);
    await ip(["-n", netns, "link", "set", "lo", "up"]);
  } catch (error) {
    await lan.stop();
    throw error;
  }
  return lan;
}
