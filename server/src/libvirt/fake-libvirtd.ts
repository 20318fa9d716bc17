// A scripted stand-in for libvirtd, for tests only: it listens on a UNIX
// socket in a fresh temporary directory and speaks libvirt's framing.

import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

import type { RemoteErrorFields } from "./errors";
import { encodePacket, Packet, PacketDecoder, PacketHeader } from "./framing";
import {
  AuthType,
  ErrorCode,
  ErrorDomain,
  ErrorLevel,
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  KeepaliveProcedure,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
  RemoteProcedure,
} from "./protocol";
import { DomainRef, NetworkRef, writeDomainRef, writeNetworkRef, writeRemoteError } from "./structs";
import { XdrReader, XdrWriter } from "./xdr";

/** The network that the default handler returns for NETWORK_LOOKUP_BY_NAME("default"). */
export const FAKE_DEFAULT_NETWORK: NetworkRef = {
  name: "default",
  uuid: Buffer.from("00112233445566778899aabbccddeeff", "hex"),
};

/** One CALL packet received by the fake daemon, with helpers to reply to it. */
export class FakeCall {
  constructor(
    readonly packet: Packet,
    readonly client: FakeClient,
  ) {}

  get procedure(): number {
    return this.packet.procedure;
  }

  get serial(): number {
    return this.packet.serial;
  }

  get args(): Buffer {
    return this.packet.payload;
  }

  /** Encodes the REPLY with status OK without sending it, so tests can split or reorder the bytes. */
  encodeReply(payload: Buffer = Buffer.alloc(0)): Buffer {
    return encodePacket(this.replyHeader(MessageStatus.OK), payload);
  }

  reply(payload?: Buffer): void {
    this.client.write(this.encodeReply(payload));
  }

  replyError(fields: Partial<RemoteErrorFields> & Pick<RemoteErrorFields, "code" | "domain">): void {
    const writer = new XdrWriter();
    writeRemoteError(writer, { level: ErrorLevel.ERROR, int1: 0, int2: 0, ...fields });
    this.client.write(encodePacket(this.replyHeader(MessageStatus.ERROR), writer.finish()));
  }

  private replyHeader(status: number): PacketHeader {
    return {
      program: REMOTE_PROGRAM,
      version: REMOTE_PROTOCOL_VERSION,
      procedure: this.packet.procedure,
      type: MessageType.REPLY,
      serial: this.packet.serial,
      status,
    };
  }
}

/** An event callback that a client registered, as the default handler records it. */
export interface FakeEventRegistration {
  /** CONNECT_NETWORK_EVENT_REGISTER_ANY or CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY. */
  family: number;
  eventId: number;
  callbackId: number;
}

/** The daemon's side of one client connection. */
export class FakeClient {
  readonly calls: FakeCall[] = [];
  /** Callbacks registered and not yet deregistered, in registration order. */
  readonly registrations: FakeEventRegistration[] = [];
  /** Next callback id per registration procedure. libvirtd counts network and domain callbacks separately, from 1. */
  readonly nextCallbackId = new Map<number, number>();
  /** Keepalive packets received from the client, in order. */
  readonly keepalivePackets: Packet[] = [];
  private readonly decoder = new PacketDecoder();

  constructor(
    readonly socket: net.Socket,
    private readonly daemon: FakeLibvirtd,
  ) {
    socket.on("data", (chunk: Buffer) => {
      for (const packet of this.decoder.push(chunk)) {
        this.handle(packet);
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => this.daemon.notify());
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) {
      this.socket.write(bytes);
    }
  }

  /** Sends an event: a MESSAGE packet of the remote program. */
  sendEvent(procedure: number, payload: Buffer, serial = 1): void {
    this.write(
      encodePacket(
        {
          program: REMOTE_PROGRAM,
          version: REMOTE_PROTOCOL_VERSION,
          procedure,
          type: MessageType.MESSAGE,
          serial,
          status: MessageStatus.OK,
        },
        payload,
      ),
    );
  }

  /** Sends a network lifecycle event (procedure 315) to the callback with this id. */
  sendNetworkLifecycle(callbackId: number, network: NetworkRef, event: number, detail = 0): void {
    const writer = new XdrWriter().writeInt(callbackId);
    writeNetworkRef(writer, network);
    this.sendEvent(RemoteProcedure.NETWORK_EVENT_LIFECYCLE, writer.writeInt(event).writeInt(detail).finish());
  }

  /** Sends a domain lifecycle event (procedure 318) to the callback with this id. */
  sendDomainLifecycle(callbackId: number, domain: DomainRef, event: number, detail = 0): void {
    const writer = new XdrWriter().writeInt(callbackId);
    writeDomainRef(writer, domain);
    this.sendEvent(RemoteProcedure.DOMAIN_EVENT_CALLBACK_LIFECYCLE, writer.writeInt(event).writeInt(detail).finish());
  }

  /** Sends a domain device event: procedure 354 (added), 333 (removed) or 367 (removal failed). */
  sendDomainDeviceEvent(procedure: number, callbackId: number, domain: DomainRef, alias: string): void {
    const writer = new XdrWriter().writeInt(callbackId);
    writeDomainRef(writer, domain);
    this.sendEvent(procedure, writer.writeString(alias).finish());
  }

  /** The callback id of the latest registration for this event id of a family, if any. */
  callbackIdFor(family: number, eventId: number): number | undefined {
    return this.registrations.filter((r) => r.family === family && r.eventId === eventId).at(-1)?.callbackId;
  }

  sendPing(): void {
    this.write(
      encodePacket({
        program: KEEPALIVE_PROGRAM,
        version: KEEPALIVE_PROTOCOL_VERSION,
        procedure: KeepaliveProcedure.PING,
        type: MessageType.MESSAGE,
        serial: 0,
        status: MessageStatus.OK,
      }),
    );
  }

  private handle(packet: Packet): void {
    if (packet.program === KEEPALIVE_PROGRAM) {
      this.keepalivePackets.push(packet);
      if (packet.procedure === KeepaliveProcedure.PING && this.daemon.answerPings) {
        this.write(
          encodePacket({
            program: KEEPALIVE_PROGRAM,
            version: KEEPALIVE_PROTOCOL_VERSION,
            procedure: KeepaliveProcedure.PONG,
            type: MessageType.MESSAGE,
            serial: 0,
            status: MessageStatus.OK,
          }),
        );
      }
      this.daemon.notify();
      return;
    }

    const call = new FakeCall(packet, this);
    this.calls.push(call);
    this.daemon.calls.push(call);
    const handled = this.daemon.handler?.(call) ?? false;
    if (!handled) {
      answerByDefault(call, this.daemon);
    }
    this.daemon.notify();
  }
}

/**
 * Handles one call and returns true, or returns false to let the default
 * handling reply to it.
 */
export type FakeCallHandler = (call: FakeCall) => boolean;

export class FakeLibvirtd {
  /** Every call from every client, in arrival order. */
  readonly calls: FakeCall[] = [];
  readonly clients: FakeClient[] = [];
  /** Auth types that AUTH_LIST returns. */
  authTypes: number[] = [AuthType.NONE];
  /** Value that CONNECT_SUPPORTS_FEATURE returns for every feature not in featureOverrides. */
  featureSupported = 1;
  /** Values that CONNECT_SUPPORTS_FEATURE returns for single features, by feature number. */
  readonly featureOverrides = new Map<number, number>();
  /** Whether keepalive PINGs get a PONG. */
  answerPings = true;
  handler: FakeCallHandler | undefined;

  private readonly waiters = new Set<() => void>();
  private server: net.Server | undefined;

  private constructor(
    private readonly directory: string,
    readonly socketPath: string,
  ) {}

  static async start(handler?: FakeCallHandler): Promise<FakeLibvirtd> {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "netagent-fake-libvirtd-"));
    const daemon = new FakeLibvirtd(directory, path.join(directory, "libvirt-sock"));
    daemon.handler = handler;
    await daemon.listen();
    return daemon;
  }

  /** Whether the daemon accepts connections: false between kill() and restart(). */
  get listening(): boolean {
    return this.server !== undefined;
  }

  /** Closes every client connection and stops listening, as a libvirtd that stopped or crashed. */
  async kill(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const client of this.clients) {
      client.socket.destroy();
    }
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.notify();
  }

  /** Listens on the same socket path again after kill(), as a restarted libvirtd. */
  async restart(): Promise<void> {
    if (!this.server) {
      await this.listen();
    }
  }

  private async listen(): Promise<void> {
    const server = net.createServer();
    server.on("connection", (socket) => {
      this.clients.push(new FakeClient(socket, this));
      this.notify();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.socketPath, () => resolve());
    });
    this.server = server;
  }

  /** Calls of one procedure, in arrival order. */
  callsOf(procedure: number): FakeCall[] {
    return this.calls.filter((call) => call.procedure === procedure);
  }

  /** Resolves once `condition` holds, checking after every packet and connection; rejects after `timeoutMs`. */
  waitFor(condition: () => boolean, timeoutMs = 1500, description = "condition"): Promise<void> {
    if (condition()) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const check = () => {
        if (condition()) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`fake libvirtd: timed out after ${timeoutMs} ms waiting for ${description}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Waits for the n-th call (counting from 1) of a procedure and returns it. */
  async nextCall(procedure: number, count = 1): Promise<FakeCall> {
    await this.waitFor(() => this.callsOf(procedure).length >= count, undefined, `call ${count} of procedure ${procedure}`);
    return this.callsOf(procedure)[count - 1];
  }

  notify(): void {
    for (const waiter of [...this.waiters]) {
      waiter();
    }
  }

  async stop(): Promise<void> {
    await this.kill();
    fs.rmSync(this.directory, { recursive: true, force: true });
  }
}

/** Replies to the handshake, CONNECT_CLOSE and lookups of "default" the way libvirtd does. */
function answerByDefault(call: FakeCall, daemon: FakeLibvirtd): void {
  switch (call.procedure) {
    case RemoteProcedure.AUTH_LIST: {
      const writer = new XdrWriter().writeArray(daemon.authTypes, 20, (w, type) => w.writeInt(type));
      call.reply(writer.finish());
      return;
    }

    case RemoteProcedure.AUTH_POLKIT:
      call.reply(new XdrWriter().writeInt(1).finish());
      return;

    case RemoteProcedure.CONNECT_SUPPORTS_FEATURE: {
      const feature = new XdrReader(call.args).readInt();
      call.reply(new XdrWriter().writeInt(daemon.featureOverrides.get(feature) ?? daemon.featureSupported).finish());
      return;
    }

    case RemoteProcedure.CONNECT_OPEN:
    case RemoteProcedure.CONNECT_CLOSE:
      call.reply();
      return;

    case RemoteProcedure.CONNECT_NETWORK_EVENT_REGISTER_ANY:
    case RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: {
      const eventId = new XdrReader(call.args).readInt();
      const callbackId = call.client.nextCallbackId.get(call.procedure) ?? 1;
      call.client.nextCallbackId.set(call.procedure, callbackId + 1);
      call.client.registrations.push({ family: call.procedure, eventId, callbackId });
      call.reply(new XdrWriter().writeInt(callbackId).finish());
      return;
    }

    case RemoteProcedure.CONNECT_NETWORK_EVENT_DEREGISTER_ANY:
    case RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: {
      const family =
        call.procedure === RemoteProcedure.CONNECT_NETWORK_EVENT_DEREGISTER_ANY
          ? RemoteProcedure.CONNECT_NETWORK_EVENT_REGISTER_ANY
          : RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY;
      const callbackId = new XdrReader(call.args).readInt();
      const index = call.client.registrations.findIndex((r) => r.family === family && r.callbackId === callbackId);
      if (index < 0) {
        call.replyError({ code: ErrorCode.INVALID_ARG, domain: ErrorDomain.RPC, message: `callback ${callbackId} not registered` });
        return;
      }
      call.client.registrations.splice(index, 1);
      call.reply();
      return;
    }

    case RemoteProcedure.NETWORK_LOOKUP_BY_NAME: {
      const name = new XdrReader(call.args).readString();
      if (name === FAKE_DEFAULT_NETWORK.name) {
        const writer = new XdrWriter();
        writeNetworkRef(writer, FAKE_DEFAULT_NETWORK);
        call.reply(writer.finish());
        return;
      }
      call.replyError({
        code: ErrorCode.NO_NETWORK,
        domain: ErrorDomain.NETWORK,
        message: `Network not found: no network with matching name '${name}'`,
        str1: `Network not found: no network with matching name '${name}'`,
      });
      return;
    }

    default:
      call.replyError({
        code: ErrorCode.RPC,
        domain: ErrorDomain.RPC,
        message: `unknown procedure: ${call.procedure}`,
      });
  }
}
