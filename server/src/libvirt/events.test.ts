import assert from "node:assert/strict";
import { once } from "node:events";

import { LibvirtClient } from "./client";
import { LibvirtError } from "./errors";
import {
  DomainDeviceMessage,
  DomainLifecycleMessage,
  NetworkLifecycleMessage,
  registerDomainDeviceEvents,
  registerDomainLifecycleEvents,
  registerNetworkLifecycleEvents,
} from "./events";
import { FAKE_DEFAULT_NETWORK, FakeCallHandler, FakeClient, FakeLibvirtd } from "./fake-libvirtd";
import {
  DomainEventId,
  DomainLifecycleEvent as DomainLifecycle,
  ErrorCode,
  ErrorDomain,
  NetworkEventId,
  NetworkLifecycleEvent as NetworkLifecycle,
  RemoteProcedure,
} from "./protocol";
import { DomainRef, readDomainRef, readNetworkRef } from "./structs";
import { XdrReader, XdrWriter } from "./xdr";

const NETWORK_REGISTER = RemoteProcedure.CONNECT_NETWORK_EVENT_REGISTER_ANY;
const DOMAIN_REGISTER = RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY;

const GUEST: DomainRef = { name: "guest", uuid: Buffer.from("0123456789abcdef0123456789abcdef", "hex"), id: 3 };

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function eventually(condition: () => boolean, description: string, timeoutMs = 1500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await delay(5);
  }
}

describe("libvirt event registration", () => {
  let daemon: FakeLibvirtd;
  let client: LibvirtClient;
  let peer: FakeClient;

  async function connect(handler?: FakeCallHandler): Promise<void> {
    daemon = await FakeLibvirtd.start(handler);
    client = await LibvirtClient.connect({ socketPath: daemon.socketPath, keepaliveIntervalMs: 0 });
    peer = daemon.clients[0];
  }

  afterEach(async () => {
    client?.connection.destroy();
    await daemon?.stop();
  });

  it("decodes network lifecycle events", async () => {
    await connect();
    const received: NetworkLifecycleMessage[] = [];

    const registration = await registerNetworkLifecycleEvents(client, (event) => {
      received.push(event);
    });
    peer.sendNetworkLifecycle(registration.callbackId, FAKE_DEFAULT_NETWORK, NetworkLifecycle.STARTED, 0);
    await eventually(() => received.length === 1, "the event");

    assert.equal(registration.callbackId, 1);
    assert.deepEqual(received, [
      { callbackId: 1, network: FAKE_DEFAULT_NETWORK, event: NetworkLifecycle.STARTED, detail: 0 },
    ]);
  });

  it("sends the event id and no network by default", async () => {
    await connect();

    await registerNetworkLifecycleEvents(client, () => undefined);
    const call = await daemon.nextCall(NETWORK_REGISTER);
    const reader = new XdrReader(call.args);

    assert.equal(reader.readInt(), NetworkEventId.LIFECYCLE);
    assert.equal(reader.readOptional(readNetworkRef), undefined);
    assert.equal(reader.remaining, 0);
  });

  it("sends the network to watch when given", async () => {
    await connect();

    await registerNetworkLifecycleEvents(client, () => undefined, { network: FAKE_DEFAULT_NETWORK });
    const reader = new XdrReader((await daemon.nextCall(NETWORK_REGISTER)).args);

    assert.equal(reader.readInt(), NetworkEventId.LIFECYCLE);
    assert.deepEqual(reader.readOptional(readNetworkRef), FAKE_DEFAULT_NETWORK);
  });

  it("keys events by procedure and callback id", async () => {
    await connect();
    const networkEvents: string[] = [];
    const otherNetworkEvents: string[] = [];
    const domainEvents: string[] = [];

    const first = await registerNetworkLifecycleEvents(client, (e) => {
      networkEvents.push(`${e.network.name}:${e.event}`);
    });
    const second = await registerNetworkLifecycleEvents(client, (e) => {
      otherNetworkEvents.push(`${e.network.name}:${e.event}`);
    });
    const domain = await registerDomainLifecycleEvents(client, (e) => {
      domainEvents.push(`${e.domain.name}:${e.event}`);
    });
    // Network and domain callbacks are counted separately, so both families use id 1.
    peer.sendDomainLifecycle(1, GUEST, DomainLifecycle.STARTED);
    peer.sendNetworkLifecycle(2, FAKE_DEFAULT_NETWORK, NetworkLifecycle.STOPPED);
    peer.sendNetworkLifecycle(1, FAKE_DEFAULT_NETWORK, NetworkLifecycle.STARTED);
    await eventually(() => networkEvents.length + otherNetworkEvents.length + domainEvents.length === 3, "three events");

    assert.deepEqual([first.callbackId, second.callbackId, domain.callbackId], [1, 2, 1]);
    assert.deepEqual(networkEvents, [`default:${NetworkLifecycle.STARTED}`]);
    assert.deepEqual(otherNetworkEvents, [`default:${NetworkLifecycle.STOPPED}`]);
    assert.deepEqual(domainEvents, [`guest:${DomainLifecycle.STARTED}`]);
  });

  it("delivers an event sent before the register reply", async () => {
    // libvirtd may queue an event for a callback before it replies with the callback's id.
    await connect((call) => {
      if (call.procedure !== NETWORK_REGISTER) {
        return false;
      }
      call.client.sendNetworkLifecycle(7, FAKE_DEFAULT_NETWORK, NetworkLifecycle.DEFINED);
      call.reply(new XdrWriter().writeInt(7).finish());
      return true;
    });
    const received: NetworkLifecycleMessage[] = [];

    const registration = await registerNetworkLifecycleEvents(client, (event) => {
      received.push(event);
    });
    await eventually(() => received.length === 1, "the early event");

    assert.equal(registration.callbackId, 7);
    assert.equal(received[0].event, NetworkLifecycle.DEFINED);
  });

  it("routes device events by kind", async () => {
    await connect();
    const received: Array<[string, DomainDeviceMessage]> = [];

    for (const kind of ["added", "removed", "removal-failed"] as const) {
      await registerDomainDeviceEvents(client, kind, (event) => {
        received.push([kind, event]);
      });
    }
    const ids = peer.registrations.map((r) => [r.family, r.eventId, r.callbackId]);
    peer.sendDomainDeviceEvent(RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, 2, GUEST, "net1");
    peer.sendDomainDeviceEvent(RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_ADDED, 1, GUEST, "net0");
    peer.sendDomainDeviceEvent(RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED, 3, GUEST, "ua-nic");
    await eventually(() => received.length === 3, "three device events");

    assert.deepEqual(ids, [
      [DOMAIN_REGISTER, DomainEventId.DEVICE_ADDED, 1],
      [DOMAIN_REGISTER, DomainEventId.DEVICE_REMOVED, 2],
      [DOMAIN_REGISTER, DomainEventId.DEVICE_REMOVAL_FAILED, 3],
    ]);
    assert.deepEqual(received, [
      ["removed", { callbackId: 2, domain: GUEST, alias: "net1" }],
      ["added", { callbackId: 1, domain: GUEST, alias: "net0" }],
      ["removal-failed", { callbackId: 3, domain: GUEST, alias: "ua-nic" }],
    ]);
  });

  it("sends the domain to watch when given", async () => {
    await connect();

    await registerDomainLifecycleEvents(client, () => undefined, { domain: GUEST });
    const reader = new XdrReader((await daemon.nextCall(DOMAIN_REGISTER)).args);

    assert.equal(reader.readInt(), DomainEventId.LIFECYCLE);
    assert.deepEqual(reader.readOptional(readDomainRef), GUEST);
    assert.equal(reader.remaining, 0);
  });

  it("deregister stops delivery and frees the id", async () => {
    await connect();
    const received: DomainLifecycleMessage[] = [];
    const registration = await registerDomainLifecycleEvents(client, (event) => {
      received.push(event);
    });

    await registration.deregister();
    const call = await daemon.nextCall(RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY);
    peer.sendDomainLifecycle(registration.callbackId, GUEST, DomainLifecycle.STOPPED);
    await client.getHostname().catch(() => undefined);
    await delay(20);

    assert.equal(new XdrReader(call.args).readInt(), registration.callbackId);
    assert.deepEqual(peer.registrations, []);
    assert.deepEqual(received, []);
  });

  it("deregister on a lost connection resolves", async () => {
    await connect();
    const registration = await registerNetworkLifecycleEvents(client, () => undefined);
    const closed = once(client, "close");
    peer.socket.destroy();
    await closed;

    await registration.deregister();

    assert.equal(daemon.callsOf(RemoteProcedure.CONNECT_NETWORK_EVENT_DEREGISTER_ANY).length, 0);
  });

  it("rejects with libvirt's error and delivers nothing", async () => {
    await connect((call) => {
      if (call.procedure !== NETWORK_REGISTER) {
        return false;
      }
      call.replyError({ code: ErrorCode.NO_SUPPORT, domain: ErrorDomain.REMOTE, message: "this function is not supported" });
      return true;
    });
    const received: NetworkLifecycleMessage[] = [];

    const error = await registerNetworkLifecycleEvents(client, (event) => {
      received.push(event);
    }).catch((rejection: unknown) => rejection);
    peer.sendNetworkLifecycle(1, FAKE_DEFAULT_NETWORK, NetworkLifecycle.STARTED);
    await delay(20);

    assert.ok(error instanceof LibvirtError, `expected LibvirtError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.NO_SUPPORT);
    assert.deepEqual(received, []);
  });

  it("skips a malformed event and keeps delivering", async () => {
    await connect();
    const received: NetworkLifecycleMessage[] = [];
    await registerNetworkLifecycleEvents(client, (event) => {
      received.push(event);
    });

    // The callback id matches, but the network name is cut off.
    peer.sendEvent(RemoteProcedure.NETWORK_EVENT_LIFECYCLE, new XdrWriter().writeInt(1).writeInt(40).finish());
    peer.sendNetworkLifecycle(1, FAKE_DEFAULT_NETWORK, NetworkLifecycle.UNDEFINED);
    await eventually(() => received.length === 1, "the valid event");

    assert.equal(received[0].event, NetworkLifecycle.UNDEFINED);
    assert.equal(client.connected, true);
  });
});
