// The agent's model of guest interfaces (libvirt domain NICs), independent of
// gRPC and of XML.

import type { Connectivity } from "../networks/model";

export type LinkState = "up" | "down";

/** A guest interface merged from the running domain and its persistent definition. */
export interface GuestInterface {
  domain: string;
  /** Lowercase, for example "52:54:00:12:34:56". */
  macAddress: string;
  /** The libvirt network, or "" when the interface is of another type. */
  network: string;
  /** libvirt's interface type: "network", "bridge", "direct", ... */
  type: string;
  /** Device model, for example "virtio"; "" when libvirt reports none. */
  model: string;
  /** Device alias in the running domain, for example "net0"; "" when not live. */
  alias: string;
  /** Host-side device, for example "vnet3"; "" when not live. */
  tapDevice: string;
  linkState: LinkState;
  live: boolean;
  persistent: boolean;
  /** Addresses in CIDR notation, from the DHCP leases of libvirt's network. */
  addresses: string[];
  /** Source of addresses on the interface's network; undefined when it is not on a libvirt network that exists. */
  dhcpSource: Connectivity["dhcpSource"] | undefined;
  /** Reason that addresses is empty and where to look instead; "" when addresses is not empty. */
  addressesNote: string;
}

/**
 * Views of a domain that a request changes. Undefined means the default:
 * the running domain when it runs, the persistent definition when it has one.
 */
export interface ViewSelection {
  live?: boolean;
  persistent?: boolean;
}

/** Finds an interface by exactly one of its MAC address and its alias. */
export interface InterfaceSelector {
  macAddress?: string;
  alias?: string;
}

export interface AttachRequest extends ViewSelection {
  domain: string;
  network: string;
  /** Generated in the 52:54:00 range when empty. */
  macAddress?: string;
  /** Defaults to "virtio". */
  model?: string;
  /** Defaults to "up". */
  linkState?: LinkState;
}

export interface AttachResult {
  interface: GuestInterface;
  /** The network's connectivity facts. */
  connectivity: Connectivity;
  /** Facts about the new interface that callers tend to miss. */
  warnings: string[];
}

export interface DetachRequest extends ViewSelection, InterfaceSelector {
  domain: string;
  /** How long to wait for the guest to release the device. Defaults to DEFAULT_DETACH_TIMEOUT_SECONDS. */
  timeoutSeconds?: number;
}

export type DetachState = "detached" | "already-absent" | "pending";

export interface DetachResult {
  state: DetachState;
  /** The interface before the detach; undefined when it was already absent. */
  interface?: GuestInterface;
}

export interface UpdateRequest extends ViewSelection, InterfaceSelector {
  domain: string;
  linkState?: LinkState;
}

/** Filter for InterfaceManager.list. */
export interface InterfaceFilter {
  /** Only this domain; every domain when undefined or "". */
  domain?: string;
  /** Only interfaces on this libvirt network; all when undefined or "". */
  network?: string;
}

export const DEFAULT_DETACH_TIMEOUT_SECONDS = 10;
export const MAX_DETACH_TIMEOUT_SECONDS = 300;
export const DEFAULT_MODEL = "virtio";
