import assert from "node:assert/strict";
import { once } from "node:events";

import { UnavailableError } from "../errors";
import { FakeLibvirtd } from "../libvirt/fake-libvirtd";
import { RemoteProcedure } from "../libvirt/protocol";
import { LibvirtSession } from "../libvirt/session";
import type { NetworkChange } from "./cache";
import { FakeNetworkDriver } from "./fake-network-driver";
import { NetworkManager } from "./manager";
import type { ResyncReason } from "./sync";

function isolatedXml(name: string, subnet: string): string {
  return `<network><name>${name}</name><bridge name='na-${name}'/><ip address='${subnet}.1' prefix='24'/></network>`;
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

describe("NetworkManager with its cache", () => {
  let daemon: FakeLibvirtd;
  let driver: FakeNetworkDriver;
  let session: LibvirtSession;
  let manager: NetworkManager;
  let changes: string[];
  let resyncs: Array<[ResyncReason, string[]]>;

  const summary = (change: NetworkChange) => `${change.type} ${change.name} ${change.source}`;

  beforeEach(async () => {
    daemon = await FakeLibvirtd.start();
    driver = new FakeNetworkDriver(daemon);
    driver.define("existing", isolatedXml("existing", "10.9.1"), { active: true });
    session = new LibvirtSession({ socketPath: daemon.socketPath, keepaliveIntervalMs: 0, reconnectInitialDelayMs: 10 });
    manager = new NetworkManager(session);
    changes = [];
    resyncs = [];
    manager.sync.on("change", (change) => changes.push(summary(change)));
    manager.sync.on("resync", (reason, found) => resyncs.push([reason, found.map(summary)]));
    session.start();
    await once(session, "ready");
  });

  afterEach(async () => {
    await session.close();
    await daemon.stop();
  });

  it("lists from the cache without libvirt calls", async () => {
    const callsBefore = daemon.calls.length;

    const networks = await manager.list();
    const network = await manager.get("existing");

    assert.deepEqual(networks.map((n) => n.name), ["existing"]);
    assert.equal(network.active, true);
    assert.equal(daemon.calls.length, callsBefore);
  });

  it("reads its own writes at once", async () => {
    const created = await manager.create({ name: "own", type: "isolated", ipv4: { address: "10.9.2.1/24", dhcpRanges: [] } });
    const read = await manager.get("own");
    const stopped = await manager.stop("own");
    const readStopped = await manager.get("own");
    await manager.delete("own");

    assert.equal(read.uuid, created.uuid);
    assert.equal(read.active, true);
    assert.equal(stopped.active, false);
    assert.equal(readStopped.active, false);
    await assert.rejects(manager.get("own"), /network 'own' not found/);
  });

  it("sees a network defined behind its back", async () => {
    driver.define("outside", isolatedXml("outside", "10.9.3"), { active: true });

    await eventually(() => changes.includes("started outside libvirt"), "the started event");

    assert.deepEqual(changes, ["defined outside libvirt", "started outside libvirt"]);
    assert.equal((await manager.get("outside")).active, true);
  });

  it("reports a redefinition as defined and updated", async () => {
    // Another client redefines the network with a new subnet.
    const existing = driver.networks.get("existing")!;
    existing.active = false;
    existing.xml = isolatedXml("existing", "10.9.4");
    driver.networks.set("existing", existing);
    daemon.clients[0].sendNetworkLifecycle(1, { name: "existing", uuid: existing.uuid }, 0);

    await eventually(() => changes.length === 2, "two changes");

    assert.deepEqual(changes, ["defined existing libvirt", "updated existing libvirt"]);
    assert.equal((await manager.get("existing")).ipv4?.address, "10.9.4.1");
  });

  it("fails reads fast while libvirtd is down", async () => {
    await daemon.kill();
    await once(session, "unavailable");

    await assert.rejects(manager.list(), UnavailableError);
    await assert.rejects(manager.get("existing"), UnavailableError);
  });

  it("resyncs what changed during an outage", async () => {
    await daemon.kill();
    await once(session, "unavailable");
    driver.networks.get("existing")!.active = false;
    driver.networks.set("new", { name: "new", uuid: Buffer.alloc(16, 7), xml: isolatedXml("new", "10.9.5"), active: false, persistent: true, autostart: false });

    const ready = once(session, "ready");
    await daemon.restart();
    await ready;

    assert.deepEqual(resyncs.at(-1), ["reconnected", ["stopped existing resync", "defined new resync"]]);
    assert.equal((await manager.get("existing")).active, false);
    assert.equal((await manager.get("new")).persistent, true);
  });

  it("resyncs a change without event periodically", async () => {
    const periodic = new LibvirtSession({ socketPath: daemon.socketPath, keepaliveIntervalMs: 0 });
    const watched = new NetworkManager(periodic, { resyncPeriodMs: 50 });
    const found: Array<[ResyncReason, string[]]> = [];
    watched.sync.on("resync", (reason, list) => found.push([reason, list.map(summary)]));
    periodic.start();
    await once(periodic, "ready");

    // libvirt sends no event for an autostart change.
    driver.networks.get("existing")!.autostart = true;
    await eventually(() => found.some(([reason, list]) => reason === "periodic" && list.length > 0), "a periodic resync with a change");
    await periodic.close();

    assert.deepEqual(found.find(([reason, list]) => reason === "periodic" && list.length > 0), ["periodic", ["updated existing resync"]]);
    assert.equal((await watched.cache.get("existing"))?.autostart, true);
  });

  it("drops an undone create from the cache at once", async () => {
    driver.failedStarts.add("clash");

    await assert.rejects(
      manager.create({ name: "clash", type: "isolated", ipv4: { address: "10.9.7.1/24", dhcpRanges: [] } }),
      /libvirt failed to start network 'clash': internal error: Network is already in use/,
    );
    const names = (await manager.list()).map((n) => n.name);

    assert.deepEqual(names, ["existing"]);
    assert.equal(driver.networks.has("clash"), false);
  });

  it("removes a create cut off by a lost connection", async () => {
    driver.heldStarts.add("cut");
    const creating = manager.create({ name: "cut", type: "isolated", ipv4: { address: "10.9.6.1/24", dhcpRanges: [] } });
    await daemon.nextCall(RemoteProcedure.NETWORK_CREATE);

    await daemon.kill();
    await assert.rejects(creating, /^UnavailableError: the libvirt connection was lost during the start step of network 'cut'; the agent removes the half-made network once it reconnects to libvirtd, so retrying the create is safe$/);
    assert.equal(driver.networks.get("cut")?.persistent, true, "the define step had happened");
    driver.heldStarts.clear();
    const ready = once(session, "ready");
    await daemon.restart();
    await ready;

    assert.equal(driver.networks.has("cut"), false);
    assert.deepEqual((await manager.list()).map((n) => n.name), ["existing"]);
    const undefines = daemon.callsOf(RemoteProcedure.NETWORK_UNDEFINE);
    assert.equal(undefines.length, 1);
  });
});
