import assert from "node:assert/strict";

import { FailedPreconditionError } from "../errors";
import { chooseViewsToChange, chooseViewsToDetach, DomainViews, findInterface, mergeViews } from "./domain-views";
import { parseDomainInterfaces } from "./domain-xml";

function domainXml(...interfaces: string[]): string {
  return `<domain><devices>${interfaces.join("")}</devices></domain>`;
}

function networkInterface(mac: string, alias?: string): string {
  const aliasElement = alias === undefined ? "" : `<alias name='${alias}'/>`;
  return `<interface type='network'><mac address='${mac}'/><source network='lab'/>${aliasElement}</interface>`;
}

const A = "52:54:00:00:00:0a";
const B = "52:54:00:00:00:0b";
const C = "52:54:00:00:00:0c";

// A running, persistent domain: A in both views, B only live (hot-plugged), C only in the config.
const VIEWS: DomainViews = {
  live: parseDomainInterfaces(domainXml(networkInterface(A, "net0"), networkInterface(B, "net1"))),
  config: parseDomainInterfaces(domainXml(networkInterface(A), networkInterface(C))),
};

const BOTH = { live: true, config: true };

describe("domain views", () => {
  it("merges by MAC, live order first", () => {
    const merged = mergeViews(VIEWS);

    assert.deepEqual(
      merged.map((entry) => [(entry.live ?? entry.config)!.macAddress, entry.live !== undefined, entry.config !== undefined]),
      [
        [A, true, true],
        [B, true, false],
        [C, false, true],
      ],
    );
  });

  it("merges a stopped domain's config", () => {
    const merged = mergeViews({ live: undefined, config: VIEWS.config });

    assert.deepEqual(
      merged.map((entry) => entry.config?.macAddress),
      [A, C],
    );
  });

  it("finds by alias in both views", () => {
    const found = findInterface(VIEWS, BOTH, { alias: "net0" });

    assert.equal(found.live?.macAddress, A);
    assert.equal(found.config?.macAddress, A, "the config has no alias, so the MAC finds it");
  });

  it("finds by MAC in chosen views only", () => {
    const liveOnly = findInterface(VIEWS, { live: true, config: false }, { macAddress: A });
    const configOnly = findInterface(VIEWS, { live: false, config: true }, { macAddress: C });

    assert.equal(liveOnly.live?.macAddress, A);
    assert.equal(liveOnly.config, undefined);
    assert.equal(configOnly.live, undefined);
    assert.equal(configOnly.config?.macAddress, C);
  });

  it("finds nothing for unknown selectors", () => {
    const byAlias = findInterface(VIEWS, BOTH, { alias: "net7" });
    const byMac = findInterface(VIEWS, BOTH, { macAddress: "52:54:00:00:00:ff" });

    assert.deepEqual(byAlias, { live: undefined, config: undefined });
    assert.deepEqual(byMac, { live: undefined, config: undefined });
  });

  describe("views to change", () => {
    const runningPersistent = { running: true, persistent: true };
    const stoppedPersistent = { running: false, persistent: true };
    const runningTransient = { running: true, persistent: false };

    it("defaults to the views the domain has", () => {
      assert.deepEqual(chooseViewsToChange("guest", {}, runningPersistent), BOTH);
      assert.deepEqual(chooseViewsToChange("guest", {}, stoppedPersistent), { live: false, config: true });
      assert.deepEqual(chooseViewsToChange("guest", {}, runningTransient), { live: true, config: false });
    });

    it("takes explicit choices", () => {
      assert.deepEqual(chooseViewsToChange("guest", { live: false }, runningPersistent), { live: false, config: true });
      assert.deepEqual(chooseViewsToChange("guest", { persistent: false }, runningPersistent), { live: true, config: false });
    });

    const impossible: Array<[string, object, { running: boolean; persistent: boolean }, RegExp]> = [
      ["live on a stopped domain", { live: true }, stoppedPersistent, /domain 'guest' is not running, so it has no live interfaces; set live to false/],
      ["persistent on a transient domain", { persistent: true }, runningTransient, /domain 'guest' is transient and has no persistent definition/],
      ["no view left", { live: false }, runningTransient, /nothing to change: domain 'guest' is running and transient/],
    ];
    for (const [name, selection, state, expected] of impossible) {
      it(`rejects ${name}`, () => {
        assert.throws(
          () => chooseViewsToChange("guest", selection, state),
          (error: unknown) => error instanceof FailedPreconditionError && expected.test(error.message),
        );
      });
    }

    it("detach skips missing views", () => {
      assert.deepEqual(chooseViewsToDetach({ live: true }, stoppedPersistent), { live: false, config: true });
      assert.deepEqual(chooseViewsToDetach({ persistent: true }, runningTransient), { live: true, config: false });
      assert.deepEqual(chooseViewsToDetach({ live: false }, runningPersistent), { live: false, config: true });
    });
  });
});
