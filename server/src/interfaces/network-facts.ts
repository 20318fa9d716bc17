import { LibvirtClient, LibvirtError } from "../libvirt";
import { connectivityOf } from "../networks/connectivity";
import type { Connectivity, NetworkKind } from "../networks/model";
import { parseNetworkXml } from "../networks/xml";

/** Facts about the libvirt network an interface connects to. */
export interface NetworkFacts {
  name: string;
  type: NetworkKind;
  active: boolean;
  connectivity: Connectivity;
}

/** Reads a network's type, state and connectivity; undefined when no network has that name. */
export async function readNetworkFacts(libvirt: LibvirtClient, name: string): Promise<NetworkFacts | undefined> {
  try {
    const ref = await libvirt.networkLookupByName(name);
    const [active, xml] = await Promise.all([libvirt.networkIsActive(ref), libvirt.networkGetXmlDesc(ref, 0)]);
    const parsed = parseNetworkXml(xml);
    return { name, type: parsed.type, active, connectivity: connectivityOf(parsed) };
  } catch (error) {
    if (error instanceof LibvirtError && error.isNoNetwork()) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Returns facts about a new interface on this network that callers tend to
 * miss: above all that the host cannot reach guests on some network types.
 */
export function attachWarnings(network: NetworkFacts): string[] {
  if (network.connectivity.hostReachesGuests) {
    return [];
  }
  const name = `'${network.name}'`;
  switch (network.type) {
    case "macvtap":
      return [
        `the host cannot reach this guest through network ${name}: macvtap passes the guest's traffic straight to the uplink, ` +
          "so it never meets the host's own stack; reach the guest from another machine on the LAN, or attach a second interface " +
          "on a NAT or ISOLATED network for host-to-guest traffic",
      ];
    case "very-isolated":
      return [
        `the host cannot reach this guest through network ${name}: the network's bridge has no host address, ` +
          "so only guests on the same network can reach it",
      ];
    default:
      return [`the host cannot reach this guest through network ${name}`];
  }
}

/**
 * Explains why an interface lists no addresses and where they can be found,
 * from where the network's guests get their addresses.
 */
export function addressesNote(network: NetworkFacts): string {
  const name = `'${network.name}'`;
  switch (network.connectivity.dhcpSource) {
    case "libvirt":
      return `no DHCP lease yet: the guest has not obtained an address from libvirt's DHCP server on network ${name}`;
    case "lan":
      return (
        `addresses on network ${name} come from the LAN's DHCP server, whose leases libvirt cannot see; ` +
        "ask that server, or read the address inside the guest"
      );
    case "none":
      return `network ${name} runs no DHCP server, so the guest needs a static address, which libvirt cannot see`;
  }
}
