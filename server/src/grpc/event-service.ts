import {
  EventServiceImplementation,
  EventSource,
  InterfaceEventType,
  NetworkEventType,
  ResyncReason,
  WatchEventsResponse,
} from "@netagent/proto";

import { AgentEvent, EventHub, InterfaceChangeType, ResyncReason as AgentResyncReason, validateEventFilter } from "../events";
import type { LibvirtSession } from "../libvirt/session";
import type { NetworkChangeSource, NetworkChangeType } from "../networks/cache";
import { networkToProto } from "./convert";

const NETWORK_EVENT_TYPE: Record<NetworkChangeType, NetworkEventType> = {
  defined: NetworkEventType.NETWORK_EVENT_TYPE_DEFINED,
  undefined: NetworkEventType.NETWORK_EVENT_TYPE_UNDEFINED,
  started: NetworkEventType.NETWORK_EVENT_TYPE_STARTED,
  stopped: NetworkEventType.NETWORK_EVENT_TYPE_STOPPED,
  updated: NetworkEventType.NETWORK_EVENT_TYPE_UPDATED,
};

const EVENT_SOURCE: Record<NetworkChangeSource, EventSource> = {
  libvirt: EventSource.EVENT_SOURCE_LIBVIRT,
  agent: EventSource.EVENT_SOURCE_AGENT,
  resync: EventSource.EVENT_SOURCE_RESYNC,
};

const INTERFACE_EVENT_TYPE: Record<InterfaceChangeType, InterfaceEventType> = {
  attached: InterfaceEventType.INTERFACE_EVENT_TYPE_ATTACHED,
  detached: InterfaceEventType.INTERFACE_EVENT_TYPE_DETACHED,
  "detach-failed": InterfaceEventType.INTERFACE_EVENT_TYPE_DETACH_FAILED,
};

const RESYNC_REASON: Record<AgentResyncReason, ResyncReason> = {
  "watch-started": ResyncReason.RESYNC_REASON_WATCH_STARTED,
  "libvirt-reconnected": ResyncReason.RESYNC_REASON_LIBVIRT_RECONNECTED,
  "events-dropped": ResyncReason.RESYNC_REASON_EVENTS_DROPPED,
};

/**
 * Implements netagent.v1.EventService on top of the event hub. Every watcher
 * of one event gets the same message object, so that withEncodeOnce encodes
 * it once for all of them.
 */
export function eventService(hub: EventHub, session: LibvirtSession): EventServiceImplementation {
  const messages = new WeakMap<AgentEvent, WatchEventsResponse>();
  const sharedMessage = (event: AgentEvent): WatchEventsResponse => {
    let message = messages.get(event);
    if (message === undefined) {
      message = eventToProto(event);
      messages.set(event, message);
    }
    return message;
  };

  return {
    async *watchEvents(request, context) {
      const filter = { network: request.network, domain: request.domain };
      validateEventFilter(filter);
      // While libvirtd is unreachable no event can arrive, so the caller learns that at once.
      await session.client();

      // One listener for the whole watch, not one per event: the abort
      // closes the watcher, whose next() then returns undefined.
      const watcher = hub.watch(filter);
      const stop = () => watcher.close();
      context.signal.addEventListener("abort", stop, { once: true });
      try {
        for (;;) {
          const event = context.signal.aborted ? undefined : await watcher.next();
          if (event === undefined) {
            return;
          }
          yield sharedMessage(event);
        }
      } finally {
        context.signal.removeEventListener("abort", stop);
        watcher.close();
      }
    },
  };
}

/** Maps an event to its proto message. */
export function eventToProto(event: AgentEvent): WatchEventsResponse {
  switch (event.kind) {
    case "network": {
      const { change } = event;
      return {
        observeTime: event.time,
        event: {
          $case: "network",
          value: {
            type: NETWORK_EVENT_TYPE[change.type],
            name: change.name,
            uuid: change.uuid,
            network: change.network && networkToProto(change.network),
            source: EVENT_SOURCE[change.source],
          },
        },
      };
    }
    case "interface": {
      const { change } = event;
      return {
        observeTime: event.time,
        event: {
          $case: "interface",
          value: {
            type: INTERFACE_EVENT_TYPE[change.type],
            domain: change.domain,
            domainUuid: change.domainUuid,
            alias: change.alias,
            macAddress: change.mac ?? "",
            network: change.network ?? "",
          },
        },
      };
    }
    case "resync":
      return {
        observeTime: event.time,
        event: { $case: "resync", value: { reason: RESYNC_REASON[event.reason], message: event.message } },
      };
  }
}
