import { EventEmitter } from "node:events";

import {
  formatUuid,
  isLibvirtConnectionError,
  LibvirtClient,
  LibvirtError,
  LibvirtLogger,
  NetworkLifecycleEvent as Lifecycle,
  NetworkLifecycleMessage,
  NetworkRef,
  registerNetworkLifecycleEvents,
} from "../libvirt";
import type { LibvirtSession } from "../libvirt/session";
import { definitionChanged, NetworkCache, NetworkChange, NetworkChangeType } from "./cache";
import type { Network } from "./model";

/** The functions that read networks from libvirt for the sync, supplied by the network manager. */
export interface NetworkReader {
  /** Reads one network's state and definition. */
  describe(libvirt: LibvirtClient, ref: NetworkRef): Promise<Network>;
  /** Reads every network. */
  describeAll(libvirt: LibvirtClient): Promise<Network[]>;
}

/** The reason the cache was read again in full. */
export type ResyncReason = "reconnected" | "events-dropped" | "periodic";

/** Default time between two periodic full reads, in milliseconds. */
export const DEFAULT_RESYNC_PERIOD_MS = 60_000;

export interface NetworkSync {
  /** A change that libvirt reported, or that the agent's own write made (relayed from the cache). */
  on(event: "change", listener: (change: NetworkChange) => void): this;
  /** The cache was read again in full; `changes` are the differences found, which may include changes that had no event. */
  on(event: "resync", listener: (reason: ResyncReason, changes: NetworkChange[]) => void): this;
  off(event: "change" | "resync", listener: (...args: any[]) => void): this;
}

const CHANGE_TYPE: Record<number, NetworkChangeType> = {
  [Lifecycle.DEFINED]: "defined",
  [Lifecycle.UNDEFINED]: "undefined",
  [Lifecycle.STARTED]: "started",
  [Lifecycle.STOPPED]: "stopped",
};

/**
 * Keeps a NetworkCache in step with libvirtd. After each connect, before the
 * session counts as ready, it registers for network lifecycle events and
 * reads every network. Each event then makes it read that network again.
 * Events that arrive during the full read wait until the read is done.
 */
export class NetworkSync extends EventEmitter {
  constructor(
    session: LibvirtSession,
    private readonly cache: NetworkCache,
    private readonly reader: NetworkReader,
    private readonly logger: LibvirtLogger,
    /** Time between two full reads while connected, in milliseconds; 0 turns them off. */
    resyncPeriodMs: number = DEFAULT_RESYNC_PERIOD_MS,
  ) {
    super();
    session.onConnect((client) => this.onConnect(client));
    cache.on("change", (change) => this.emit("change", change));

    // libvirt sends no event for some changes (autostart, net-update of a
    // DHCP host), so a full read at a fixed period catches them, as an
    // informer's resync does. The timer alone must not keep the process alive.
    if (resyncPeriodMs > 0) {
      setInterval(() => void this.resyncPeriodically(session), resyncPeriodMs).unref();
    }
  }

  private periodicResyncRunning = false;

  // NOTE: a periodic read that runs while a libvirt event is on its way
  // reports that change too, so a watcher may see it twice (from sources
  // resync and libvirt).

  private async resyncPeriodically(session: LibvirtSession): Promise<void> {
    if (this.periodicResyncRunning || !session.ready) {
      return;
    }
    this.periodicResyncRunning = true;
    try {
      await this.resync(await session.client(), "periodic");
    } catch (error) {
      // A lost connection resyncs on reconnect anyway.
      if (!isLibvirtConnectionError(error) && session.ready) {
        this.logger.error({ err: error }, "the periodic read of every network failed");
      }
    } finally {
      this.periodicResyncRunning = false;
    }
  }

  private async onConnect(client: LibvirtClient): Promise<void> {
    let fullReadDone: () => void = () => undefined;
    const fullRead = new Promise<void>((resolve) => (fullReadDone = resolve));

    try {
      await registerNetworkLifecycleEvents(
        client,
        async (event) => {
          await fullRead;
          await this.onLifecycleEvent(client, event);
        },
        { onDropped: (count) => void this.resyncAfterDrop(client, count) },
      );
      await this.resync(client, "reconnected");
    } finally {
      fullReadDone();
    }
  }

  private async resync(client: LibvirtClient, reason: ResyncReason): Promise<void> {
    const found = await this.cache.read(async (seq) => this.cache.replaceAll(await this.reader.describeAll(client), seq));
    // An agent write in progress reports its own definition change.
    const changes = found.filter((change) => !(change.type === "updated" && this.cache.isWriting(change.name)));
    this.logger.debug({ reason, changes: changes.length, networks: this.cache.list().length }, "network cache resynced");
    this.emit("resync", reason, changes);
  }

  private async resyncAfterDrop(client: LibvirtClient, count: number): Promise<void> {
    this.logger.warn({ droppedEvents: count }, "network events were dropped; reading every network again");
    try {
      await this.resync(client, "events-dropped");
    } catch (error) {
      // A lost connection resyncs on reconnect anyway.
      if (!isLibvirtConnectionError(error)) {
        this.logger.error({ err: error }, "reading every network after dropped events failed");
      }
    }
  }

  private async onLifecycleEvent(client: LibvirtClient, event: NetworkLifecycleMessage): Promise<void> {
    const type = CHANGE_TYPE[event.event];
    const name = event.network.name;
    const uuid = formatUuid(event.network.uuid);
    if (type === undefined) {
      this.logger.debug({ network: name, event: event.event }, "ignored a network event of an unknown type");
      return;
    }

    let current: Network | undefined;
    let previous: Network | undefined;
    try {
      // Read by name, not by the event's UUID: the name may already belong to
      // a newer network, and the cache is keyed by name.
      ({ current, previous } = await this.cache.read(async (seq) => {
        const network = await this.describeByName(client, name);
        return { current: network, previous: this.cache.store(name, network, seq).previous };
      }));
    } catch (error) {
      if (isLibvirtConnectionError(error)) {
        return;
      }
      this.logger.error({ err: error, network: name }, "reading a network after its event failed; reporting the cached version");
      previous = this.cache.get(name);
    }

    // Attach only a version of the network the event is about.
    const network = [current, previous].find((candidate) => candidate?.uuid === uuid);
    this.emit("change", { type, name, uuid, network, source: "libvirt" } satisfies NetworkChange);

    // libvirt reports a redefinition of an existing network as "defined" only.
    const redefined = previous !== undefined && current !== undefined && previous.uuid === current.uuid && definitionChanged(previous, current);
    if (redefined && !this.cache.isWriting(name)) {
      this.emit("change", { type: "updated", name, uuid, network: current, source: "libvirt" } satisfies NetworkChange);
    }
  }

  private async describeByName(client: LibvirtClient, name: string): Promise<Network | undefined> {
    try {
      return await this.reader.describe(client, await client.networkLookupByName(name));
    } catch (error) {
      if (error instanceof LibvirtError && error.isNoNetwork()) {
        return undefined;
      }
      throw error;
    }
  }
}
