import {
  DomainEventId,
  DomainRef,
  LibvirtClient,
  LibvirtConnectionError,
  MessageSubscription,
  readDomainRef,
  RemoteProcedure,
  writeDomainRef,
  XdrReader,
  XdrWriter,
} from "../libvirt";

/** Outcome of waiting for a device removal. */
export type RemovalOutcome = "removed" | "removal-failed" | "timed-out";

/**
 * Watches one domain for libvirt's DEVICE_REMOVED and DEVICE_REMOVAL_FAILED
 * events, so that a live detach can wait until the guest has released the
 * device. Open the watch before asking for the detach, so no event is missed,
 * and close it afterwards, because it keeps two event registrations on the connection.
 */
export class DeviceRemovalWatch {
  private readonly outcomes = new Map<string, RemovalOutcome>();
  private readonly waiters = new Set<() => void>();
  private readonly subscriptions: MessageSubscription[] = [];
  private removedCallbackId: number | undefined;
  private failedCallbackId: number | undefined;

  private constructor(
    private readonly libvirt: LibvirtClient,
    private readonly domain: DomainRef,
  ) {}

  /** Registers for both events on the domain. */
  static async open(libvirt: LibvirtClient, domain: DomainRef): Promise<DeviceRemovalWatch> {
    const watch = new DeviceRemovalWatch(libvirt, domain);

    // Subscribing first means an event can never arrive without a listener.
    watch.subscriptions.push(
      libvirt.subscribe(RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, (payload) => watch.record(payload, "removed")),
      libvirt.subscribe(RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED, (payload) => watch.record(payload, "removal-failed")),
    );
    try {
      watch.removedCallbackId = await register(libvirt, DomainEventId.DEVICE_REMOVED, domain);
      watch.failedCallbackId = await register(libvirt, DomainEventId.DEVICE_REMOVAL_FAILED, domain);
    } catch (error) {
      await watch.close();
      throw error;
    }
    return watch;
  }

  /**
   * Resolves when libvirt reports the device with this alias removed or its
   * removal failed, or with "timed-out" after `timeoutMs` or when `signal`
   * aborts, whichever comes first.
   */
  waitFor(alias: string, timeoutMs: number, signal?: AbortSignal): Promise<RemovalOutcome> {
    return new Promise((resolve) => {
      const finish = (outcome: RemovalOutcome) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.waiters.delete(check);
        resolve(outcome);
      };
      const check = () => {
        const outcome = this.outcomes.get(alias);
        if (outcome !== undefined) {
          finish(outcome);
        }
      };
      const onAbort = () => finish("timed-out");

      const timer = setTimeout(() => finish("timed-out"), timeoutMs);
      signal?.addEventListener("abort", onAbort);
      this.waiters.add(check);
      if (signal?.aborted) {
        onAbort();
        return;
      }
      check();
    });
  }

  /** Deregisters both events. Safe to call twice, and after the connection closed. */
  async close(): Promise<void> {
    for (const subscription of this.subscriptions.splice(0)) {
      subscription.unsubscribe();
    }
    const callbackIds = [this.removedCallbackId, this.failedCallbackId].filter((id): id is number => id !== undefined);
    this.removedCallbackId = undefined;
    this.failedCallbackId = undefined;

    for (const callbackId of callbackIds) {
      try {
        await this.libvirt.call(RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, new XdrWriter().writeInt(callbackId).finish());
      } catch (error) {
        // A lost connection took its registrations with it.
        if (!(error instanceof LibvirtConnectionError)) {
          throw error;
        }
      }
    }
  }

  /** Both events carry { callbackID int, dom remote_nonnull_domain, devAlias string }. */
  private record(payload: Buffer, outcome: RemovalOutcome): void {
    const reader = new XdrReader(payload);
    const callbackId = reader.readInt();
    const domain = readDomainRef(reader);
    const alias = reader.readString();

    const expectedId = outcome === "removed" ? this.removedCallbackId : this.failedCallbackId;
    if (callbackId !== expectedId || !domain.uuid.equals(this.domain.uuid)) {
      return;
    }
    this.outcomes.set(alias, outcome);
    for (const waiter of [...this.waiters]) {
      waiter();
    }
  }
}

/** Registers for one domain event id on one domain (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY) and returns the callback id. */
async function register(libvirt: LibvirtClient, eventId: number, domain: DomainRef): Promise<number> {
  const writer = new XdrWriter().writeInt(eventId);
  writer.writeOptional(domain, writeDomainRef);
  const reply = await libvirt.call(RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, writer.finish());
  const reader = new XdrReader(reply);
  const callbackId = reader.readInt();
  reader.expectEnd();
  return callbackId;
}
