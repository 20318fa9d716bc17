import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";

import type { LibvirtSession } from "../libvirt/session";
import { formatSubnet } from "../networks/ip";
import { readAllNetworks } from "../networks/inventory";
import type { NetworkKind } from "../networks/model";
import { subnetsInUse } from "../networks/host-conflicts";
import type { SubnetPool } from "../networks/subnet-pool";

import type { HostInterface, HostProbe } from "./facts";
import { isUplinkCandidate } from "./uplinks";

/** An interface in the host description. */
export interface UplinkInfo {
  name: string;
  kind: string;
  macAddress: string;
  mtu: number;
  up: boolean;
  addresses: string[];
  bridge: string;
  ipv6AcceptRa: number;
  ipv6Forwarding: boolean;
}

export interface BridgeInfo {
  name: string;
  ports: string[];
  addresses: string[];
  /** The libvirt network that owns the bridge; empty for the host's own bridges. */
  network: string;
  stp: boolean;
}

export interface TypeSupport {
  type: NetworkKind;
  available: boolean;
  reason: string;
}

/** What HostService.GetHost returns. */
export interface HostDescription {
  hostname: string;
  libvirtVersion: string;
  uplinks: UplinkInfo[];
  bridges: BridgeInfo[];
  subnetsInUse: Array<{ subnet: string; usedBy: string }>;
  networkTypes: TypeSupport[];
  subnetPool: string;
}

/** Link kinds that guests or libvirt create, which never lead to the LAN. */

/** Describes the host from libvirtd's and the kernel's current state. */
export async function describeHost(session: LibvirtSession, probe: HostProbe, pool: SubnetPool): Promise<HostDescription> {
  const libvirt = await session.client();
  const [hostname, version, networks, facts, dnsmasq] = await Promise.all([
    libvirt.getHostname(),
    libvirt.getLibVersion(),
    readAllNetworks(libvirt),
    probe.read(),
    findProgram("dnsmasq"),
  ]);

  const libvirtBridges = new Map<string, string>();
  for (const network of networks) {
    if (network.bridge) {
      libvirtBridges.set(network.bridge, network.name);
    }
  }

  const uplinks = facts.interfaces.filter((host) => isUplinkCandidate(host, libvirtBridges)).map(toUplinkInfo);
  const bridges = facts.interfaces
    .filter((host) => host.isBridge)
    .map((host) => ({
      name: host.name,
      ports: host.bridgePorts,
      addresses: host.addresses.map((a) => a.cidr),
      network: libvirtBridges.get(host.name) ?? "",
      stp: host.stp,
    }));

  const seen = new Set<string>();
  const subnets: HostDescription["subnetsInUse"] = [];
  for (const use of subnetsInUse(facts, networks)) {
    const entry = { subnet: formatSubnet(use.subnet), usedBy: use.usedBy };
    const key = `${entry.subnet} ${entry.usedBy}`;
    if (!seen.has(key)) {
      seen.add(key);
      subnets.push(entry);
    }
  }

  return {
    hostname,
    libvirtVersion: formatLibvirtVersion(version),
    uplinks,
    bridges,
    subnetsInUse: subnets,
    networkTypes: typeSupport(uplinks, bridges, dnsmasq !== undefined),
    subnetPool: pool.toString(),
  };
}

/** Formats libvirt's version number (major * 1,000,000 + minor * 1,000 + micro) as "9.0.0". */
export function formatLibvirtVersion(version: bigint): string {
  return `${version / 1_000_000n}.${(version / 1_000n) % 1_000n}.${version % 1_000n}`;
}

function toUplinkInfo(host: HostInterface): UplinkInfo {
  return {
    name: host.name,
    kind: host.kind,
    macAddress: host.mac,
    mtu: host.mtu,
    up: host.up,
    addresses: host.addresses.map((a) => a.cidr),
    bridge: host.isBridgePort ? (host.master ?? "") : "",
    ipv6AcceptRa: host.ipv6AcceptRa ?? 0,
    ipv6Forwarding: host.ipv6Forwarding ?? false,
  };
}

/**
 * Decides for each network type whether CreateNetwork can create one now.
 * Networks with addresses need dnsmasq, which libvirt runs for them; BRIDGE
 * needs a host bridge of its own, MACVTAP an interface that is no bridge
 * port.
 */
export function typeSupport(uplinks: UplinkInfo[], bridges: BridgeInfo[], hasDnsmasq: boolean): TypeSupport[] {
  const noDnsmasq = "dnsmasq is not installed, and libvirt needs it for networks with addresses; install it (Debian: dnsmasq-base)";
  const hostBridges = bridges.filter((bridge) => bridge.network === "");
  const macvtapUplinks = uplinks.filter((uplink) => uplink.bridge === "");

  const support = (type: NetworkKind, problem: string | undefined): TypeSupport => ({ type, available: problem === undefined, reason: problem ?? "" });
  return [
    support("nat", hasDnsmasq ? undefined : noDnsmasq),
    support("isolated", hasDnsmasq ? undefined : noDnsmasq),
    support("very-isolated", undefined),
    support(
      "bridge",
      hostBridges.length > 0
        ? undefined
        : "the host has no bridge of its own; create one that holds the LAN uplink (ip link add br0 type bridge; ip link set eth0 master br0)",
    ),
    support(
      "macvtap",
      macvtapUplinks.length > 0 ? undefined : uplinks.length === 0
          ? "the host has no candidate uplink: no interface other than loopback, bridges and guest devices; connect a LAN interface"
          : "no interface can carry macvtap guests: every candidate uplink is a bridge port; use a BRIDGE network on that bridge instead",
    ),
    support("routed", hasDnsmasq ? undefined : noDnsmasq),
    support("open", hasDnsmasq ? undefined : noDnsmasq),
  ];
}

/** Finds a program in PATH or in /usr/sbin, where Debian installs dnsmasq. */
async function findProgram(name: string): Promise<string | undefined> {
  const folders = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin"].filter((folder) => folder !== "");
  for (const folder of folders) {
    const path = join(folder, name);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}
