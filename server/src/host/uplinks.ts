import type { HostInterface } from "./facts";

/** Kinds of interface that sit on a guest's side of a link, never on the LAN's. */
export const GUEST_SIDE_KINDS = new Set(["tun", "tap", "macvtap", "macvlan", "ipvtap", "ipvlan"]);

/**
 * True when an interface can be a network's uplink: not loopback, not a
 * bridge, not a guest's device and not a port of one of libvirt's bridges.
 * @param libvirtBridges the bridges of libvirt's networks, by name.
 */
export function isUplinkCandidate(host: HostInterface, libvirtBridges: ReadonlySet<string> | ReadonlyMap<string, unknown>): boolean {
  if (host.linkType === "loopback" || host.isBridge || GUEST_SIDE_KINDS.has(host.kind)) {
    return false;
  }
  // Ports of libvirt's own bridges are guest taps, never uplinks.
  return host.master === undefined || !libvirtBridges.has(host.master);
}
