import { execFile } from "node:child_process";
import { readdir, readFile, stat } from "node:fs/promises";

import { AddressInfo, LinkInfo, parseAddresses, parseLinks, parseRoutes, RouteInfo } from "./ip-json";
import { AutoconfiguredRoute, parseAutoconfiguredRoutes } from "./ipv6-route";

/** An interface of the host with what the agent's checks need to know about it. */
export interface HostInterface extends LinkInfo {
  /** /sys/class/net/NAME/bridge exists. */
  isBridge: boolean;
  /** /sys/class/net/NAME/brport exists: the interface is a bridge port. */
  isBridgePort: boolean;
  /** Ports of a bridge, from /sys/class/net/NAME/brif. */
  bridgePorts: string[];
  /** Whether a bridge runs STP (/sys/class/net/NAME/bridge/stp_state is not 0). */
  stp: boolean;
  addresses: AddressInfo[];
  /** /proc/sys/net/ipv6/conf/NAME/accept_ra; undefined when IPv6 is off for the interface. */
  ipv6AcceptRa?: number;
  ipv6Forwarding?: boolean;
}

/** The kernel's view of the agent's network namespace. */
export interface HostFacts {
  interfaces: HostInterface[];
  routes: RouteInfo[];
  /** IPv6 routes the kernel made from router advertisements (RTF_ADDRCONF in /proc/net/ipv6_route). */
  autoconfiguredRoutes: AutoconfiguredRoute[];
  /** /proc/sys/net/ipv6/conf/all/accept_ra. */
  ipv6AcceptRaAll?: number;
}

/** Reads host facts; the network manager and HostService take it as a dependency so tests can supply their own. */
export interface HostProbe {
  read(): Promise<HostFacts>;
}

const IP_TIMEOUT_MS = 10_000;

/**
 * Reads the host's interfaces, addresses and routes from iproute2's JSON
 * output, and bridge and IPv6 settings from sysfs and /proc, all in the
 * agent's own network namespace.
 */
export class KernelHostProbe implements HostProbe {
  constructor(
    private readonly sysClassNet = "/sys/class/net",
    private readonly procIpv6Conf = "/proc/sys/net/ipv6/conf",
    private readonly procIpv6Route = "/proc/net/ipv6_route",
  ) {}

  async read(): Promise<HostFacts> {
    // `ip -d addr show` prints each link's details along with its addresses, so one call serves both parsers.
    const [linksJson, routes4Json, routes6Json, acceptRaAll, ipv6Routes] = await Promise.all([
      runIp(["-j", "-d", "addr", "show"]),
      runIp(["-j", "-4", "route", "show", "table", "all"]),
      runIp(["-j", "-6", "route", "show", "table", "all"]),
      readNumber(`${this.procIpv6Conf}/all/accept_ra`),
      // Without IPv6 the file does not exist, and no route can be lost.
      readFile(this.procIpv6Route, "utf8").catch(() => ""),
    ]);

    const addresses = parseAddresses(linksJson);
    const interfaces = await Promise.all(
      parseLinks(linksJson).map((link) => this.describeInterface(link, addresses.filter((a) => a.device === link.name))),
    );
    return {
      interfaces,
      routes: [...parseRoutes(routes4Json, 4), ...parseRoutes(routes6Json, 6)],
      autoconfiguredRoutes: parseAutoconfiguredRoutes(ipv6Routes),
      ipv6AcceptRaAll: acceptRaAll,
    };
  }

  private async describeInterface(link: LinkInfo, addresses: AddressInfo[]): Promise<HostInterface> {
    const base = `${this.sysClassNet}/${link.name}`;
    const [isBridge, isBridgePort, acceptRa, forwarding] = await Promise.all([
      exists(`${base}/bridge`),
      exists(`${base}/brport`),
      readNumber(`${this.procIpv6Conf}/${link.name}/accept_ra`),
      readNumber(`${this.procIpv6Conf}/${link.name}/forwarding`),
    ]);
    const bridgePorts = isBridge ? (await readdir(`${base}/brif`).catch(() => [] as string[])).sort() : [];
    const stp = isBridge ? ((await readNumber(`${base}/bridge/stp_state`)) ?? 0) !== 0 : false;

    return {
      ...link,
      isBridge,
      isBridgePort,
      bridgePorts,
      stp,
      addresses,
      ipv6AcceptRa: acceptRa,
      ipv6Forwarding: forwarding === undefined ? undefined : forwarding !== 0,
    };
  }
}

function runIp(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ip", args, { encoding: "utf8", timeout: IP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`ip ${args.join(" ")} failed: ${stderr.trim() || error.message}`, { cause: error }));
        return;
      }
      resolve(stdout);
    });
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readNumber(path: string): Promise<number | undefined> {
  try {
    const value = Number((await readFile(path, "utf8")).trim());
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
