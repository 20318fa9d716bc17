import type { Connectivity, NetworkSpec } from "./model";

/**
 * Derives what guests on a network can reach from its type and spec, so that
 * callers never have to remember libvirt's forward modes.
 */
export function connectivityOf(spec: Pick<NetworkSpec, "type" | "ipv4" | "ipv6">): Connectivity {
  const servesDhcp = [spec.ipv4, spec.ipv6].some((ip) => ip !== undefined && (ip.dhcpRanges.length > 0 || ip.dhcpHosts.length > 0));
  const libvirtDhcp = servesDhcp ? "libvirt" : "none";

  switch (spec.type) {
    case "nat":
    case "routed":
    case "open":
      return { hostReachesGuests: true, guestsReachOutside: true, dhcpSource: libvirtDhcp };
    case "isolated":
      return { hostReachesGuests: true, guestsReachOutside: false, dhcpSource: libvirtDhcp };
    case "very-isolated":
      return { hostReachesGuests: false, guestsReachOutside: false, dhcpSource: "none" };
    case "bridge":
      return { hostReachesGuests: true, guestsReachOutside: true, dhcpSource: "lan" };
    case "macvtap":
      // macvtap passes guest frames straight to the uplink's driver, so
      // traffic between the host and its own macvtap guests never meets.
      return { hostReachesGuests: false, guestsReachOutside: true, dhcpSource: "lan" };
  }
}
