// Checks of a network spec against the host and the other libvirt networks,
// run before libvirt sees the spec, so that a create or update that cannot
// work fails with the reason and changes nothing.

import type { HostFacts } from "../host/facts";
import { isUplinkCandidate } from "../host/uplinks";
import { formatSubnet, IpFamily, parseIp, Subnet, subnetContaining, subnetsOverlap } from "./ip";
import type { IpConfig, NetworkSpec } from "./model";
import { SubnetPool } from "./subnet-pool";

/** The RFC 1918 ranges, searched for a free subnet of a size the pool cannot offer. */
const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((cidr) => new SubnetPool(cidr));
import type { ParsedNetworkXml } from "./xml";

/** A subnet that something on the host or in libvirt uses, with a description of the user. */
export interface SubnetUse {
  subnet: Subnet;
  usedBy: string;
}

/** Which network a check is for; its own bridge, addresses and definition never count as conflicts. */
export interface Self {
  name: string;
  /** The bridge the network has now (for updates), whose addresses and routes are its own. */
  bridge?: string;
}

// Routes of these types describe addresses of the host itself or traffic
// classes, not subnets reachable through an interface.
const IGNORED_ROUTE_TYPES = new Set(["local", "broadcast", "multicast", "anycast", "nat"]);

/** Returns the subnet of an IP config. */
export function subnetOfConfig(config: IpConfig): Subnet {
  const address = parseIp(config.address);
  if (address === undefined) {
    throw new Error(`invalid address ${config.address} in a validated spec`);
  }
  return subnetContaining(address, config.prefixLength);
}

function networkSubnets(network: Pick<NetworkSpec, "ipv4" | "ipv6">): Subnet[] {
  return [network.ipv4, network.ipv6].filter((config): config is IpConfig => config !== undefined).map(subnetOfConfig);
}

/** Reports whether a subnet is one that no network could take: link-local IPv6 or IPv6 multicast. */
function isLinkScope(subnet: Subnet): boolean {
  if (subnet.family === 4) {
    return subnet.prefixLength === 0;
  }
  const top16 = subnet.network >> 112n;
  return subnet.prefixLength === 0 || (top16 & 0xffc0n) === 0xfe80n || top16 >> 8n === 0xffn;
}

/**
 * Lists every subnet in use: those of libvirt networks (active or not, since
 * an inactive one conflicts when it starts), addresses on host interfaces
 * and routes of the host. Default routes, link-local and multicast ranges,
 * loopback and whatever belongs to `self` are left out, and so are the
 * addresses and routes of libvirt's bridges, which their networks cover.
 */
export function subnetsInUse(facts: HostFacts, networks: ParsedNetworkXml[], self?: Self): SubnetUse[] {
  const uses: SubnetUse[] = [];
  const ownDevices = new Set([self?.bridge].filter((name): name is string => Boolean(name)));
  const networkBridges = new Set(networks.filter((network) => network.name !== self?.name && network.bridge).map((network) => network.bridge));

  for (const network of networks) {
    if (network.name === self?.name) {
      continue;
    }
    const where = network.bridge ? ` on bridge ${network.bridge}` : "";
    for (const subnet of networkSubnets(network)) {
      uses.push({ subnet, usedBy: `network '${network.name}'${where}` });
    }
  }

  for (const host of facts.interfaces) {
    if (host.linkType === "loopback" || ownDevices.has(host.name) || networkBridges.has(host.name)) {
      continue;
    }
    for (const address of host.addresses) {
      if (!isLinkScope(address.subnet) && address.scope !== "host") {
        uses.push({ subnet: address.subnet, usedBy: `address ${address.cidr} on ${host.name}` });
      }
    }
  }

  for (const route of facts.routes) {
    const skippedDevice = (device: string) => ownDevices.has(device) || networkBridges.has(device) || device === "lo";
    if (IGNORED_ROUTE_TYPES.has(route.type) || isLinkScope(route.subnet) || route.devices.some(skippedDevice)) {
      continue;
    }
    const via = route.devices.length > 0 ? ` via ${route.devices.join(", ")}` : "";
    uses.push({ subnet: route.subnet, usedBy: `route ${formatSubnet(route.subnet)}${via}` });
  }
  return uses;
}

/**
 * Lists every way a spec conflicts with the host or other libvirt networks,
 * each as a sentence that names the conflicting thing and the fix. An empty
 * list means the spec can be defined.
 */
export function findConflicts(spec: NetworkSpec, facts: HostFacts, networks: ParsedNetworkXml[], pool: SubnetPool, self: Self = { name: spec.name }): string[] {
  const others = networks.filter((network) => network.name !== self.name);
  const conflicts: string[] = [];

  const inUse = subnetsInUse(facts, networks, self);
  for (const [field, config] of [["ipv4", spec.ipv4], ["ipv6", spec.ipv6]] as const) {
    if (config === undefined) {
      continue;
    }
    const subnet = subnetOfConfig(config);
    const clash = inUse.find((use) => subnetsOverlap(use.subnet, subnet));
    if (clash !== undefined) {
      conflicts.push(`${field} subnet ${formatSubnet(subnet)} overlaps ${formatSubnet(clash.subnet)} of ${clash.usedBy}; ${suggestion(subnet.family, subnet.prefixLength, inUse, pool)}`);
    }
  }

  conflicts.push(...bridgeConflicts(spec, facts, others, self));
  conflicts.push(...uplinkConflicts(spec, facts, others));
  conflicts.push(...routerAdvertisementConflicts(spec, facts));
  return conflicts;
}

function suggestion(family: IpFamily, prefixLength: number, inUse: SubnetUse[], pool: SubnetPool): string {
  if (family === 6) {
    return "choose an IPv6 prefix that nothing on the host uses";
  }
  // The pool first; a subnet larger than the pool's slots comes from the private ranges.
  const used = inUse.map((use) => use.subnet);
  for (const range of [pool, ...PRIVATE_RANGES]) {
    const free = range.findFree(used, prefixLength);
    if (free !== undefined && free.prefixLength === prefixLength) {
      return `use a free subnet such as ${formatSubnet(free)}`;
    }
  }
  return "choose a subnet that nothing on the host uses";
}

function bridgeConflicts(spec: NetworkSpec, facts: HostFacts, others: ParsedNetworkXml[], self: Self): string[] {
  const conflicts: string[] = [];
  const byName = new Map(facts.interfaces.map((host) => [host.name, host]));

  if (spec.bridge !== "") {
    const owner = others.find((network) => network.bridge === spec.bridge || network.hostBridge === spec.bridge);
    const device = byName.get(spec.bridge);
    if (owner !== undefined && owner.hostBridge === spec.bridge) {
      conflicts.push(`bridge name ${spec.bridge} is an existing host bridge (used by BRIDGE network '${owner.name}'); choose another bridge name or leave it empty to have one generated`);
    } else if (owner !== undefined) {
      conflicts.push(`bridge name ${spec.bridge} is taken by network '${owner.name}'; choose another bridge name or leave it empty to have one generated`);
    } else if (device !== undefined && spec.bridge !== self.bridge) {
      const kind = device.isBridge ? "bridge" : device.kind || "interface";
      conflicts.push(`bridge name ${spec.bridge} is taken by the host's ${kind} ${spec.bridge}; choose another bridge name or leave it empty to have one generated`);
    }
  }

  if (spec.type === "bridge" && spec.hostBridge) {
    const device = byName.get(spec.hostBridge);
    const owner = others.find((network) => network.bridge === spec.hostBridge);
    if (device === undefined) {
      conflicts.push(`host bridge ${spec.hostBridge} not found; create a bridge that holds the uplink (ip link add ${spec.hostBridge} type bridge; ip link set UPLINK master ${spec.hostBridge}) or name an existing one`);
    } else if (!device.isBridge) {
      conflicts.push(`host bridge ${spec.hostBridge} is not a bridge but a ${device.kind || "physical interface"}; name a bridge that holds it, or use a MACVTAP network on ${spec.hostBridge}`);
    } else if (owner !== undefined) {
      conflicts.push(`host bridge ${spec.hostBridge} is the bridge of libvirt network '${owner.name}', not a host bridge; name a bridge that holds the LAN uplink`);
    }
  }
  return conflicts;
}

function uplinkConflicts(spec: NetworkSpec, facts: HostFacts, others: ParsedNetworkXml[]): string[] {
  if (!spec.uplink) {
    return [];
  }
  const device = facts.interfaces.find((host) => host.name === spec.uplink);
  if (device === undefined) {
    const networkBridges = new Set(others.map((network) => network.bridge).filter((bridge) => bridge !== ""));
    const candidates = facts.interfaces.filter((host) => isUplinkCandidate(host, networkBridges)).map((host) => host.name);
    const choice = candidates.length === 0 ? "the host has no candidate uplink" : `candidate uplinks: ${candidates.join(", ")}`;
    return [`uplink ${spec.uplink} not found on the host; name an existing interface (${choice})`];
  }
  if (device.linkType === "loopback") {
    return [`uplink ${spec.uplink} is the loopback interface; name an interface that reaches the LAN`];
  }
  if (spec.type !== "macvtap") {
    return [];
  }

  if (device.isBridgePort) {
    return [
      `uplink ${spec.uplink} is a port of bridge ${device.master ?? "(unknown)"}, and macvtap guests on a bridge port get no traffic; use a BRIDGE network with host_bridge ${device.master ?? "(the bridge)"}, or take ${spec.uplink} out of the bridge`,
    ];
  }
  const owner = others.find((network) => network.bridge === spec.uplink);
  if (owner !== undefined) {
    return [`uplink ${spec.uplink} is the bridge of libvirt network '${owner.name}'; name an interface that reaches the LAN`];
  }
  return [];
}

/**
 * Repeats the check of libvirt 9.0 (virNetDevIPCheckIPv6Forwarding, run when
 * it starts a NAT, ROUTED or OPEN network with IPv6): turning IPv6
 * forwarding on makes the kernel flush the routes it learned from router
 * advertisements (RTF_ADDRCONF) on every interface whose accept_ra is 1, or
 * 0 while net.ipv6.conf.all.accept_ra is 1. accept_ra=2 keeps them.
 */
function routerAdvertisementConflicts(spec: NetworkSpec, facts: HostFacts): string[] {
  if (spec.ipv6 === undefined || !["nat", "routed", "open"].includes(spec.type)) {
    return [];
  }

  const acceptRa = new Map(facts.interfaces.map((host) => [host.name, host.ipv6AcceptRa]));
  const devices = new Set<string>();
  for (const route of facts.autoconfiguredRoutes) {
    const value = acceptRa.get(route.device);
    if (value === 1 || (value === 0 && facts.ipv6AcceptRaAll === 1)) {
      devices.add(route.device);
    }
  }

  return [...devices].sort().map(
    (device) =>
      `IPv6 forwarding, which libvirt turns on for this network, would make the kernel flush the routes that interface ${device} learned from router advertisements (accept_ra=${acceptRa.get(device)}); set net.ipv6.conf.${device}.accept_ra=2 (sysctl -w net.ipv6.conf.${device}.accept_ra=2) to keep them, then retry`,
  );
}
