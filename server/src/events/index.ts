// The event stream: network changes from the network sync and interface
// changes from libvirt's domain device events, delivered to watchers.

import type { LibvirtLogger } from "../libvirt";
import type { LibvirtSession } from "../libvirt/session";
import type { NetworkSync } from "../networks/sync";
import { EventHub, EventHubOptions } from "./hub";
import { InterfaceEventSource } from "./interface-events";
import { resyncMarker } from "./model";

export { EventFilter, matchesFilter, validateEventFilter } from "./filter";
export { DEFAULT_MAX_QUEUED_EVENTS, EventHub, EventHubOptions, Watcher } from "./hub";
export { AgentEvent, InterfaceChange, InterfaceChangeType, ResyncReason } from "./model";

/**
 * Creates the hub that watchers read from and feeds it: network changes and
 * resync markers from the network sync, interface changes from libvirt's
 * domain device events (registered on every connect of the session).
 */
export function createEventStream(options: {
  session: LibvirtSession;
  sync: NetworkSync;
  logger: LibvirtLogger;
  hub?: EventHubOptions;
}): EventHub {
  const hub = new EventHub(options.hub);

  options.sync.on("change", (change) => hub.publish({ kind: "network", time: new Date(), change }));
  options.sync.on("resync", (reason, changes) => {
    if (reason === "reconnected") {
      hub.publish(resyncMarker("libvirt-reconnected", "the agent reconnected to libvirtd and read every network again; events in between were lost"));
    } else if (reason === "events-dropped") {
      hub.publish(resyncMarker("events-dropped", "the agent dropped libvirt network events and read every network again"));
    }
    // A periodic read loses nothing, so it only reports the differences it found.
    for (const change of changes) {
      hub.publish({ kind: "network", time: new Date(), change });
    }
  });

  new InterfaceEventSource(options.session, (change) => hub.publish({ kind: "interface", time: new Date(), change }), options.logger);
  return hub;
}
