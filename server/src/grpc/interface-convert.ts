import {
  Connectivity as ProtoConnectivity,
  DetachState as ProtoDetachState,
  DhcpSource,
  Interface as ProtoInterface,
  LinkState as ProtoLinkState,
} from "@netagent/proto";

import type { DetachState, GuestInterface, LinkState } from "../interfaces/model";
import type { Connectivity } from "../networks/model";

const DHCP_SOURCE: Record<Connectivity["dhcpSource"], DhcpSource> = {
  none: DhcpSource.DHCP_SOURCE_NONE,
  libvirt: DhcpSource.DHCP_SOURCE_LIBVIRT,
  lan: DhcpSource.DHCP_SOURCE_LAN,
};

const DETACH_STATE: Record<DetachState, ProtoDetachState> = {
  detached: ProtoDetachState.DETACH_STATE_DETACHED,
  "already-absent": ProtoDetachState.DETACH_STATE_ALREADY_ABSENT,
  pending: ProtoDetachState.DETACH_STATE_PENDING,
};

/** Maps a proto LinkState to the model; undefined for UNSPECIFIED and unknown values. */
export function linkStateFromProto(state: ProtoLinkState): LinkState | undefined {
  switch (state) {
    case ProtoLinkState.LINK_STATE_UP:
      return "up";
    case ProtoLinkState.LINK_STATE_DOWN:
      return "down";
    default:
      return undefined;
  }
}

export function interfaceToProto(guestInterface: GuestInterface): ProtoInterface {
  return {
    domain: guestInterface.domain,
    macAddress: guestInterface.macAddress,
    network: guestInterface.network,
    type: guestInterface.type,
    model: guestInterface.model,
    alias: guestInterface.alias,
    tapDevice: guestInterface.tapDevice,
    linkState: guestInterface.linkState === "down" ? ProtoLinkState.LINK_STATE_DOWN : ProtoLinkState.LINK_STATE_UP,
    live: guestInterface.live,
    persistent: guestInterface.persistent,
    addresses: guestInterface.addresses.map((address) => ({ address })),
    dhcpSource: guestInterface.dhcpSource === undefined ? DhcpSource.DHCP_SOURCE_UNSPECIFIED : DHCP_SOURCE[guestInterface.dhcpSource],
    addressesNote: guestInterface.addressesNote,
  };
}

export function connectivityToProto(connectivity: Connectivity): ProtoConnectivity {
  return {
    hostReachesGuests: connectivity.hostReachesGuests,
    guestsReachOutside: connectivity.guestsReachOutside,
    dhcpSource: DHCP_SOURCE[connectivity.dhcpSource],
  };
}

export function detachStateToProto(state: DetachState): ProtoDetachState {
  return DETACH_STATE[state];
}
