import { EventEmitter } from "node:events";

import { UnavailableError } from "../errors";
import { DEFAULT_SOCKET_PATH, LibvirtClient, LibvirtClientOptions } from "./client";
import { socketErrorText } from "./connection";
import { LibvirtConnectionError } from "./errors";
import { silentLogger } from "./logger";

export interface LibvirtSessionOptions extends LibvirtClientOptions {
  /** Delay in ms before the first reconnect attempt after a failure or a lost connection. Default 100. */
  reconnectInitialDelayMs?: number;
  /** Maximum delay in ms between reconnect attempts; the delay doubles after each failed attempt up to it. Default 5000. */
  reconnectMaxDelayMs?: number;
}

/**
 * Runs after each successful connect, before the session counts as ready,
 * for example to register events and read the state that events will keep
 * up to date. A hook that throws makes the attempt fail: the session closes
 * that connection and tries again after the backoff delay.
 */
export type ConnectHook = (client: LibvirtClient) => Promise<void>;

/**
 * - idle: start() was not called yet.
 * - connecting: connecting, running connect hooks, or waiting before the next attempt.
 * - ready: connected and every connect hook succeeded.
 * - closed: close() was called.
 */
export type SessionState = "idle" | "connecting" | "ready" | "closed";

export interface LibvirtSession {
  /** Emitted after each successful connect once every connect hook has run. */
  on(event: "ready", listener: (client: LibvirtClient) => void): this;
  /** Emitted when a ready connection is lost, and when the first connect attempt fails. */
  on(event: "unavailable", listener: (cause: Error) => void): this;
  once(event: "ready", listener: (client: LibvirtClient) => void): this;
  once(event: "unavailable", listener: (cause: Error) => void): this;
  off(event: "ready" | "unavailable", listener: (...args: any[]) => void): this;
}

/**
 * Holds the agent's one connection to libvirtd. Once started, it reconnects
 * by itself with exponential backoff whenever libvirtd stops or restarts,
 * and runs the connect hooks again after each reconnect, because libvirtd
 * forgets event registrations with the connection. Calls made while
 * libvirtd is unreachable fail at once with UnavailableError instead of
 * waiting for the next attempt.
 */
export class LibvirtSession extends EventEmitter {
  private readonly hooks: ConnectHook[] = [];
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private current: LibvirtClient | undefined;
  private sessionState: SessionState = "idle";
  private lastError: Error | undefined;
  private firstAttempt: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: LibvirtSessionOptions = {}) {
    super();
    this.initialDelayMs = options.reconnectInitialDelayMs ?? 100;
    this.maxDelayMs = Math.max(options.reconnectMaxDelayMs ?? 5000, this.initialDelayMs);
  }

  get state(): SessionState {
    return this.sessionState;
  }

  /** True once close() was called. A getter, so that TypeScript does not narrow the state across awaits. */
  private get closed(): boolean {
    return this.sessionState === "closed";
  }

  /** True while connected and every connect hook has succeeded. */
  get ready(): boolean {
    return this.sessionState === "ready";
  }

  /**
   * Adds a hook that runs after every connect, in the order added. A hook
   * added while the session is ready first runs on the next reconnect.
   */
  onConnect(hook: ConnectHook): void {
    this.hooks.push(hook);
  }

  /** Starts connecting in the background, and reconnecting until close(). Calling it again does nothing. */
  start(): void {
    if (this.sessionState !== "idle") {
      return;
    }
    this.sessionState = "connecting";
    let firstAttemptDone: () => void = () => undefined;
    this.firstAttempt = new Promise((resolve) => (firstAttemptDone = resolve));
    this.loop = this.run(firstAttemptDone);
  }

  /**
   * Returns the connected client. Starts the session on first use and waits
   * for that first attempt. Later it never waits.
   * @throws UnavailableError while libvirtd is unreachable or the connect hooks are running, and after close().
   */
  async client(): Promise<LibvirtClient> {
    if (this.sessionState === "idle") {
      this.start();
      await this.firstAttempt;
    }
    if (this.sessionState === "ready" && this.current?.connected) {
      return this.current;
    }
    throw this.unavailableError();
  }

  /** The error that client() throws now, for callers that must fail the same way. */
  unavailableError(): UnavailableError {
    const socket = this.options.socketPath ?? DEFAULT_SOCKET_PATH;
    if (this.sessionState === "closed") {
      return new UnavailableError("the agent is shutting down and has closed its libvirt connection");
    }
    if (this.lastError === undefined) {
      return new UnavailableError(`libvirtd at ${socket} is not ready yet; the agent is connecting`);
    }
    // A failed connect already names the socket; say only why it failed.
    const notConnected = this.lastError instanceof LibvirtConnectionError && this.lastError.reason === "not-connected" && this.lastError.cause instanceof Error;
    const why = notConnected ? socketErrorText(this.lastError.cause as Error) : this.lastError.message;
    const fix = notConnected && (this.lastError.cause as NodeJS.ErrnoException).code === "EACCES"
      ? "run the agent as a user that may use the socket"
      : "start libvirtd (systemctl start libvirtd)";
    return new UnavailableError(`libvirtd is not reachable at ${socket}: ${why}; ${fix}; the agent keeps reconnecting`, {
      cause: this.lastError,
    });
  }

  /** Whether a connection to libvirtd is open and past its connect hooks now. */
  get connected(): boolean {
    return this.current?.connected ?? false;
  }

  /** Stops reconnecting and closes the connection, if open. */
  async close(): Promise<void> {
    if (this.sessionState === "closed") {
      return;
    }
    this.sessionState = "closed";
    this.wakeUp?.();
    const client = this.current;
    this.current = undefined;
    await client?.close();
    await this.loop;
  }

  private async run(firstAttemptDone: () => void): Promise<void> {
    const logger = this.options.logger ?? silentLogger;
    let delayMs = this.initialDelayMs;
    let failures = 0;
    let loggedMessage: string | undefined;

    while (this.sessionState !== "closed") {
      const client = await this.connectOnce();
      if (client === undefined) {
        failures++;
        if (failures === 1) {
          this.emit("unavailable", this.lastError);
        }
        // Repeats of the same failure go to debug except at attempts 1, 2, 4,
        // 8, ..., so a long outage does not flood the log but still shows
        // that the agent keeps trying.
        const message = this.lastError?.message;
        const milestone = (failures & (failures - 1)) === 0;
        logger[message !== loggedMessage || milestone ? "warn" : "debug"](
          { err: this.lastError, attempt: failures, retryInMs: delayMs },
          "cannot connect to libvirtd; retrying",
        );
        loggedMessage = message;
        firstAttemptDone();
        await this.sleep(delayMs);
        delayMs = Math.min(delayMs * 2, this.maxDelayMs);
        continue;
      }

      if (this.closed) {
        await client.close();
        break;
      }
      const lost = new Promise<Error | undefined>((resolve) => client.once("close", resolve));
      this.current = client;
      this.sessionState = "ready";
      logger.debug({ failedAttempts: failures }, "libvirt session ready");
      this.emit("ready", client);
      firstAttemptDone();
      failures = 0;
      loggedMessage = undefined;
      delayMs = this.initialDelayMs;

      const cause = await lost;
      if (this.closed) {
        break;
      }
      this.current = undefined;
      this.sessionState = "connecting";
      this.lastError = cause ?? new Error("the libvirt connection was closed");
      this.emit("unavailable", this.lastError);
      logger.warn({ err: this.lastError, retryInMs: delayMs }, "lost the connection to libvirtd; reconnecting");
      await this.sleep(delayMs);
    }
    firstAttemptDone();
  }

  /** Connects and runs the hooks. Returns undefined and sets lastError when either fails. */
  private async connectOnce(): Promise<LibvirtClient | undefined> {
    let client: LibvirtClient;
    try {
      client = await LibvirtClient.connect(this.options);
    } catch (error) {
      this.lastError = error as Error;
      return undefined;
    }

    try {
      for (const hook of this.hooks) {
        await hook(client);
      }
      if (!client.connected) {
        throw new Error("libvirtd closed the connection while the connect hooks ran");
      }
      return client;
    } catch (error) {
      this.lastError = error as Error;
      client.connection.destroy();
      return undefined;
    }
  }

  /** Waits `ms` milliseconds with up to 20% jitter, or less when close() is called. */
  private sleep(ms: number): Promise<void> {
    if (this.sessionState === "closed") {
      return Promise.resolve();
    }
    const jittered = ms * (0.8 + Math.random() * 0.4);
    return new Promise((resolve) => {
      // The wait alone must not keep the process alive; the agent's server does.
      const timer = setTimeout(done, jittered).unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
