import assert from "node:assert/strict";

import { changesBetween, NetworkCache, NetworkChange } from "./cache";
import type { Network } from "./model";

function network(name: string, overrides: Partial<Network> = {}): Network {
  return {
    name,
    uuid: `00000000-0000-0000-0000-${name.padStart(12, "0").slice(-12)}`,
    type: "isolated",
    bridge: `na-${name}`,
    ipv4: { address: "10.1.2.1", prefixLength: 24, dhcpRanges: [], dhcpHosts: [] },
    mtu: 0,
    autostart: true,
    active: true,
    persistent: true,
    connectivity: { hostReachesGuests: true, guestsReachOutside: false, dhcpSource: "none" },
    ...overrides,
  };
}

/** Starts a read and returns its sequence number and a function that ends it. */
function startRead(cache: NetworkCache): Promise<{ seq: number; end: () => void }> {
  return new Promise((resolveStarted) => {
    void cache.read(
      (seq) =>
        new Promise<void>((end) => {
          resolveStarted({ seq, end });
        }),
    );
  });
}

function summary(changes: NetworkChange[]): string[] {
  return changes.map((c) => `${c.type} ${c.name} ${c.source}`);
}

describe("NetworkCache", () => {
  it("keeps the result of the later read", async () => {
    const cache = new NetworkCache();
    const early = await startRead(cache);
    const late = await startRead(cache);

    cache.store("lab", network("lab", { active: true }), late.seq);
    const result = cache.store("lab", network("lab", { active: false }), early.seq);

    assert.equal(result.stored, false);
    assert.equal(cache.get("lab")?.active, true);
  });

  it("keeps a network missing against older reads", async () => {
    const cache = new NetworkCache();
    const early = await startRead(cache);
    const late = await startRead(cache);

    cache.store("lab", undefined, late.seq);
    late.end();
    cache.store("lab", network("lab"), early.seq);

    assert.equal(cache.get("lab"), undefined);
    assert.deepEqual(cache.list(), []);
  });

  it("forgets missing networks after older reads end", async () => {
    const cache = new NetworkCache();
    const early = await startRead(cache);
    const late = await startRead(cache);
    cache.store("lab", undefined, late.seq);
    late.end();
    early.end();
    await new Promise((resolve) => setImmediate(resolve));

    const next = await startRead(cache);
    const result = cache.store("lab", network("lab"), next.seq - 10);

    assert.equal(result.stored, true, "no entry is left that could reject the store");
  });

  it("lists networks by name", async () => {
    const cache = new NetworkCache();
    const read = await startRead(cache);

    for (const name of ["b", "c", "a"]) {
      cache.store(name, network(name), read.seq);
    }
    cache.store("d", undefined, read.seq);

    assert.deepEqual(cache.list().map((n) => n.name), ["a", "b", "c"]);
  });

  describe("replaceAll", () => {
    it("reports networks that appeared and vanished", async () => {
      const cache = new NetworkCache();
      const first = await startRead(cache);
      cache.replaceAll([network("old"), network("old-inactive", { active: false })], first.seq);
      const second = await startRead(cache);

      const changes = cache.replaceAll([network("new"), network("new-transient", { persistent: false })], second.seq);

      assert.deepEqual(summary(changes), [
        "defined new resync",
        "started new resync",
        "started new-transient resync",
        "stopped old resync",
        "undefined old resync",
        "undefined old-inactive resync",
      ]);
      assert.deepEqual(cache.list().map((n) => n.name), ["new", "new-transient"]);
    });

    it("keeps what a later read stored", async () => {
      const cache = new NetworkCache();
      const full = await startRead(cache);
      const single = await startRead(cache);
      cache.store("lab", network("lab", { active: false }), single.seq);
      cache.store("gone", undefined, single.seq);

      const changes = cache.replaceAll([network("lab", { active: true }), network("gone")], full.seq);

      assert.deepEqual(changes, []);
      assert.equal(cache.get("lab")?.active, false);
      assert.equal(cache.get("gone"), undefined);
    });
  });

  describe("write", () => {
    it("reports a changed definition as updated", async () => {
      const cache = new NetworkCache();
      const reported: NetworkChange[] = [];
      cache.on("change", (change) => reported.push(change));
      const before = await startRead(cache);
      cache.store("lab", network("lab"), before.seq);

      await cache.write("lab", async () => {
        assert.equal(cache.isWriting("lab"), true);
        await cache.read(async (seq) => cache.store("lab", network("lab", { autostart: false }), seq));
      });

      assert.deepEqual(summary(reported), ["updated lab agent"]);
      assert.equal(reported[0].network?.autostart, false);
      assert.equal(cache.isWriting("lab"), false);
    });

    it("reports nothing for a start or a create", async () => {
      const cache = new NetworkCache();
      const reported: NetworkChange[] = [];
      cache.on("change", (change) => reported.push(change));

      await cache.write("lab", () => cache.read(async (seq) => cache.store("lab", network("lab", { active: false }), seq)));
      await cache.write("lab", () => cache.read(async (seq) => cache.store("lab", network("lab", { active: true }), seq)));

      assert.deepEqual(reported, []);
    });
  });
});

describe("changesBetween", () => {
  const cases: Array<[string, Network | undefined, Network | undefined, string[]]> = [
    ["nothing", undefined, undefined, []],
    ["a define", undefined, network("n", { active: false }), ["defined"]],
    ["a create", undefined, network("n"), ["defined", "started"]],
    ["a stop", network("n"), network("n", { active: false }), ["stopped"]],
    ["a start", network("n", { active: false }), network("n"), ["started"]],
    ["an undefine of an active network", network("n"), network("n", { persistent: false }), ["undefined"]],
    ["a define of a transient network", network("n", { persistent: false }), network("n"), ["defined"]],
    ["a changed definition", network("n"), network("n", { bridge: "other" }), ["updated"]],
    ["a change and a restart", network("n", { active: false }), network("n", { autostart: false }), ["updated", "started"]],
    [
      "a new network of the same name",
      network("n"),
      network("n", { uuid: "ffffffff-0000-0000-0000-000000000000" }),
      ["stopped", "undefined", "defined", "started"],
    ],
  ];
  for (const [label, before, after, expected] of cases) {
    it(`lists ${label}`, () => {
      assert.deepEqual(
        changesBetween("n", before, after, "resync").map((c) => c.type),
        expected,
      );
    });
  }

  it("ignores the order of fields", () => {
    const { name, uuid, ...rest } = network("n");
    const reordered = { ...rest, uuid, name } as Network;

    assert.deepEqual(changesBetween("n", network("n"), reordered, "resync"), []);
  });
});
