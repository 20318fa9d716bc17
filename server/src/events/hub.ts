import { matchesFilter, EventFilter } from "./filter";
import { AgentEvent, resyncMarker } from "./model";

/** Default for EventHubOptions.maxQueuedEvents. */
export const DEFAULT_MAX_QUEUED_EVENTS = 10_000;

export interface EventHubOptions {
  /**
   * Events queued for one watcher before the watcher counts as too slow: its
   * queue is then replaced by one "events-dropped" resync marker. Default 10000.
   */
  maxQueuedEvents?: number;
}

/**
 * Delivers events to every watcher whose filter they pass. Each watcher has
 * its own queue, so publish() never waits and a slow watcher delays no one.
 */
export class EventHub {
  private readonly watchers = new Set<Watcher>();
  private readonly maxQueuedEvents: number;
  private closeReason: Error | undefined;

  constructor(options: EventHubOptions = {}) {
    this.maxQueuedEvents = options.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS;
  }

  /** Number of open watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /** Queues the event for every watcher whose filter it passes. */
  publish(event: AgentEvent): void {
    for (const watcher of this.watchers) {
      if (matchesFilter(event, watcher.filter)) {
        watcher.push(event);
      }
    }
  }

  /**
   * Opens a watcher. Its first event is a "watch-started" resync marker, and
   * it receives every event published after this call. After close(), it
   * throws the close reason.
   */
  watch(filter: EventFilter): Watcher {
    if (this.closeReason !== undefined) {
      throw this.closeReason;
    }
    const watcher = new Watcher(filter, this.maxQueuedEvents, () => this.watchers.delete(watcher));
    watcher.push(resyncMarker("watch-started", "watching; list now, and apply the events that follow"));
    this.watchers.add(watcher);
    return watcher;
  }

  /** Ends every watcher with `reason`, which its next() throws, and rejects new watchers with it. */
  close(reason: Error): void {
    this.closeReason = reason;
    for (const watcher of [...this.watchers]) {
      watcher.fail(reason);
    }
  }
}

/** One subscription to an EventHub, read with next() or for await. */
export class Watcher implements AsyncIterable<AgentEvent> {
  private queue: AgentEvent[] = [];
  private waiting: { resolve: (event: AgentEvent | undefined) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private closed = false;

  constructor(
    readonly filter: EventFilter,
    private readonly maxQueued: number,
    private readonly onClose: () => void,
  ) {}

  /** Adds an event, or replaces a full queue with an "events-dropped" marker. */
  push(event: AgentEvent): void {
    if (this.closed) {
      return;
    }
    if (this.waiting !== undefined) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve(event);
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.queue = [resyncMarker("events-dropped", `this watcher fell more than ${this.maxQueued} events behind, so they were dropped`)];
    }
    this.queue.push(event);
  }

  /**
   * Returns the next event, waiting for one when none is queued. Returns
   * undefined once the watcher is closed or `signal` aborts.
   * @throws the hub's close reason after EventHub.close().
   */
  async next(signal?: AbortSignal): Promise<AgentEvent | undefined> {
    const queued = this.queue.shift();
    if (queued !== undefined) {
      return queued;
    }
    if (this.failure !== undefined) {
      throw this.failure;
    }
    if (this.closed || signal?.aborted) {
      return undefined;
    }

    return new Promise<AgentEvent | undefined>((resolve, reject) => {
      const onAbort = () => {
        this.waiting = undefined;
        resolve(undefined);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting = {
        resolve: (event) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(event);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
    });
  }

  /** Stops delivery and removes the watcher from its hub. */
  close(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.queue = [];
    this.onClose();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(undefined);
  }

  /** Ends the watcher with an error that next() throws once the queued events are read. */
  fail(error: Error): void {
    if (this.closed) {
      return;
    }
    this.failure = error;
    this.closed = true;
    this.onClose();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AgentEvent> {
    try {
      for (;;) {
        const event = await this.next();
        if (event === undefined) {
          return;
        }
        yield event;
      }
    } finally {
      this.close();
    }
  }
}
