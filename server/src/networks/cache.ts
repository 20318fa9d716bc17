import { EventEmitter } from "node:events";

import type { Network } from "./model";

/** The kind of change to a network. libvirt's lifecycle events use the first four; "updated" means its definition changed. */
export type NetworkChangeType = "defined" | "undefined" | "started" | "stopped" | "updated";

/**
 * The origin of a change:
 * - libvirt: a libvirt network event, whichever client made the change (virsh included);
 * - agent: one of the agent's own calls, for changes that libvirt sends no event for;
 * - resync: a difference between the cache and a full read of libvirt's state after a reconnect.
 */
export type NetworkChangeSource = "libvirt" | "agent" | "resync";

/** One change to one network. */
export interface NetworkChange {
  type: NetworkChangeType;
  name: string;
  /** libvirt's UUID of the network; empty when unknown. */
  uuid: string;
  /**
   * The network as the agent read it after the change, which may already
   * include later changes. For "undefined" of a network that is gone, the
   * last version the cache held, if any.
   */
  network: Network | undefined;
  source: NetworkChangeSource;
}

export interface NetworkCache {
  /** A change that the cache detected by itself: an agent write that changed a network's definition. */
  on(event: "change", listener: (change: NetworkChange) => void): this;
  off(event: "change", listener: (change: NetworkChange) => void): this;
}

interface Entry {
  /** Undefined records that the network was found missing, so that an older read cannot bring it back. */
  network: Network | undefined;
  /** Sequence number of the read that produced this entry. */
  seq: number;
}

/**
 * The agent's copy of libvirt's networks, kept current by libvirt events,
 * by the agent's own writes and by a full read after each reconnect.
 *
 * Every read of libvirt state that feeds the cache runs inside read(), which
 * numbers reads in the order they start. For each name the cache keeps the
 * result of the read that started last, so a slow read that started before
 * a change never overwrites what a later read found.
 */
export class NetworkCache extends EventEmitter {
  private readonly entries = new Map<string, Entry>();
  private readonly readsInFlight = new Set<number>();
  private readonly writes = new Map<string, { before: Network | undefined; depth: number }>();
  private lastSeq = 0;

  /** Returns the cached network, or undefined when the cache has none of that name. */
  get(name: string): Network | undefined {
    return this.entries.get(name)?.network;
  }

  /** Returns every cached network, ordered by name. */
  list(): Network[] {
    const networks: Network[] = [];
    for (const entry of this.entries.values()) {
      if (entry.network !== undefined) {
        networks.push(entry.network);
      }
    }
    return networks.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Runs a read of libvirt state. `seq` orders it among all reads by start
   * time; pass it to store() or replaceAll() with the result.
   */
  async read<T>(action: (seq: number) => Promise<T>): Promise<T> {
    const seq = ++this.lastSeq;
    this.readsInFlight.add(seq);
    try {
      return await action(seq);
    } finally {
      this.readsInFlight.delete(seq);
      this.forgetMissing();
    }
  }

  /**
   * Stores what the read `seq` found for `name`: the network, or undefined
   * when libvirt has no network of that name. A result is dropped when a
   * read that started later already stored one.
   * @returns the network cached before, and whether this result was stored.
   */
  store(name: string, network: Network | undefined, seq: number): { previous: Network | undefined; stored: boolean } {
    const entry = this.entries.get(name);
    const previous = entry?.network;
    if (entry !== undefined && entry.seq > seq) {
      return { previous, stored: false };
    }
    this.entries.set(name, { network, seq });
    return { previous, stored: true };
  }

  /**
   * Replaces the cache with a full read of libvirt's networks that started
   * at `seq`. Names that a later read has stored keep that newer result.
   * @returns the differences to the previous contents, as changes from source "resync".
   */
  replaceAll(networks: Network[], seq: number): NetworkChange[] {
    const found = new Map(networks.map((network) => [network.name, network]));
    const names = new Set([...this.entries.keys(), ...found.keys()]);
    const changes: NetworkChange[] = [];

    for (const name of [...names].sort()) {
      const { previous, stored } = this.store(name, found.get(name), seq);
      if (stored) {
        changes.push(...changesBetween(name, previous, found.get(name), "resync"));
      }
    }
    return changes;
  }

  /**
   * Runs one of the agent's own writes to a network. When the network's
   * definition differs afterwards from before, the cache emits an "updated"
   * change from source "agent", because libvirt has no event for that. Other
   * changes of the write (defined, started, ...) arrive as libvirt events.
   */
  async write<T>(name: string, action: () => Promise<T>): Promise<T> {
    const write = this.writes.get(name) ?? { before: this.get(name), depth: 0 };
    write.depth++;
    this.writes.set(name, write);
    try {
      return await action();
    } finally {
      write.depth--;
      if (write.depth === 0) {
        this.writes.delete(name);
        const after = this.get(name);
        if (write.before !== undefined && after !== undefined && sameNetwork(write.before, after) && definitionChanged(write.before, after)) {
          this.emit("change", { type: "updated", name, uuid: after.uuid, network: after, source: "agent" } satisfies NetworkChange);
        }
      }
    }
  }

  /** True while an agent write to this network runs. Its changes are then reported by the write, not by the reader. */
  isWriting(name: string): boolean {
    return this.writes.has(name);
  }

  // Entries of missing networks only guard against older reads, so each goes
  // once no read that started before it is still running.
  private forgetMissing(): void {
    const oldestRead = Math.min(...this.readsInFlight);
    for (const [name, entry] of this.entries) {
      if (entry.network === undefined && entry.seq < oldestRead) {
        this.entries.delete(name);
      }
    }
  }
}

/** True when two versions of a network differ in anything but their run state (active, persistent). */
export function definitionChanged(before: Network, after: Network): boolean {
  return canonicalDefinition(before) !== canonicalDefinition(after);
}

/**
 * Lists the changes that turn `before` into `after`, in the order libvirt
 * would report them: defined, updated, started or stopped, undefined. A UUID
 * that changed means the network was deleted and created again.
 */
export function changesBetween(
  name: string,
  before: Network | undefined,
  after: Network | undefined,
  source: NetworkChangeSource,
): NetworkChange[] {
  const change = (type: NetworkChangeType, network: Network | undefined): NetworkChange => ({
    type,
    name,
    uuid: network?.uuid ?? "",
    network,
    source,
  });

  if (before === undefined && after === undefined) {
    return [];
  }
  if (before === undefined || after === undefined || !sameNetwork(before, after)) {
    const gone: NetworkChange[] = [];
    if (before !== undefined) {
      if (before.active) {
        gone.push(change("stopped", before));
      }
      if (before.persistent) {
        gone.push(change("undefined", before));
      }
    }
    const appeared: NetworkChange[] = [];
    if (after !== undefined) {
      // A transient network has no definition, so libvirt reports only its start.
      if (after.persistent) {
        appeared.push(change("defined", after));
      }
      if (after.active) {
        appeared.push(change("started", after));
      }
    }
    return [...gone, ...appeared];
  }

  const changes: NetworkChange[] = [];
  if (!before.persistent && after.persistent) {
    changes.push(change("defined", after));
  }
  if (definitionChanged(before, after)) {
    changes.push(change("updated", after));
  }
  if (before.active !== after.active) {
    changes.push(change(after.active ? "started" : "stopped", after));
  }
  if (before.persistent && !after.persistent) {
    changes.push(change("undefined", after));
  }
  return changes;
}

/** False when both UUIDs are known and differ: the name now belongs to another network. */
function sameNetwork(a: Network, b: Network): boolean {
  return a.uuid === "" || b.uuid === "" || a.uuid === b.uuid;
}

/** JSON of every field except the run state, with object keys sorted, so that field order never counts as a change. */
function canonicalDefinition(network: Network): string {
  const { active: _active, persistent: _persistent, ...definition } = network;
  return JSON.stringify(definition, (_key, value: unknown) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return value;
    }
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}
