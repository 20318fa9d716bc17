// The agent's model of a libvirt network, independent of gRPC and of XML.

/** The network types netagent manages; see connectivity.ts for what each means for guests. */
export type NetworkKind = "nat" | "isolated" | "very-isolated" | "bridge" | "macvtap" | "routed" | "open";

/** Kinds that CreateNetwork accepts: all of them. */
export const CREATABLE_KINDS: readonly NetworkKind[] = ["nat", "isolated", "very-isolated", "bridge", "macvtap", "routed", "open"];

/** Kinds whose bridge libvirt creates and which may carry host addresses, DHCP and DNS. */
export const MANAGED_BRIDGE_KINDS: readonly NetworkKind[] = ["nat", "isolated", "very-isolated", "routed", "open"];

/** How MACVTAP guests share their uplink; libvirt's forward modes for direct connections. */
export type MacvtapMode = "bridge" | "vepa" | "private" | "passthrough";

export const MACVTAP_MODES: readonly MacvtapMode[] = ["bridge", "vepa", "private", "passthrough"];

/** An inclusive range of addresses handed out by DHCP. */
export interface DhcpRange {
  start: string;
  end: string;
}

/** A static DHCP assignment. IPv4 hosts are matched by MAC, IPv6 hosts by name. */
export interface DhcpHost {
  /** Lowercase MAC address; empty for IPv6 hosts. */
  mac: string;
  ip: string;
  /** Empty when the host gets no name. */
  hostname: string;
}

/** The host side of one subnet: the bridge address, DHCP ranges and static hosts. */
export interface IpConfig {
  /** Host address on the bridge, without prefix, in canonical form ("10.77.0.1", "2001:db8:1::1"). */
  address: string;
  prefixLength: number;
  dhcpRanges: DhcpRange[];
  dhcpHosts: DhcpHost[];
}

/** A name that dnsmasq resolves to a fixed address. */
export interface DnsHost {
  ip: string;
  hostnames: string[];
}

/** An upstream DNS server, for every query or for one domain; an empty address resolves the domain locally. */
export interface DnsForwarder {
  address: string;
  domain: string;
}

/** DNS served by libvirt's dnsmasq. A spec leaves it undefined when every value is the default. */
export interface DnsConfig {
  enabled: boolean;
  /** Empty when the network has no DNS domain. */
  domain: string;
  hosts: DnsHost[];
  forwarders: DnsForwarder[];
}

/** The host side of an IP subnet as the caller writes it, before validation. */
export interface IpConfigInput {
  /** Host address in CIDR notation, for example "10.77.0.1/24". */
  address: string;
  dhcpRanges: DhcpRange[];
  dhcpHosts?: Array<{ mac?: string; ip: string; hostname?: string }>;
}

/** A network as the caller asks for it, before validation and defaults. */
export interface NetworkSpecInput {
  name: string;
  type?: NetworkKind;
  bridge?: string;
  ipv4?: IpConfigInput;
  ipv6?: IpConfigInput;
  dns?: {
    enabled?: boolean;
    domain?: string;
    hosts?: DnsHost[];
    forwarders?: Array<{ address?: string; domain?: string }>;
  };
  /** 0 or undefined: the kernel's default. */
  mtu?: number;
  stp?: boolean;
  forwardDelaySeconds?: number;
  hostBridge?: string;
  uplink?: string;
  macvtapMode?: MacvtapMode;
  autostart?: boolean;
}

/** A validated network spec with every default filled in. */
export interface NetworkSpec {
  name: string;
  type: NetworkKind;
  /** The bridge libvirt creates; empty for BRIDGE and MACVTAP networks. */
  bridge: string;
  ipv4?: IpConfig;
  ipv6?: IpConfig;
  dns?: DnsConfig;
  /** Bridge MTU in bytes; 0 means the kernel's default. */
  mtu: number;
  /** STP and forward delay of the bridge libvirt creates; undefined for BRIDGE and MACVTAP. */
  stp?: boolean;
  forwardDelaySeconds?: number;
  /** BRIDGE: the existing host bridge. */
  hostBridge?: string;
  /** MACVTAP: the uplink guests attach to. NAT and ROUTED: the interface traffic must leave by. */
  uplink?: string;
  macvtapMode?: MacvtapMode;
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
  /**
   * Fields whose persistent definition differs from the running network, so
   * they change at its next start. Only on the running view; empty otherwise.
   */
  pendingRestartFields?: string[];
}
