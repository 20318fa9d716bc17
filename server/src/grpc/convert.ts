import {
  Connectivity as ProtoConnectivity,
  DhcpSource,
  DnsConfig as ProtoDnsConfig,
  Ipv4Config as ProtoIpConfig,
  MacvtapMode as ProtoMacvtapMode,
  Network as ProtoNetwork,
  NetworkType,
} from "@netagent/proto";

import type { Connectivity, DnsConfig, IpConfig, IpConfigInput, MacvtapMode, Network, NetworkKind, NetworkSpecInput } from "../networks/model";

const KIND_BY_TYPE = new Map<NetworkType, NetworkKind>([
  [NetworkType.NETWORK_TYPE_NAT, "nat"],
  [NetworkType.NETWORK_TYPE_ISOLATED, "isolated"],
  [NetworkType.NETWORK_TYPE_VERY_ISOLATED, "very-isolated"],
  [NetworkType.NETWORK_TYPE_BRIDGE, "bridge"],
  [NetworkType.NETWORK_TYPE_MACVTAP, "macvtap"],
  [NetworkType.NETWORK_TYPE_ROUTED, "routed"],
  [NetworkType.NETWORK_TYPE_OPEN, "open"],
]);

const TYPE_BY_KIND = new Map<NetworkKind, NetworkType>([...KIND_BY_TYPE].map(([type, kind]) => [kind, type]));

const MODE_BY_PROTO = new Map<ProtoMacvtapMode, MacvtapMode>([
  [ProtoMacvtapMode.MACVTAP_MODE_BRIDGE, "bridge"],
  [ProtoMacvtapMode.MACVTAP_MODE_VEPA, "vepa"],
  [ProtoMacvtapMode.MACVTAP_MODE_PRIVATE, "private"],
  [ProtoMacvtapMode.MACVTAP_MODE_PASSTHROUGH, "passthrough"],
]);

const PROTO_BY_MODE = new Map<MacvtapMode, ProtoMacvtapMode>([...MODE_BY_PROTO].map(([proto, mode]) => [mode, proto]));

const DHCP_SOURCE: Record<Connectivity["dhcpSource"], DhcpSource> = {
  none: DhcpSource.DHCP_SOURCE_NONE,
  libvirt: DhcpSource.DHCP_SOURCE_LIBVIRT,
  lan: DhcpSource.DHCP_SOURCE_LAN,
};

/** Maps a proto NetworkType to the model's kind; undefined for UNSPECIFIED and unknown values. */
export function kindFromProto(type: NetworkType): NetworkKind | undefined {
  return KIND_BY_TYPE.get(type);
}

/** Maps a model kind to its proto NetworkType. */
export function kindToProto(kind: NetworkKind): NetworkType {
  return TYPE_BY_KIND.get(kind) ?? NetworkType.NETWORK_TYPE_UNSPECIFIED;
}

/** Maps a DHCP source of the model to its proto enum. */
export function dhcpSourceToProto(source: Connectivity["dhcpSource"]): DhcpSource {
  return DHCP_SOURCE[source];
}

function ipInputFromProto(config: ProtoIpConfig | undefined): IpConfigInput | undefined {
  return (
    config && {
      address: config.address,
      dhcpRanges: config.dhcpRanges.map((r) => ({ start: r.start, end: r.end })),
      dhcpHosts: config.dhcpHosts.map((h) => ({ mac: h.mac, ip: h.ip, hostname: h.hostname })),
    }
  );
}

/** Maps a requested proto Network to the model's input, ignoring output-only fields. Zero values mean "not set". */
export function specInputFromProto(network: ProtoNetwork): NetworkSpecInput {
  return {
    name: network.name,
    type: kindFromProto(network.type),
    bridge: network.bridge,
    ipv4: ipInputFromProto(network.ipv4),
    ipv6: ipInputFromProto(network.ipv6),
    dns: network.dns && {
      enabled: network.dns.enabled,
      domain: network.dns.domain,
      hosts: network.dns.hosts.map((h) => ({ ip: h.ip, hostnames: [...h.hostnames] })),
      forwarders: network.dns.forwarders.map((f) => ({ address: f.address, domain: f.domain })),
    },
    mtu: network.mtu,
    stp: network.stp,
    forwardDelaySeconds: network.forwardDelaySeconds,
    hostBridge: network.hostBridge,
    uplink: network.uplink,
    macvtapMode: MODE_BY_PROTO.get(network.macvtapMode),
    autostart: network.autostart,
  };
}

function ipToProto(config: IpConfig | undefined): ProtoIpConfig | undefined {
  return (
    config && {
      address: `${config.address}/${config.prefixLength}`,
      dhcpRanges: config.dhcpRanges.map((r) => ({ start: r.start, end: r.end })),
      dhcpHosts: config.dhcpHosts.map((h) => ({ mac: h.mac, ip: h.ip, hostname: h.hostname })),
    }
  );
}

function dnsToProto(dns: DnsConfig | undefined): ProtoDnsConfig | undefined {
  return (
    dns && {
      enabled: dns.enabled,
      domain: dns.domain,
      hosts: dns.hosts.map((h) => ({ ip: h.ip, hostnames: [...h.hostnames] })),
      forwarders: dns.forwarders.map((f) => ({ address: f.address, domain: f.domain })),
    }
  );
}

/** Maps a model Network to its proto message. */
export function networkToProto(network: Network): ProtoNetwork {
  const connectivity: ProtoConnectivity = {
    hostReachesGuests: network.connectivity.hostReachesGuests,
    guestsReachOutside: network.connectivity.guestsReachOutside,
    dhcpSource: DHCP_SOURCE[network.connectivity.dhcpSource],
  };
  return {
    name: network.name,
    uuid: network.uuid,
    type: kindToProto(network.type),
    bridge: network.bridge,
    ipv4: ipToProto(network.ipv4),
    ipv6: ipToProto(network.ipv6),
    dns: dnsToProto(network.dns),
    mtu: network.mtu,
    stp: network.stp,
    forwardDelaySeconds: network.forwardDelaySeconds ?? 0,
    hostBridge: network.hostBridge ?? "",
    uplink: network.uplink ?? "",
    macvtapMode: network.macvtapMode ? (PROTO_BY_MODE.get(network.macvtapMode) ?? ProtoMacvtapMode.MACVTAP_MODE_UNSPECIFIED) : ProtoMacvtapMode.MACVTAP_MODE_UNSPECIFIED,
    autostart: network.autostart,
    active: network.active,
    persistent: network.persistent,
    connectivity,
    pendingRestartFields: network.pendingRestartFields ?? [],
  };
}
