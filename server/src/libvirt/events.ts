// Typed registration for libvirt's network and domain events.
//
// libvirtd delivers an event only to callbacks that the connection
// registered (CONNECT_NETWORK_EVENT_REGISTER_ANY or
// CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY). Each registration returns a
// callback id, and every event message starts with the id of the callback it
// is for. Network and domain callbacks are counted separately, so both
// families can hand out id 1: an event is matched by its procedure and its
// callback id together.
//
// Registrations belong to one connection. After a reconnect they must be made
// again, and events that happened in between are lost.

import type { LibvirtClient } from "./client";
import { LibvirtConnectionError } from "./errors";
import { DomainEventId, NetworkEventId, RemoteProcedure } from "./protocol";
import { DomainRef, NetworkRef, readDomainRef, readNetworkRef, writeDomainRef, writeNetworkRef } from "./structs";
import { XdrReader, XdrWriter } from "./xdr";

/** A network lifecycle event (NETWORK_EVENT_LIFECYCLE, procedure 315). */
export interface NetworkLifecycleMessage {
  callbackId: number;
  network: NetworkRef;
  /** virNetworkEventLifecycleType: NetworkLifecycleMessage.DEFINED, UNDEFINED, STARTED or STOPPED. */
  event: number;
  detail: number;
}

/** A domain lifecycle event (DOMAIN_EVENT_CALLBACK_LIFECYCLE, procedure 318). */
export interface DomainLifecycleMessage {
  callbackId: number;
  domain: DomainRef;
  /** virDomainEventType, for example DomainLifecycleMessage.STARTED. */
  event: number;
  detail: number;
}

/** A device of a running domain was added, removed, or could not be removed (procedures 354, 333 and 367). */
export interface DomainDeviceMessage {
  callbackId: number;
  domain: DomainRef;
  /** The device's alias in the live domain XML, for example "net0" or a user alias "ua-...". */
  alias: string;
}

/** Receives one event. A returned promise delays the next event of this registration. */
export type EventListener<T> = (event: T) => void | Promise<void>;

/** A callback registered in libvirtd. */
export interface EventRegistration {
  /** The id libvirtd gave the callback, unique within its family (network or domain) on this connection. */
  readonly callbackId: number;
  /**
   * Stops delivery and deregisters the callback in libvirtd. On a closed
   * connection only delivery stops, because libvirtd dropped the callback
   * with the connection.
   */
  deregister(): Promise<void>;
}

/** Options for an event registration. */
export interface RegisterOptions {
  /**
   * Called when events were dropped because the listener fell more than the
   * connection's maxQueuedMessages behind. The listener has then missed
   * events and should read the current state again.
   */
  onDropped?: (count: number) => void;
}

interface EventFamily {
  register: number;
  deregister: number;
}

const NETWORK_FAMILY: EventFamily = {
  register: RemoteProcedure.CONNECT_NETWORK_EVENT_REGISTER_ANY,
  deregister: RemoteProcedure.CONNECT_NETWORK_EVENT_DEREGISTER_ANY,
};

const DOMAIN_FAMILY: EventFamily = {
  register: RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
  deregister: RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
};

/**
 * Registers for lifecycle events of every network, or of one network when
 * `network` is given.
 */
export function registerNetworkLifecycleEvents(
  client: LibvirtClient,
  listener: EventListener<NetworkLifecycleMessage>,
  options: RegisterOptions & { network?: NetworkRef } = {},
): Promise<EventRegistration> {
  const args = new XdrWriter().writeInt(NetworkEventId.LIFECYCLE).writeOptional(options.network, writeNetworkRef).finish();
  return register(client, NETWORK_FAMILY, args, RemoteProcedure.NETWORK_EVENT_LIFECYCLE, readNetworkLifecycle, listener, options);
}

/** Registers for lifecycle events of every domain, or of one domain when `domain` is given. */
export function registerDomainLifecycleEvents(
  client: LibvirtClient,
  listener: EventListener<DomainLifecycleMessage>,
  options: RegisterOptions & { domain?: DomainRef } = {},
): Promise<EventRegistration> {
  const args = domainRegisterArgs(DomainEventId.LIFECYCLE, options.domain);
  return register(client, DOMAIN_FAMILY, args, RemoteProcedure.DOMAIN_EVENT_CALLBACK_LIFECYCLE, readDomainLifecycle, listener, options);
}

/** The three device events of running domains that a registration can select. */
export type DomainDeviceEventKind = "added" | "removed" | "removal-failed";

const DEVICE_EVENTS: Record<DomainDeviceEventKind, { eventId: number; procedure: number }> = {
  added: { eventId: DomainEventId.DEVICE_ADDED, procedure: RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_ADDED },
  removed: { eventId: DomainEventId.DEVICE_REMOVED, procedure: RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED },
  "removal-failed": {
    eventId: DomainEventId.DEVICE_REMOVAL_FAILED,
    procedure: RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED,
  },
};

/**
 * Registers for one kind of device event of every domain, or of one domain
 * when `domain` is given. libvirt reports hot-plugged devices as "added",
 * and "removed" only once the guest has released the device.
 */
export function registerDomainDeviceEvents(
  client: LibvirtClient,
  kind: DomainDeviceEventKind,
  listener: EventListener<DomainDeviceMessage>,
  options: RegisterOptions & { domain?: DomainRef } = {},
): Promise<EventRegistration> {
  const { eventId, procedure } = DEVICE_EVENTS[kind];
  return register(client, DOMAIN_FAMILY, domainRegisterArgs(eventId, options.domain), procedure, readDomainDevice, listener, options);
}

function domainRegisterArgs(eventId: number, domain: DomainRef | undefined): Buffer {
  return new XdrWriter().writeInt(eventId).writeOptional(domain, writeDomainRef).finish();
}

/**
 * Subscribes to the event procedure first and registers the callback second,
 * so that no event can arrive before its listener exists. libvirtd may send
 * an event before the reply that carries the callback id, so delivery waits
 * for that reply and then keeps only the events with this callback id.
 */
async function register<T extends { callbackId: number }>(
  client: LibvirtClient,
  family: EventFamily,
  args: Buffer,
  procedure: number,
  read: (reader: XdrReader) => T,
  listener: EventListener<T>,
  options: RegisterOptions,
): Promise<EventRegistration> {
  let resolveCallbackId: (id: number | undefined) => void = () => undefined;
  const callbackIdKnown = new Promise<number | undefined>((resolve) => (resolveCallbackId = resolve));

  const subscription = client.subscribe(
    procedure,
    async (payload) => {
      const callbackId = await callbackIdKnown;
      // Every event message starts with its callback id, so events of other
      // registrations are skipped without decoding the rest.
      if (callbackId === undefined || new XdrReader(payload).readInt() !== callbackId) {
        return;
      }
      const reader = new XdrReader(payload);
      const event = read(reader);
      reader.expectEnd();
      await listener(event);
    },
    { onDropped: options.onDropped },
  );

  let callbackId: number;
  try {
    const reply = await client.call(family.register, args);
    const reader = new XdrReader(reply);
    callbackId = reader.readInt();
    reader.expectEnd();
  } catch (error) {
    resolveCallbackId(undefined);
    subscription.unsubscribe();
    throw error;
  }
  resolveCallbackId(callbackId);

  let deregistered = false;
  return {
    callbackId,
    async deregister() {
      if (deregistered) {
        return;
      }
      deregistered = true;
      subscription.unsubscribe();
      try {
        await client.call(family.deregister, new XdrWriter().writeInt(callbackId).finish());
      } catch (error) {
        if (!(error instanceof LibvirtConnectionError)) {
          throw error;
        }
      }
    },
  };
}

function readNetworkLifecycle(reader: XdrReader): NetworkLifecycleMessage {
  const callbackId = reader.readInt();
  const network = readNetworkRef(reader);
  const event = reader.readInt();
  const detail = reader.readInt();
  return { callbackId, network, event, detail };
}

// remote_domain_event_callback_lifecycle_msg nests remote_domain_event_lifecycle_msg,
// which XDR encodes inline: callback id, domain, event, detail.
function readDomainLifecycle(reader: XdrReader): DomainLifecycleMessage {
  const callbackId = reader.readInt();
  const domain = readDomainRef(reader);
  const event = reader.readInt();
  const detail = reader.readInt();
  return { callbackId, domain, event, detail };
}

// The device removed message nests { dom, devAlias } and the added and
// removal-failed messages list the same fields flat; both encode alike.
function readDomainDevice(reader: XdrReader): DomainDeviceMessage {
  const callbackId = reader.readInt();
  const domain = readDomainRef(reader);
  const alias = reader.readString();
  return { callbackId, domain, alias };
}
