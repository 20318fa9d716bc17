import {
  Connectivity as ProtoConnectivity,
  DhcpSource,
  Network as ProtoNetwork,
  NetworkType,
} from "@netagent/proto";

import type { Connectivity, Network, NetworkKind, NetworkSpecInput } from "../networks/model";

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

const DHCP_SOURCE: Record<Connectivity["dhcpSource"], DhcpSource> = {
  none: DhcpSource.DHCP_SOURCE_NONE,
  libvirt: DhcpSource.DHCP_SOURCE_LIBVIRT,
  lan: DhcpSource.DHCP_SOURCE_LAN,
};

/** Maps a proto NetworkType to the model's kind; undefined for UNSPECIFIED and unknown values. */
export function kindFromProto(type: NetworkType): NetworkKind | undefined {
  return KIND_BY_TYPE.get(type);
}

/** Maps a requested proto Network to the model's input, ignoring output-only fields. */
export function specInputFromProto(network: ProtoNetwork): NetworkSpecInput {
  return {
    name: network.name,
    type: kindFromProto(network.type),
    bridge: network.bridge,
    ipv4: network.ipv4 && {
      address: network.ipv4.address,
      dhcpRanges: network.ipv4.dhcpRanges.map((r) => ({ start: r.start, end: r.end })),
    },
    autostart: network.autostart,
  };
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
    type: TYPE_BY_KIND.get(network.type) ?? NetworkType.NETWORK_TYPE_UNSPECIFIED,
    bridge: network.bridge,
    ipv4: network.ipv4 && {
      address: `${network.ipv4.address}/${network.ipv4.prefixLength}`,
      dhcpRanges: network.ipv4.dhcpRanges.map((r) => ({ start: r.start, end: r.end })),
    },
    autostart: network.autostart,
    active: network.active,
    persistent: network.persistent,
    connectivity,
  };
}
