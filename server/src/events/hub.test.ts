import assert from "node:assert/strict";

import { UnavailableError } from "../errors";
import type { NetworkChange } from "../networks/cache";
import { validateEventFilter } from "./filter";
import { EventHub } from "./hub";
import type { AgentEvent, InterfaceChange } from "./model";

function networkEvent(name: string, type: NetworkChange["type"] = "started"): AgentEvent {
  return { kind: "network", time: new Date(), change: { type, name, uuid: "", network: undefined, source: "libvirt" } };
}

function interfaceEvent(domain: string, network: string | undefined): AgentEvent {
  const change: InterfaceChange = { type: "attached", domain, domainUuid: "", alias: "net0", mac: undefined, network };
  return { kind: "interface", time: new Date(), change };
}

function label(event: AgentEvent | undefined): string {
  switch (event?.kind) {
    case "network":
      return `network ${event.change.type} ${event.change.name}`;
    case "interface":
      return `interface ${event.change.domain} ${event.change.network ?? "-"}`;
    case "resync":
      return `resync ${event.reason}`;
    default:
      return "end";
  }
}

describe("EventHub", () => {
  it("starts every watch with a marker", async () => {
    const hub = new EventHub();
    const watcher = hub.watch({});

    hub.publish(networkEvent("lab"));

    assert.equal(label(await watcher.next()), "resync watch-started");
    assert.equal(label(await watcher.next()), "network started lab");
  });

  it("delivers to a waiting watcher", async () => {
    const hub = new EventHub();
    const watcher = hub.watch({});
    await watcher.next();

    const next = watcher.next();
    hub.publish(networkEvent("lab", "defined"));

    assert.equal(label(await next), "network defined lab");
  });

  const filterCases: Array<[string, { network?: string; domain?: string }, string[]]> = [
    ["no filter", {}, ["network started a", "network started b", "interface g1 a", "interface g2 b", "resync libvirt-reconnected"]],
    ["a network", { network: "a" }, ["network started a", "interface g1 a", "resync libvirt-reconnected"]],
    ["a domain", { domain: "g2" }, ["interface g2 b", "resync libvirt-reconnected"]],
    ["both", { network: "a", domain: "g2" }, ["resync libvirt-reconnected"]],
  ];
  for (const [name, filter, expected] of filterCases) {
    it(`filters by ${name}`, async () => {
      const hub = new EventHub();
      const watcher = hub.watch(filter);
      await watcher.next();

      hub.publish(networkEvent("a"));
      hub.publish(networkEvent("b"));
      hub.publish(interfaceEvent("g1", "a"));
      hub.publish(interfaceEvent("g2", "b"));
      hub.publish({ kind: "resync", time: new Date(), reason: "libvirt-reconnected", message: "" });
      const received: string[] = [];
      for (let i = 0; i < expected.length; i++) {
        received.push(label(await watcher.next()));
      }

      assert.deepEqual(received, expected);
    });
  }

  it("replaces a full queue with a marker", async () => {
    const hub = new EventHub({ maxQueuedEvents: 3 });
    const watcher = hub.watch({});

    for (const name of ["a", "b", "c", "d"]) {
      hub.publish(networkEvent(name));
    }
    const received: string[] = [];
    for (let i = 0; i < 3; i++) {
      received.push(label(await watcher.next()));
    }

    // The first marker, a and b filled the queue, so c replaced them with a marker.
    assert.deepEqual(received, ["resync events-dropped", "network started c", "network started d"]);
  });

  it("keeps a slow watcher from delaying others", async () => {
    const hub = new EventHub({ maxQueuedEvents: 2 });
    const slow = hub.watch({});
    const fast = hub.watch({});
    await fast.next();

    for (const name of ["a", "b", "c"]) {
      hub.publish(networkEvent(name));
      assert.equal(label(await fast.next()), `network started ${name}`);
    }

    assert.equal(label(await slow.next()), "resync events-dropped");
  });

  it("ends watchers with the close reason", async () => {
    const hub = new EventHub();
    const watcher = hub.watch({});
    await watcher.next();
    const waiting = watcher.next();

    hub.close(new UnavailableError("the agent is shutting down"));

    await assert.rejects(waiting, /the agent is shutting down/);
    assert.throws(() => hub.watch({}), /the agent is shutting down/);
    assert.equal(hub.size, 0);
  });

  it("ends a watch when its signal aborts", async () => {
    const hub = new EventHub();
    const watcher = hub.watch({});
    await watcher.next();
    const abort = new AbortController();

    const waiting = watcher.next(abort.signal);
    abort.abort();
    watcher.close();

    assert.equal(await waiting, undefined);
    assert.equal(hub.size, 0);
  });
});

describe("validateEventFilter", () => {
  it("accepts empty filters", () => {
    assert.doesNotThrow(() => validateEventFilter({ network: "", domain: "" }));
  });

  it("rejects a malformed network name", () => {
    assert.throws(() => validateEventFilter({ network: "a/b" }), (error: Error) => {
      assert.match(error.message, /^network: /);
      return true;
    });
  });

  it("rejects a control character in the domain", () => {
    assert.throws(() => validateEventFilter({ domain: "guest\n" }), /domain: invalid value: contains a control character/);
  });
});
