import { EventEmitter } from "node:events";
import * as net from "node:net";

import { isLibvirtConnectionError, LibvirtConnectionError, LibvirtError, LibvirtTimeoutError } from "./errors";
import { encodePacket, Packet, PacketDecoder } from "./framing";
import { KeepaliveMonitor } from "./keepalive";
import { LibvirtLogger, silentLogger } from "./logger";
import {
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  KeepaliveProcedure,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
} from "./protocol";
import { readRemoteError } from "./structs";
import { MessageDispatcher, MessageListener, MessageSubscription, SubscribeOptions } from "./subscriptions";
import { XdrReader } from "./xdr";

const EMPTY = Buffer.alloc(0);

export interface LibvirtConnectionOptions {
  /** Time in ms without traffic after which a keepalive PING is sent. 0 turns our PINGs off. Default 5000. */
  keepaliveIntervalMs?: number;
  /** Number of intervals with an unanswered PING after which the connection counts as dead. Default 5. */
  keepaliveCount?: number;
  /** Default time in ms a call waits for its reply before it fails with LibvirtTimeoutError. 0, the default, waits forever. */
  callTimeoutMs?: number;
  /** Maximum number of events queued for one slow listener before new events are dropped. Default 10000. */
  maxQueuedMessages?: number;
  logger?: LibvirtLogger;
}

export interface CallOptions {
  /** Overrides the connection's callTimeoutMs for this call. 0 waits forever. */
  timeoutMs?: number;
}

interface PendingCall {
  procedure: number;
  resolve(payload: Buffer): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

export interface LibvirtConnection {
  /** Emitted exactly once, when the connection closes. `cause` is undefined after close(). */
  on(event: "close", listener: (cause?: Error) => void): this;
  once(event: "close", listener: (cause?: Error) => void): this;
  off(event: "close", listener: (cause?: Error) => void): this;
}

/**
 * One connection to libvirtd that speaks its RPC protocol: remote calls
 * matched to replies by serial (many may be in flight), events delivered by
 * procedure number, and the keepalive program.
 *
 * When the socket closes or fails, or libvirtd breaks the protocol, every
 * pending call fails at once with LibvirtConnectionError and 'close' is
 * emitted with the cause. The connection never reconnects by itself.
 */
export class LibvirtConnection extends EventEmitter {
  private readonly decoder = new PacketDecoder();
  private readonly pending = new Map<number, PendingCall>();
  private readonly dispatcher: MessageDispatcher;
  private readonly keepalive: KeepaliveMonitor | undefined;
  private readonly callTimeoutMs: number;
  private readonly logger: LibvirtLogger;
  private lastSerial = 0;
  private closeRequested = false;
  private closed = false;

  /** Connects to libvirtd's UNIX socket, for example /run/libvirt/libvirt-sock. */
  static connect(socketPath: string, options: LibvirtConnectionOptions = {}): Promise<LibvirtConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path: socketPath });
      const onError = (error: Error) => {
        socket.destroy();
        reject(
          new LibvirtConnectionError(`cannot connect to libvirtd at ${socketPath}: ${socketErrorText(error)}`, {
            reason: "not-connected",
            cause: error,
          }),
        );
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        resolve(new LibvirtConnection(socket, options));
      });
    });
  }

  /** Takes over a connected socket. Prefer connect(), unless the socket comes from elsewhere (e.g. TLS). */
  constructor(
    private readonly socket: net.Socket,
    options: LibvirtConnectionOptions = {},
  ) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.callTimeoutMs = options.callTimeoutMs ?? 0;
    this.dispatcher = new MessageDispatcher(options.maxQueuedMessages ?? 10_000, this.logger);

    const keepaliveIntervalMs = options.keepaliveIntervalMs ?? 5000;
    if (keepaliveIntervalMs > 0) {
      this.keepalive = new KeepaliveMonitor({
        intervalMs: keepaliveIntervalMs,
        count: options.keepaliveCount ?? 5,
        sendPing: () => this.sendKeepalive(KeepaliveProcedure.PING),
        onDead: (silenceMs) =>
          this.shutdown(
            new LibvirtConnectionError(
              `libvirtd sent nothing for at least ${silenceMs} ms and did not reply to keepalive PINGs, so the connection was closed`,
            ),
          ),
      });
    }

    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => {
      this.shutdown(
        new LibvirtConnectionError(`libvirt connection failed: ${error.message}`, { cause: error }),
      );
    });
    socket.on("close", () => {
      const cause = this.closeRequested
        ? undefined
        : new LibvirtConnectionError("libvirtd closed the connection");
      this.shutdown(cause);
    });
  }

  /** False once close() was called or the connection was lost. */
  get connected(): boolean {
    return !this.closed && !this.closeRequested;
  }

  /** Number of calls waiting for a reply. */
  get pendingCalls(): number {
    return this.pending.size;
  }

  /**
   * Calls a procedure of the remote program with its XDR-encoded args and
   * returns the XDR-encoded ret struct. An empty buffer stands for void.
   *
   * Rejects with LibvirtError when libvirtd returns an error, with
   * LibvirtConnectionError when the connection is or becomes closed, and
   * with LibvirtTimeoutError when a timeout is set and passes.
   */
  async call(procedure: number, args: Buffer = EMPTY, options: CallOptions = {}): Promise<Buffer> {
    if (!this.connected) {
      throw new LibvirtConnectionError(`cannot call remote procedure ${procedure}: the libvirt connection is closed`, {
        reason: "not-connected",
      });
    }

    const serial = this.nextSerial();
    const packet = encodePacket(
      {
        program: REMOTE_PROGRAM,
        version: REMOTE_PROTOCOL_VERSION,
        procedure,
        type: MessageType.CALL,
        serial,
        status: MessageStatus.OK,
      },
      args,
    );

    return new Promise<Buffer>((resolve, reject) => {
      const call: PendingCall = { procedure, resolve, reject, timer: undefined };

      const timeoutMs = options.timeoutMs ?? this.callTimeoutMs;
      if (timeoutMs > 0) {
        call.timer = setTimeout(() => {
          this.pending.delete(serial);
          reject(new LibvirtTimeoutError(procedure, timeoutMs));
        }, timeoutMs);
      }

      this.pending.set(serial, call);
      this.socket.write(packet);
    });
  }

  /**
   * Registers a listener for MESSAGE packets (events) of the remote program
   * with this procedure number, for example 315 for network lifecycle events.
   * Delivery is asynchronous and in order for each listener.
   */
  subscribe(procedure: number, listener: MessageListener, options?: SubscribeOptions): MessageSubscription {
    return this.dispatcher.subscribe(procedure, listener, options);
  }

  /**
   * Starts sending our own keepalive PINGs. Call it only after libvirtd
   * returned 1 for CONNECT_SUPPORTS_FEATURE(PROGRAM_KEEPALIVE), because a
   * daemon without keepalive support would not reply and would be declared
   * dead. Does nothing when keepaliveIntervalMs is 0.
   */
  startKeepalive(): void {
    if (this.connected) {
      this.keepalive?.start();
    }
  }

  /**
   * Closes the socket after the data already written has been sent. Calls
   * still pending fail with LibvirtConnectionError "not-connected". Resolves
   * once the socket is closed and 'close' has been emitted.
   */
  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    const closed = new Promise<void>((resolve) => this.once("close", () => resolve()));
    if (!this.closeRequested) {
      this.closeRequested = true;
      this.keepalive?.stop();
      this.socket.destroySoon();
    }
    await closed;
  }

  /** Closes the connection at once, failing pending calls with `cause` or a "not-connected" error. */
  destroy(cause?: Error): void {
    this.shutdown(cause);
  }

  private nextSerial(): number {
    // Serials are unsigned 32-bit. Skip 0 after wrapping, because it is the serial of keepalive messages.
    this.lastSerial = (this.lastSerial + 1) >>> 0 || 1;
    return this.lastSerial;
  }

  private onData(chunk: Buffer): void {
    let packets: Packet[];
    try {
      packets = this.decoder.push(chunk);
    } catch (error) {
      this.shutdown(error as Error);
      return;
    }

    for (const packet of packets) {
      if (this.closed) {
        return;
      }
      this.keepalive?.packetReceived();
      this.handlePacket(packet);
    }
  }

  private handlePacket(packet: Packet): void {
    if (packet.program === KEEPALIVE_PROGRAM) {
      this.handleKeepalive(packet);
      return;
    }
    if (packet.program !== REMOTE_PROGRAM) {
      this.logger.warn(
        { program: packet.program, procedure: packet.procedure, type: packet.type },
        "dropped a libvirt packet of an unknown program",
      );
      return;
    }
    if (packet.version !== REMOTE_PROTOCOL_VERSION) {
      this.protocolViolation(
        `libvirtd sent remote protocol version ${packet.version}, but this client speaks version ${REMOTE_PROTOCOL_VERSION}`,
      );
      return;
    }

    switch (packet.type) {
      case MessageType.REPLY:
        this.handleReply(packet);
        return;

      case MessageType.MESSAGE: {
        const listeners = this.dispatcher.dispatch(packet.procedure, packet.payload);
        if (listeners === 0) {
          this.logger.debug({ procedure: packet.procedure }, "dropped a libvirt event that has no listener");
        }
        return;
      }

      default:
        this.logger.warn(
          { procedure: packet.procedure, type: packet.type, serial: packet.serial },
          "dropped a libvirt packet of a message type this client does not use",
        );
    }
  }

  private handleReply(packet: Packet): void {
    const call = this.pending.get(packet.serial);
    if (!call) {
      // Most likely the reply to a call that timed out.
      this.logger.warn(
        { procedure: packet.procedure, serial: packet.serial },
        "dropped a libvirt reply that matches no pending call",
      );
      return;
    }
    if (packet.procedure !== call.procedure) {
      this.protocolViolation(
        `libvirtd replied to serial ${packet.serial} with procedure ${packet.procedure}, but that call was procedure ${call.procedure}`,
      );
      return;
    }

    if (packet.status === MessageStatus.OK) {
      this.settle(packet.serial, call);
      call.resolve(packet.payload);
      return;
    }
    if (packet.status !== MessageStatus.ERROR) {
      this.protocolViolation(`libvirtd sent a reply with status ${packet.status} for procedure ${packet.procedure}`);
      return;
    }

    let error: LibvirtError;
    try {
      const reader = new XdrReader(packet.payload);
      error = new LibvirtError(readRemoteError(reader), call.procedure);
      reader.expectEnd();
    } catch (decodeError) {
      this.protocolViolation(
        `libvirtd sent an invalid error for procedure ${packet.procedure}: ${(decodeError as Error).message}`,
      );
      return;
    }
    this.settle(packet.serial, call);
    call.reject(error);
  }

  private settle(serial: number, call: PendingCall): void {
    this.pending.delete(serial);
    clearTimeout(call.timer);
  }

  private handleKeepalive(packet: Packet): void {
    if (packet.version !== KEEPALIVE_PROTOCOL_VERSION || packet.type !== MessageType.MESSAGE) {
      this.protocolViolation(
        `libvirtd sent an invalid keepalive packet: version ${packet.version}, type ${packet.type}, procedure ${packet.procedure}`,
      );
      return;
    }
    if (packet.procedure === KeepaliveProcedure.PING) {
      this.sendKeepalive(KeepaliveProcedure.PONG);
    }
    // A PONG needs no handling beyond the packetReceived() that every packet gets.
  }

  private sendKeepalive(procedure: number): void {
    if (this.closed) {
      return;
    }
    const packet = encodePacket({
      program: KEEPALIVE_PROGRAM,
      version: KEEPALIVE_PROTOCOL_VERSION,
      procedure,
      type: MessageType.MESSAGE,
      serial: 0,
      status: MessageStatus.OK,
    });
    this.socket.write(packet);
  }

  private protocolViolation(message: string): void {
    this.shutdown(new LibvirtConnectionError(`${message}, so the connection was closed`, { reason: "protocol-violation" }));
  }

  /** Closes everything once: socket, keepalive, pending calls, listeners; then emits 'close'. */
  private shutdown(cause: Error | undefined): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.keepalive?.stop();
    this.socket.destroy();

    if (cause) {
      this.logger.warn({ err: cause, pendingCalls: this.pending.size }, "libvirt connection lost");
    } else {
      this.logger.debug({ pendingCalls: this.pending.size }, "libvirt connection closed");
    }

    for (const [serial, call] of this.pending) {
      this.settle(serial, call);
      call.reject(this.pendingCallError(call.procedure, cause));
    }

    this.dispatcher.clear();
    this.emit("close", cause);
  }

  private pendingCallError(procedure: number, cause: Error | undefined): LibvirtConnectionError {
    if (!cause) {
      return new LibvirtConnectionError(
        `libvirt call to remote procedure ${procedure} was cancelled: the connection was closed`,
        { reason: "not-connected" },
      );
    }
    const reason = isLibvirtConnectionError(cause) ? cause.reason : "connection-lost";
    return new LibvirtConnectionError(`libvirt call to remote procedure ${procedure} failed: ${cause.message}`, {
      reason,
      cause,
    });
  }
}

/**
 * Says why a connect to a UNIX socket failed, without the path that Node's
 * message repeats, so that messages name the socket once.
 */
export function socketErrorText(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return "no socket at that path (ENOENT)";
    case "ECONNREFUSED":
      return "nothing listens on the socket (ECONNREFUSED)";
    case "EACCES":
      return "permission denied on the socket (EACCES)";
    default:
      return code === undefined ? error.message : `${code}`;
  }
}
