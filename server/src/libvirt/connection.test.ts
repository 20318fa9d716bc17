import assert from "node:assert/strict";
import { once } from "node:events";

import { LibvirtConnection, LibvirtConnectionOptions } from "./connection";
import { isLibvirtConnectionError, LibvirtConnectionError, LibvirtError, LibvirtTimeoutError } from "./errors";
import { FakeLibvirtd } from "./fake-libvirtd";
import { encodePacket } from "./framing";
import {
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  KeepaliveProcedure,
  MAX_PACKET_LENGTH,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
  RemoteProcedure,
} from "./protocol";
import { XdrReader, XdrWriter } from "./xdr";

const HOSTNAME = RemoteProcedure.CONNECT_GET_HOSTNAME;
const NETWORK_LIFECYCLE = RemoteProcedure.NETWORK_EVENT_LIFECYCLE;

function stringPayload(value: string): Buffer {
  return new XdrWriter().writeString(value).finish();
}

function readStringPayload(payload: Buffer): string {
  return new XdrReader(payload).readString();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 5 ms until it is true or `timeoutMs` passes. */
async function eventually(condition: () => boolean, description: string, timeoutMs = 1500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await delay(5);
  }
}

/** Resolves to the error a promise rejects with, or fails the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected the promise to reject");
}

describe("LibvirtConnection", () => {
  let daemon: FakeLibvirtd;
  let connection: LibvirtConnection;

  /** Starts a fake daemon that leaves every CONNECT_GET_HOSTNAME call unanswered, and connects to it. */
  async function setup(options: LibvirtConnectionOptions = {}): Promise<void> {
    daemon = await FakeLibvirtd.start((call) => call.procedure === HOSTNAME);
    connection = await LibvirtConnection.connect(daemon.socketPath, { keepaliveIntervalMs: 0, ...options });
  }

  afterEach(async () => {
    connection?.destroy();
    await daemon?.stop();
  });

  it("matches out-of-order replies by serial", async () => {
    await setup();

    const first = connection.call(HOSTNAME);
    const second = connection.call(HOSTNAME);
    const third = connection.call(HOSTNAME);
    await daemon.nextCall(HOSTNAME, 3);
    const [call1, call2, call3] = daemon.callsOf(HOSTNAME);
    call3.reply(stringPayload("third"));
    call1.reply(stringPayload("first"));
    call2.reply(stringPayload("second"));

    assert.equal(readStringPayload(await first), "first");
    assert.equal(readStringPayload(await second), "second");
    assert.equal(readStringPayload(await third), "third");
    assert.deepEqual(
      [call1.serial, call2.serial, call3.serial],
      [1, 2, 3],
    );
    assert.equal(connection.pendingCalls, 0);
  });

  it("reassembles a reply split across reads", async () => {
    await setup();
    const result = connection.call(HOSTNAME);
    const call = await daemon.nextCall(HOSTNAME);
    const reply = call.encodeReply(stringPayload("split.example.org"));

    // Separate writes with pauses, so that the client's socket reads them separately.
    for (const piece of [reply.subarray(0, 2), reply.subarray(2, 21), reply.subarray(21)]) {
      call.client.write(piece);
      await delay(20);
    }

    assert.equal(readStringPayload(await result), "split.example.org");
  });

  it("handles several packets in one read", async () => {
    await setup();
    const events: string[] = [];
    connection.subscribe(NETWORK_LIFECYCLE, (payload) => {
      events.push(readStringPayload(payload));
    });
    const first = connection.call(HOSTNAME);
    const second = connection.call(HOSTNAME);
    await daemon.nextCall(HOSTNAME, 2);
    const [call1, call2] = daemon.callsOf(HOSTNAME);
    const client = call1.client;
    const pingsBefore = client.keepalivePackets.length;

    // Two replies, an event and a PING in one write, which the client reads at once.
    const event = encodePacket(
      { program: REMOTE_PROGRAM, version: REMOTE_PROTOCOL_VERSION, procedure: NETWORK_LIFECYCLE, type: MessageType.MESSAGE, serial: 1, status: MessageStatus.OK },
      stringPayload("event"),
    );
    const ping = encodePacket({
      program: KEEPALIVE_PROGRAM,
      version: KEEPALIVE_PROTOCOL_VERSION,
      procedure: KeepaliveProcedure.PING,
      type: MessageType.MESSAGE,
      serial: 0,
      status: MessageStatus.OK,
    });
    client.write(Buffer.concat([call2.encodeReply(stringPayload("second")), event, ping, call1.encodeReply(stringPayload("first"))]));

    assert.equal(readStringPayload(await first), "first");
    assert.equal(readStringPayload(await second), "second");
    await eventually(() => events.length === 1, "the event");
    assert.deepEqual(events, ["event"]);
    await daemon.waitFor(() => client.keepalivePackets.length > pingsBefore, 1500, "the PONG");
    assert.equal(client.keepalivePackets.at(-1)?.procedure, KeepaliveProcedure.PONG);
  });

  it("disconnect mid-reply fails all pending calls", async () => {
    await setup();
    const closeCauses: Array<Error | undefined> = [];
    connection.on("close", (cause) => closeCauses.push(cause));
    const calls = [connection.call(HOSTNAME), connection.call(HOSTNAME), connection.call(HOSTNAME)];
    const call = await daemon.nextCall(HOSTNAME, 3);

    const reply = call.encodeReply(stringPayload("never completed"));
    call.client.write(reply.subarray(0, reply.length - 5));
    await delay(20);
    call.client.socket.destroy();

    for (const pending of calls) {
      const error = await rejectionOf(pending);
      assert.ok(error instanceof LibvirtConnectionError, `expected LibvirtConnectionError, got ${String(error)}`);
      assert.equal(error.reason, "connection-lost");
      assert.match(error.message, /libvirt call to remote procedure 59 failed: libvirtd closed the connection/);
    }
    await eventually(() => closeCauses.length > 0, "the close event");
    await delay(20);
    assert.equal(closeCauses.length, 1, "close must be emitted exactly once");
    assert.ok(isLibvirtConnectionError(closeCauses[0]));
    assert.equal(connection.connected, false);
  });

  it("rejects calls after the connection is lost", async () => {
    await setup();
    const closed = once(connection, "close");
    daemon.clients[0].socket.destroy();
    await closed;

    const error = await rejectionOf(connection.call(HOSTNAME));

    assert.ok(error instanceof LibvirtConnectionError);
    assert.equal(error.reason, "not-connected");
  });

  it("answers a PING from libvirtd with a PONG", async () => {
    await setup();
    const client = daemon.clients[0];

    client.sendPing();
    await daemon.waitFor(() => client.keepalivePackets.length > 0, undefined, "a keepalive packet");

    const pong = client.keepalivePackets[0];
    assert.equal(pong.program, KEEPALIVE_PROGRAM);
    assert.equal(pong.procedure, KeepaliveProcedure.PONG);
    assert.equal(pong.type, MessageType.MESSAGE);
    assert.equal(pong.serial, 0);
    assert.equal(pong.payload.length, 0);
    assert.equal(connection.connected, true);
  });

  it("declares libvirtd dead when it never answers PINGs", async () => {
    const intervalMs = 40;
    const count = 3;
    await setup({ keepaliveIntervalMs: intervalMs, keepaliveCount: count });
    daemon.answerPings = false;
    const pending = connection.call(HOSTNAME);
    await daemon.nextCall(HOSTNAME);
    const startedAt = Date.now();

    connection.startKeepalive();
    const [cause] = (await once(connection, "close")) as [Error | undefined];
    const elapsedMs = Date.now() - startedAt;

    assert.ok(cause instanceof LibvirtConnectionError);
    assert.equal(cause.reason, "connection-lost");
    assert.match(cause.message, /did not reply to keepalive PINGs/);
    assert.ok(elapsedMs >= intervalMs * count, `closed after ${elapsedMs} ms, before ${count} intervals`);
    assert.ok(elapsedMs < intervalMs * (count + 1) + 500, `closed only after ${elapsedMs} ms`);
    const pings = daemon.clients[0].keepalivePackets.filter((p) => p.procedure === KeepaliveProcedure.PING);
    assert.equal(pings.length, count, "one PING per interval before the last");
    const error = await rejectionOf(pending);
    assert.ok(error instanceof LibvirtConnectionError);
    assert.equal(error.reason, "connection-lost");
  });

  it("stays open while PINGs are answered", async () => {
    await setup({ keepaliveIntervalMs: 20, keepaliveCount: 2 });

    connection.startKeepalive();
    await delay(300);

    assert.equal(connection.connected, true);
    const pings = daemon.clients[0].keepalivePackets.filter((p) => p.procedure === KeepaliveProcedure.PING);
    assert.ok(pings.length >= 3, `only ${pings.length} PINGs in 300 ms`);
  });

  it("oversized length closes with protocol error", async () => {
    await setup();
    const pending = connection.call(HOSTNAME);
    await daemon.nextCall(HOSTNAME);
    const closed = once(connection, "close");

    const lengthWord = Buffer.alloc(4);
    lengthWord.writeUInt32BE(MAX_PACKET_LENGTH + 1);
    daemon.clients[0].write(lengthWord);

    const [cause] = (await closed) as [Error | undefined];
    assert.ok(cause instanceof LibvirtConnectionError);
    assert.equal(cause.reason, "protocol-violation");
    assert.match(cause.message, /invalid libvirt packet length 16777221/);
    const error = await rejectionOf(pending);
    assert.ok(error instanceof LibvirtConnectionError);
    assert.equal(error.reason, "protocol-violation");
  });

  it("reply to another procedure closes", async () => {
    await setup();
    const pending = connection.call(HOSTNAME);
    const call = await daemon.nextCall(HOSTNAME);

    const reply = call.encodeReply();
    reply.writeInt32BE(RemoteProcedure.CONNECT_OPEN, 12);
    call.client.write(reply);

    const error = await rejectionOf(pending);
    assert.ok(error instanceof LibvirtConnectionError);
    assert.equal(error.reason, "protocol-violation");
    assert.match(error.message, /replied to serial 1 with procedure 1, but that call was procedure 59/);
  });

  it("rejects with LibvirtError when libvirtd returns an error", async () => {
    await setup();

    const error = await rejectionOf(connection.call(RemoteProcedure.NETWORK_LOOKUP_BY_NAME, stringPayload("nosuch")));

    assert.ok(error instanceof LibvirtError);
    assert.equal(error.code, 43);
    assert.equal(error.domain, 19);
    assert.equal(error.procedure, RemoteProcedure.NETWORK_LOOKUP_BY_NAME);
    assert.equal(error.message, "Network not found: no network with matching name 'nosuch'");
    assert.equal(connection.connected, true);
  });

  it("routes events by procedure, not by serial", async () => {
    await setup();
    const received: string[] = [];
    connection.subscribe(NETWORK_LIFECYCLE, (payload) => {
      received.push(readStringPayload(payload));
    });
    const pending = connection.call(HOSTNAME);
    const call = await daemon.nextCall(HOSTNAME);

    // libvirtd gives events serial 1, which here equals the pending call's serial.
    call.client.sendEvent(NETWORK_LIFECYCLE, stringPayload("event"), call.serial);
    await eventually(() => received.length === 1, "the event");

    assert.deepEqual(received, ["event"]);
    assert.equal(connection.pendingCalls, 1, "the event must not settle the call");
    call.reply(stringPayload("reply"));
    assert.equal(readStringPayload(await pending), "reply");
  });

  it("slow listener delays neither replies nor others", async () => {
    await setup();
    let releaseSlowListener: () => void = () => undefined;
    const slowListenerReleased = new Promise<void>((resolve) => (releaseSlowListener = resolve));
    const slow: string[] = [];
    const fast: string[] = [];
    connection.subscribe(NETWORK_LIFECYCLE, async (payload) => {
      slow.push(readStringPayload(payload));
      await slowListenerReleased;
    });
    connection.subscribe(NETWORK_LIFECYCLE, (payload) => {
      fast.push(readStringPayload(payload));
    });

    for (const name of ["a", "b", "c"]) {
      daemon.clients[0].sendEvent(NETWORK_LIFECYCLE, stringPayload(name));
    }
    await eventually(() => fast.length === 3, "three events at the fast listener");
    const result = connection.call(HOSTNAME);
    (await daemon.nextCall(HOSTNAME)).reply(stringPayload("still answered"));

    assert.equal(readStringPayload(await result), "still answered");
    assert.deepEqual(fast, ["a", "b", "c"]);
    assert.deepEqual(slow, ["a"]);
    releaseSlowListener();
    await eventually(() => slow.length === 3, "the slow listener to catch up");
    assert.deepEqual(slow, ["a", "b", "c"]);
  });

  it("keeps delivering after a listener throws", async () => {
    await setup();
    const received: string[] = [];
    connection.subscribe(NETWORK_LIFECYCLE, (payload) => {
      const name = readStringPayload(payload);
      received.push(name);
      if (name === "first") {
        throw new Error("listener failure");
      }
    });

    daemon.clients[0].sendEvent(NETWORK_LIFECYCLE, stringPayload("first"));
    daemon.clients[0].sendEvent(NETWORK_LIFECYCLE, stringPayload("second"));

    await eventually(() => received.length === 2, "both events");
    assert.deepEqual(received, ["first", "second"]);
    assert.equal(connection.connected, true);
  });

  it("drops events beyond a full queue", async () => {
    const warnings: Array<[object, string]> = [];
    const logger = {
      debug: () => undefined,
      warn: (context: object, message: string) => warnings.push([context, message]),
      error: () => undefined,
    };
    await setup({ maxQueuedMessages: 2, logger });
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const received: string[] = [];
    connection.subscribe(NETWORK_LIFECYCLE, async (payload) => {
      received.push(readStringPayload(payload));
      await released;
    });
    const client = daemon.clients[0];
    client.sendEvent(NETWORK_LIFECYCLE, stringPayload("1"));
    await eventually(() => received.length === 1, "the first event");

    // The listener is busy with event 1, so 2 and 3 fill the queue and 4 and 5 are dropped.
    for (const name of ["2", "3", "4", "5"]) {
      client.sendEvent(NETWORK_LIFECYCLE, stringPayload(name));
    }
    const result = connection.call(HOSTNAME);
    (await daemon.nextCall(HOSTNAME)).reply(stringPayload("h"));
    await result;
    release();
    await eventually(() => warnings.length === 2, "the second warning");

    assert.deepEqual(received, ["1", "2", "3"]);
    assert.match(warnings[0][1], /too slow: dropping events/);
    assert.deepEqual(warnings[1][0], { procedure: NETWORK_LIFECYCLE, droppedMessages: 2 });
  });

  it("reports dropped events once the listener caught up", async () => {
    await setup({ maxQueuedMessages: 1 });
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const dropped: number[] = [];
    connection.subscribe(
      NETWORK_LIFECYCLE,
      async () => {
        await released;
      },
      { onDropped: (count) => dropped.push(count) },
    );
    const client = daemon.clients[0];
    client.sendEvent(NETWORK_LIFECYCLE, stringPayload("1"));
    await delay(20);

    // Event 1 is being delivered, 2 fills the queue, 3 and 4 are dropped.
    for (const name of ["2", "3", "4"]) {
      client.sendEvent(NETWORK_LIFECYCLE, stringPayload(name));
    }
    const result = connection.call(HOSTNAME);
    (await daemon.nextCall(HOSTNAME)).reply(stringPayload("h"));
    await result;
    assert.deepEqual(dropped, [], "dropped events are reported only after the queue drains");
    release();
    await eventually(() => dropped.length === 1, "the drop report");

    assert.deepEqual(dropped, [2]);
  });

  it("stops delivery after unsubscribe", async () => {
    await setup();
    const received: string[] = [];
    const subscription = connection.subscribe(NETWORK_LIFECYCLE, (payload) => {
      received.push(readStringPayload(payload));
    });
    daemon.clients[0].sendEvent(NETWORK_LIFECYCLE, stringPayload("before"));
    await eventually(() => received.length === 1, "the first event");

    subscription.unsubscribe();
    daemon.clients[0].sendEvent(NETWORK_LIFECYCLE, stringPayload("after"));
    const result = connection.call(HOSTNAME);
    (await daemon.nextCall(HOSTNAME)).reply(stringPayload("h"));
    await result;
    await delay(20);

    assert.deepEqual(received, ["before"]);
  });

  it("times out a call and drops its late reply", async () => {
    await setup();

    const error = await rejectionOf(connection.call(HOSTNAME, undefined, { timeoutMs: 30 }));

    assert.ok(error instanceof LibvirtTimeoutError);
    assert.match(error.message, /remote procedure 59 got no reply within 30 ms/);
    assert.equal(connection.pendingCalls, 0);
    (await daemon.nextCall(HOSTNAME)).reply(stringPayload("late"));
    const next = connection.call(HOSTNAME);
    (await daemon.nextCall(HOSTNAME, 2)).reply(stringPayload("on time"));
    assert.equal(readStringPayload(await next), "on time");
    assert.equal(connection.connected, true);
  });

  it("applies the default call timeout", async () => {
    await setup({ callTimeoutMs: 30 });

    const error = await rejectionOf(connection.call(HOSTNAME));

    assert.ok(error instanceof LibvirtTimeoutError);
    assert.equal(error.timeoutMs, 30);
  });

  it("close cancels pending calls", async () => {
    await setup();
    const pending = connection.call(HOSTNAME);
    await daemon.nextCall(HOSTNAME);
    const closeCauses: Array<Error | undefined> = [];
    connection.on("close", (cause) => closeCauses.push(cause));

    await connection.close();

    assert.deepEqual(closeCauses, [undefined]);
    assert.equal(connection.connected, false);
    const error = await rejectionOf(pending);
    assert.ok(error instanceof LibvirtConnectionError);
    assert.equal(error.reason, "not-connected");
    await connection.close();
    assert.equal(closeCauses.length, 1, "a second close must not emit again");
  });

  it("reports a missing socket as not connected", async () => {
    daemon = await FakeLibvirtd.start();

    const error = await rejectionOf(LibvirtConnection.connect(`${daemon.socketPath}.missing`));

    assert.ok(error instanceof LibvirtConnectionError);
    assert.equal(error.reason, "not-connected");
    assert.match(error.message, /cannot connect to libvirtd at .*libvirt-sock\.missing: .*ENOENT/);
  });
});
