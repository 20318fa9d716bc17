/** Settings and callbacks of a KeepaliveMonitor. */
export interface KeepaliveMonitorOptions {
  /** Time between checks in ms. */
  intervalMs: number;
  /** Number of consecutive intervals with a PING outstanding and nothing received, after which the peer counts as dead. */
  count: number;
  sendPing(): void;
  /**
   * Called once when the peer counts as dead, after the monitor has stopped.
   * `silenceMs` is the minimum time since the peer's last packet.
   */
  onDead(silenceMs: number): void;
}

/**
 * Detects a dead peer the way libvirt's own keepalive does (virkeepalive.c):
 * any packet received proves the peer alive. After an interval with no
 * packet the monitor sends a PING, and after `count` more such intervals it
 * calls onDead. Because checks run on a fixed timer, a peer that falls silent
 * is declared dead between intervalMs * (count + 1) and
 * intervalMs * (count + 2) after its last packet.
 */
export class KeepaliveMonitor {
  private timer: NodeJS.Timeout | undefined;
  private receivedSinceCheck = false;
  private pingOutstanding = false;
  private unansweredIntervals = 0;

  constructor(private readonly options: KeepaliveMonitorOptions) {
    if (!(options.intervalMs > 0) || !Number.isInteger(options.count) || options.count < 1) {
      throw new RangeError(
        `invalid keepalive settings: interval ${options.intervalMs} ms and count ${options.count}; ` +
          "the interval must be above 0 and the count an integer of at least 1",
      );
    }
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer) {
      return;
    }
    this.timer = setInterval(() => this.check(), this.options.intervalMs);
    // The socket keeps the process alive while the connection is open; the timer alone must not.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records that a packet arrived from the peer. Call it for every packet, not only PONGs. */
  packetReceived(): void {
    this.receivedSinceCheck = true;
  }

  private check(): void {
    if (this.receivedSinceCheck) {
      this.receivedSinceCheck = false;
      this.pingOutstanding = false;
      this.unansweredIntervals = 0;
      return;
    }

    if (this.pingOutstanding) {
      this.unansweredIntervals++;
      if (this.unansweredIntervals >= this.options.count) {
        this.stop();
        this.options.onDead((this.unansweredIntervals + 1) * this.options.intervalMs);
        return;
      }
    }

    this.options.sendPing();
    this.pingOutstanding = true;
  }
}
