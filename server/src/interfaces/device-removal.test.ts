import assert from "node:assert/strict";

import { DomainEventId, DomainRef, LibvirtClient, readDomainRef, RemoteProcedure, writeDomainRef, XdrReader, XdrWriter } from "../libvirt";
import { FakeLibvirtd } from "../libvirt/fake-libvirtd";
import { DeviceRemovalWatch } from "./device-removal";

const GUEST: DomainRef = { name: "guest", uuid: Buffer.alloc(16, 1), id: 3 };
const OTHER: DomainRef = { name: "other", uuid: Buffer.alloc(16, 2), id: 4 };

// The fake daemon hands out these callback ids, in registration order.
const REMOVED_ID = 11;
const FAILED_ID = 12;

function eventPayload(callbackId: number, domain: DomainRef, alias: string): Buffer {
  const writer = new XdrWriter().writeInt(callbackId);
  writeDomainRef(writer, domain);
  return writer.writeString(alias).finish();
}

describe("DeviceRemovalWatch", () => {
  let daemon: FakeLibvirtd;
  let client: LibvirtClient;
  let watch: DeviceRemovalWatch | undefined;

  beforeEach(async () => {
    const callbackIds = [REMOVED_ID, FAILED_ID];
    daemon = await FakeLibvirtd.start((call) => {
      if (call.procedure === RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY) {
        call.reply(new XdrWriter().writeInt(callbackIds.shift()!).finish());
        return true;
      }
      if (call.procedure === RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY) {
        call.reply();
        return true;
      }
      return false;
    });
    client = await LibvirtClient.connect({ socketPath: daemon.socketPath, uri: "test:///default" });
  });

  afterEach(async () => {
    await watch?.close();
    watch = undefined;
    client.connection.destroy();
    await daemon.stop();
  });

  function sendEvent(procedure: number, payload: Buffer): void {
    daemon.clients[0].sendEvent(procedure, payload);
  }

  it("registers both events for the domain", async () => {
    watch = await DeviceRemovalWatch.open(client, GUEST);

    const registrations = daemon.callsOf(RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY).map((call) => {
      const reader = new XdrReader(call.args);
      const eventId = reader.readInt();
      const domain = reader.readOptional(readDomainRef);
      reader.expectEnd();
      return [eventId, domain?.name];
    });
    assert.deepEqual(registrations, [
      [DomainEventId.DEVICE_REMOVED, "guest"],
      [DomainEventId.DEVICE_REMOVAL_FAILED, "guest"],
    ]);
  });

  it("resolves removed on DEVICE_REMOVED", async () => {
    watch = await DeviceRemovalWatch.open(client, GUEST);
    const outcome = watch.waitFor("net1", 2000);

    sendEvent(RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, eventPayload(REMOVED_ID, GUEST, "net1"));

    assert.equal(await outcome, "removed");
  });

  it("resolves at once for an earlier event", async () => {
    watch = await DeviceRemovalWatch.open(client, GUEST);
    sendEvent(RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, eventPayload(REMOVED_ID, GUEST, "net1"));
    await new Promise((resolve) => setTimeout(resolve, 50));

    assert.equal(await watch.waitFor("net1", 2000), "removed");
  });

  it("resolves removal-failed on DEVICE_REMOVAL_FAILED", async () => {
    watch = await DeviceRemovalWatch.open(client, GUEST);
    const outcome = watch.waitFor("net1", 2000);

    sendEvent(RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED, eventPayload(FAILED_ID, GUEST, "net1"));

    assert.equal(await outcome, "removal-failed");
  });

  it("ignores other aliases, domains and callbacks", async () => {
    watch = await DeviceRemovalWatch.open(client, GUEST);
    const outcome = watch.waitFor("net1", 300);

    sendEvent(RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, eventPayload(REMOVED_ID, GUEST, "net2"));
    sendEvent(RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, eventPayload(REMOVED_ID, OTHER, "net1"));
    sendEvent(RemoteProcedure.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, eventPayload(99, GUEST, "net1"));

    assert.equal(await outcome, "timed-out");
  });

  it("times out when aborted", async () => {
    watch = await DeviceRemovalWatch.open(client, GUEST);
    const controller = new AbortController();
    const outcome = watch.waitFor("net1", 60_000, controller.signal);

    controller.abort();

    assert.equal(await outcome, "timed-out");
  });

  it("close deregisters both callbacks", async () => {
    watch = await DeviceRemovalWatch.open(client, GUEST);

    await watch.close();
    await watch.close();

    const deregistered = daemon
      .callsOf(RemoteProcedure.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY)
      .map((call) => new XdrReader(call.args).readInt());
    assert.deepEqual(deregistered, [REMOVED_ID, FAILED_ID]);
  });
});
