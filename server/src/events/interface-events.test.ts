import assert from "node:assert/strict";
import { once } from "node:events";

import { FakeClient, FakeLibvirtd } from "../libvirt/fake-libvirtd";
import { DomainEventId, DomainLifecycleEvent, RemoteProcedure } from "../libvirt/protocol";
import { LibvirtSession } from "../libvirt/session";
import { DomainRef, formatUuid, readDomainRef, writeDomainRef } from "../libvirt/structs";
import { XdrReader, XdrWriter } from "../libvirt/xdr";
import { InterfaceEventSource } from "./interface-events";
import type { InterfaceChange } from "./model";

const DOMAIN_REGISTER = RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY;
const GUEST: DomainRef = { name: "guest", uuid: Buffer.from("0123456789abcdef0123456789abcdef", "hex"), id: 4 };

function guestXml(nics: Array<{ alias: string; mac: string; network: string }>): string {
  const interfaces = nics
    .map((nic) => `<interface type='network'><mac address='${nic.mac}'/><source network='${nic.network}'/><alias name='${nic.alias}'/></interface>`)
    .join("");
  return `<domain type='qemu'><name>guest</name><devices><disk type='file'><alias name='virtio-disk0'/></disk>${interfaces}</devices></domain>`;
}

async function eventually(condition: () => boolean, description: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("InterfaceEventSource", () => {
  let daemon: FakeLibvirtd;
  let session: LibvirtSession;
  let changes: InterfaceChange[];
  let xml: string;

  beforeEach(async () => {
    xml = guestXml([{ alias: "net0", mac: "52:54:00:00:00:01", network: "lab" }]);
    daemon = await FakeLibvirtd.start((call) => {
      if (call.procedure === RemoteProcedure.CONNECT_LIST_ALL_DOMAINS) {
        const writer = new XdrWriter().writeArray([GUEST], 16384, writeDomainRef).writeUint(1);
        call.reply(writer.finish());
        return true;
      }
      if (call.procedure === RemoteProcedure.DOMAIN_GET_XML_DESC) {
        assert.deepEqual(readDomainRef(new XdrReader(call.args)), GUEST);
        call.reply(new XdrWriter().writeString(xml).finish());
        return true;
      }
      return false;
    });
    session = new LibvirtSession({ socketPath: daemon.socketPath, keepaliveIntervalMs: 0 });
    changes = [];
    new InterfaceEventSource(session, (change) => changes.push(change), { debug: () => undefined, warn: () => undefined, error: () => undefined });
    session.start();
    await once(session, "ready");
  });

  afterEach(async () => {
    await session.close();
    await daemon.stop();
  });

  function peer(): FakeClient {
    return daemon.clients[daemon.clients.length - 1];
  }

  function send(eventId: number, procedure: number, alias: string): void {
    const callbackId = peer().callbackIdFor(DOMAIN_REGISTER, eventId);
    assert.ok(callbackId !== undefined, `no callback registered for domain event ${eventId}`);
    peer().sendDomainDeviceEvent(procedure, callbackId, GUEST, alias);
  }

  it("reports an attached interface with MAC and network", async () => {
    xml = guestXml([
      { alias: "net0", mac: "52:54:00:00:00:01", network: "lab" },
      { alias: "net1", mac: "52:54:00:00:00:02", network: "other" },
    ]);

    send(DomainEventId.DEVICE_ADDED, RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_ADDED, "net1");
    await eventually(() => changes.length === 1, "the interface event");

    assert.deepEqual(changes, [
      { type: "attached", domain: "guest", domainUuid: formatUuid(GUEST.uuid), alias: "net1", mac: "52:54:00:00:00:02", network: "other" },
    ]);
  });

  it("reports a removed interface from the XML read before", async () => {
    // The guest's XML no longer lists net0 once libvirt reports it removed.
    xml = guestXml([]);

    send(DomainEventId.DEVICE_REMOVED, RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, "net0");
    send(DomainEventId.DEVICE_REMOVAL_FAILED, RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED, "net0");
    await eventually(() => changes.length === 2, "two interface events");

    assert.deepEqual(
      changes.map((c) => [c.type, c.alias, c.mac, c.network]),
      [
        ["detached", "net0", "52:54:00:00:00:01", "lab"],
        ["detach-failed", "net0", undefined, undefined],
      ],
    );
  });

  it("ignores devices that are not interfaces", async () => {
    send(DomainEventId.DEVICE_REMOVED, RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, "virtio-disk0");
    send(DomainEventId.DEVICE_ADDED, RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_ADDED, "net0");
    await eventually(() => changes.length === 1, "the interface event");

    assert.deepEqual(changes.map((c) => `${c.type} ${c.alias}`), ["attached net0"]);
  });

  it("forgets a stopped domain's interfaces", async () => {
    const lifecycle = peer().callbackIdFor(DOMAIN_REGISTER, DomainEventId.LIFECYCLE);
    assert.ok(lifecycle !== undefined);
    peer().sendDomainLifecycle(lifecycle, GUEST, DomainLifecycleEvent.STOPPED);

    send(DomainEventId.DEVICE_REMOVED, RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, "net0");
    await eventually(() => changes.length === 1, "the interface event");

    // libvirt named it net0, so it is still reported, without the MAC the agent no longer has.
    assert.deepEqual(changes.map((c) => [c.type, c.mac]), [["detached", undefined]]);
  });

  it("registers again after a reconnect", async () => {
    await daemon.kill();
    const ready = once(session, "ready");
    await daemon.restart();
    await ready;
    xml = guestXml([{ alias: "net5", mac: "52:54:00:00:00:05", network: "lab" }]);

    send(DomainEventId.DEVICE_ADDED, RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_ADDED, "net5");
    await eventually(() => changes.length === 1, "the interface event");

    assert.equal(peer().registrations.length, 4);
    assert.equal(changes[0].mac, "52:54:00:00:00:05");
  });
});
