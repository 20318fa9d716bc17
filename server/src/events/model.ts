// The events that watchers receive, independent of gRPC.

import type { NetworkChange } from "../networks/cache";

/** The kind of change to a guest's network interface. */
export type InterfaceChangeType = "attached" | "detached" | "detach-failed";

/** A change to one network interface of a running domain, from libvirt's domain device events. */
export interface InterfaceChange {
  type: InterfaceChangeType;
  domain: string;
  domainUuid: string;
  /** The device alias, for example "net1". */
  alias: string;
  /** The interface's MAC address; undefined when the domain's XML could not be read. */
  mac: string | undefined;
  /** The libvirt network the interface connects to; undefined when none or unknown. */
  network: string | undefined;
}

/**
 * Why a watcher may have missed events:
 * - watch-started: the first event of every watch, sent once the watch receives events;
 * - libvirt-reconnected: the agent reconnected to libvirtd and read every network again;
 * - events-dropped: the watcher or the agent's libvirt event queue fell too far behind.
 */
export type ResyncReason = "watch-started" | "libvirt-reconnected" | "events-dropped";

/** One event for watchers, with the time the agent observed it. */
export type AgentEvent =
  | { kind: "network"; time: Date; change: NetworkChange }
  | { kind: "interface"; time: Date; change: InterfaceChange }
  | { kind: "resync"; time: Date; reason: ResyncReason; message: string };

/** Builds a resync marker observed now. */
export function resyncMarker(reason: ResyncReason, message: string): AgentEvent {
  return { kind: "resync", time: new Date(), reason, message };
}
