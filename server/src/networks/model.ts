// The agent's model of a libvirt network, independent of gRPC and of XML.

/** The network types netagent manages; see connectivity.ts for what each means for guests. */
export type NetworkKind = "nat" | "isolated" | "very-isolated" | "bridge" | "macvtap" | "routed" | "open";

/** Kinds that CreateNetwork accepts. The others are only reported when found in libvirt. */
export const CREATABLE_KINDS: readonly NetworkKind[] = ["nat", "isolated", "very-isolated"];

/** An inclusive range of IPv4 addresses handed out by DHCP. */
export interface DhcpRange {
  start: string;
  end: string;
}

/** The host side of an IPv4 subnet: the bridge address and DHCP ranges. */
export interface Ipv4Config {
  /** Host address on the bridge, without prefix, for example "10.77.0.1". */
  address: string;
  prefixLength: number;
  dhcpRanges: DhcpRange[];
}

/** A network as the caller asks for it, before validation and defaults. */
export interface NetworkSpecInput {
  name: string;
  type?: NetworkKind;
  bridge?: string;
  ipv4?: {
    /** Host address in CIDR notation, for example "10.77.0.1/24". */
    address: string;
    dhcpRanges: DhcpRange[];
  };
  autostart?: boolean;
}

/** A validated network spec with every default filled in. */
export interface NetworkSpec {
  name: string;
  type: NetworkKind;
  bridge: string;
  ipv4?: Ipv4Config;
  autostart: boolean;
}

/** What guests on a network can reach. */
export interface Connectivity {
  hostReachesGuests: boolean;
  guestsReachOutside: boolean;
  dhcpSource: "none" | "libvirt" | "lan";
}

/** A network as libvirt reports it. */
export interface Network extends NetworkSpec {
  uuid: string;
  active: boolean;
  persistent: boolean;
  connectivity: Connectivity;
}
