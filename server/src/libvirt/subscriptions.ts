import type { LibvirtLogger } from "./logger";

/** Receives the XDR payload of one MESSAGE packet. A returned promise delays the next delivery to this listener. */
export type MessageListener = (payload: Buffer) => void | Promise<void>;

/** Options of one LibvirtConnection.subscribe registration. */
export interface SubscribeOptions {
  /**
   * Called once per overflow with the number of messages dropped, when the
   * listener's queue was full and it has caught up again. The listener has
   * then missed messages.
   */
  onDropped?: (count: number) => void;
}

/** A registration made with LibvirtConnection.subscribe. */
export interface MessageSubscription {
  readonly procedure: number;
  /** Stops delivery. Messages still queued for this listener are discarded. */
  unsubscribe(): void;
}

/**
 * Delivers MESSAGE packets (events) to listeners by procedure number. Each
 * listener has its own queue and gets its messages in order, one at a time,
 * outside the socket's data handler. A slow or failing listener therefore
 * never delays the socket reader or the other listeners.
 */
export class MessageDispatcher {
  private readonly byProcedure = new Map<number, Set<Subscriber>>();

  constructor(
    private readonly maxQueuedMessages: number,
    private readonly logger: LibvirtLogger,
  ) {}

  subscribe(procedure: number, listener: MessageListener, options: SubscribeOptions = {}): MessageSubscription {
    const subscriber = new Subscriber(procedure, listener, this.maxQueuedMessages, this.logger, options.onDropped);
    let subscribers = this.byProcedure.get(procedure);
    if (!subscribers) {
      subscribers = new Set();
      this.byProcedure.set(procedure, subscribers);
    }
    subscribers.add(subscriber);

    return {
      procedure,
      unsubscribe: () => {
        subscriber.stop();
        subscribers.delete(subscriber);
        if (subscribers.size === 0 && this.byProcedure.get(procedure) === subscribers) {
          this.byProcedure.delete(procedure);
        }
      },
    };
  }

  /** Queues the payload for every listener of the procedure. Returns the number of listeners. */
  dispatch(procedure: number, payload: Buffer): number {
    const subscribers = this.byProcedure.get(procedure);
    if (!subscribers) {
      return 0;
    }
    for (const subscriber of subscribers) {
      subscriber.enqueue(payload);
    }
    return subscribers.size;
  }

  /**
   * Removes every listener. Messages already queued are still delivered,
   * because they arrived before the connection closed.
   */
  clear(): void {
    this.byProcedure.clear();
  }
}

class Subscriber {
  private readonly queue: Buffer[] = [];
  private delivering = false;
  private stopped = false;
  private droppedMessages = 0;

  constructor(
    private readonly procedure: number,
    private readonly listener: MessageListener,
    private readonly maxQueued: number,
    private readonly logger: LibvirtLogger,
    private readonly onDropped: ((count: number) => void) | undefined,
  ) {}

  enqueue(payload: Buffer): void {
    if (this.stopped) {
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      // Log the first drop only; the total is logged once the queue drains.
      if (this.droppedMessages === 0) {
        this.logger.warn(
          { procedure: this.procedure, maxQueued: this.maxQueued },
          "libvirt event listener is too slow: dropping events until its queue drains",
        );
      }
      this.droppedMessages++;
      return;
    }

    this.queue.push(payload);
    if (!this.delivering) {
      this.delivering = true;
      setImmediate(() => void this.deliver());
    }
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  private async deliver(): Promise<void> {
    while (!this.stopped && this.queue.length > 0) {
      const payload = this.queue.shift() as Buffer;
      try {
        await this.listener(payload);
      } catch (error) {
        this.logger.error({ err: error, procedure: this.procedure }, "libvirt event listener failed, skipping the event");
      }
      // Yield to I/O between messages, because a synchronous listener would
      // otherwise run the whole queue in one turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
    }

    if (this.droppedMessages > 0) {
      this.logger.warn(
        { procedure: this.procedure, droppedMessages: this.droppedMessages },
        "libvirt event listener caught up after dropping events",
      );
      const dropped = this.droppedMessages;
      this.droppedMessages = 0;
      this.onDropped?.(dropped);
    }
    this.delivering = false;
  }
}
