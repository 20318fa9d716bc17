// Parsers for the JSON that iproute2 prints with `ip -j` (iproute2 5.x and
// 6.x), so that host facts never depend on human-readable output.

import { IpFamily, parseCidr, Subnet, subnetContaining } from "../networks/ip";

/** One interface from `ip -j -d link show` or `ip -j -d addr show`. */
export interface LinkInfo {
  name: string;
  index: number;
  /** The kernel's link kind ("bridge", "veth", "macvtap", ...); empty for physical NICs and loopback. */
  kind: string;
  /** "loopback", "ether", ... */
  linkType: string;
  mac: string;
  mtu: number;
  up: boolean;
  /** The bridge (or bond) this interface is enslaved to. */
  master?: string;
}

/** One address from `ip -j addr show`. */
export interface AddressInfo {
  device: string;
  family: IpFamily;
  /** Address with prefix length, for example "10.77.0.1/24". */
  cidr: string;
  subnet: Subnet;
  scope: string;
}

/** One route from `ip -j -4|-6 route show table all`. */
export interface RouteInfo {
  subnet: Subnet;
  /** "unicast" unless the route says otherwise ("local", "broadcast", "blackhole", ...). */
  type: string;
  /** "kernel", "boot", "static", "ra", ... */
  protocol: string;
  /** Every device the route leaves by: its own and those of its nexthops. */
  devices: string[];
  table: string;
}

function parseJsonArray(text: string, command: string): Array<Record<string, any>> {
  const value: unknown = JSON.parse(text === "" ? "[]" : text);
  if (!Array.isArray(value)) {
    throw new Error(`${command} printed JSON that is not an array`);
  }
  return value as Array<Record<string, any>>;
}

/** Parses `ip -j -d link show`, or `ip -j -d addr show`, which has the same link fields. */
export function parseLinks(json: string): LinkInfo[] {
  return parseJsonArray(json, "ip -j -d link show").map((link) => ({
    name: String(link.ifname),
    index: Number(link.ifindex),
    kind: typeof link.linkinfo?.info_kind === "string" ? link.linkinfo.info_kind : "",
    linkType: String(link.link_type ?? ""),
    mac: String(link.address ?? ""),
    mtu: Number(link.mtu ?? 0),
    up: link.operstate === "UP" || (link.operstate === "UNKNOWN" && (link.flags ?? []).includes("LOWER_UP")),
    master: typeof link.master === "string" ? link.master : undefined,
  }));
}

/** Parses `ip -j addr show`. */
export function parseAddresses(json: string): AddressInfo[] {
  const addresses: AddressInfo[] = [];
  for (const link of parseJsonArray(json, "ip -j addr show")) {
    for (const info of link.addr_info ?? []) {
      if (info.family !== "inet" && info.family !== "inet6") {
        continue;
      }
      const cidr = `${info.local}/${info.prefixlen}`;
      const parsed = parseCidr(cidr);
      if (parsed === undefined) {
        continue;
      }
      addresses.push({
        device: String(link.ifname),
        family: parsed.address.family,
        cidr,
        subnet: subnetContaining(parsed.address, parsed.prefixLength),
        scope: String(info.scope ?? ""),
      });
    }
  }
  return addresses;
}

/** Parses `ip -j -4 route show table all` or its -6 form; `family` says which, because "default" carries no family. */
export function parseRoutes(json: string, family: IpFamily): RouteInfo[] {
  const routes: RouteInfo[] = [];
  for (const route of parseJsonArray(json, "ip -j route show")) {
    const dst = String(route.dst ?? "");
    const cidr = dst === "default" ? (family === 4 ? "0.0.0.0/0" : "::/0") : dst;
    const parsed = parseCidr(cidr, "host");
    if (parsed === undefined || parsed.address.family !== family) {
      continue;
    }

    const devices = new Set<string>();
    if (typeof route.dev === "string") {
      devices.add(route.dev);
    }
    for (const nexthop of route.nexthops ?? []) {
      if (typeof nexthop.dev === "string") {
        devices.add(nexthop.dev);
      }
    }
    routes.push({
      subnet: subnetContaining(parsed.address, parsed.prefixLength),
      type: String(route.type ?? "unicast"),
      protocol: String(route.protocol ?? ""),
      devices: [...devices],
      table: String(route.table ?? "main"),
    });
  }
  return routes;
}
