import assert from "node:assert/strict";

import { InvalidArgumentError } from "../errors";
import { generateMacAddress, macAddressProblem } from "./mac";
import { validateAttach, validateDetach, validateFilter, validateUpdate } from "./validate";

/** Runs a validation that must fail and returns its violations as "field: description" lines. */
function violationsOf(validate: () => unknown): string[] {
  try {
    validate();
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(error)}`);
    return error.violations.map((v) => `${v.field}: ${v.description}`);
  }
  assert.fail("expected the validation to fail");
}

describe("interface validation", () => {
  describe("MAC addresses", () => {
    it("accepts unicast addresses in any case", () => {
      assert.equal(macAddressProblem("52:54:00:12:34:56"), undefined);
      assert.equal(macAddressProblem("02:AB:cd:00:00:01"), undefined);
    });

    const invalid: Array<[string, RegExp]> = [
      ["52-54-00-12-34-56", /six hex bytes separated by colons/],
      ["52:54:00:12:34", /six hex bytes separated by colons/],
      ["52:54:00:12:34:5g", /six hex bytes separated by colons/],
      ["01:00:5e:00:00:01", /multicast address cannot belong to a NIC/],
      ["ff:ff:ff:ff:ff:ff", /multicast address cannot belong to a NIC/],
      ["00:00:00:00:00:00", /all-zero address/],
    ];
    for (const [mac, expected] of invalid) {
      it(`rejects ${mac}`, () => {
        assert.match(macAddressProblem(mac) ?? "", expected);
      });
    }

    it("generates a free address in 52:54:00", () => {
      const taken = new Set(["52:54:00:00:00:01"]);

      const mac = generateMacAddress(taken);

      assert.match(mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
      assert.equal(taken.has(mac), false);
      assert.equal(macAddressProblem(mac), undefined);
    });
  });

  describe("attach", () => {
    it("fills defaults", () => {
      const spec = validateAttach({ domain: "guest", network: "lab" });

      assert.deepEqual(spec, {
        domain: "guest",
        network: "lab",
        macAddress: undefined,
        model: "virtio",
        linkState: "up",
        live: undefined,
        persistent: undefined,
      });
    });

    it("accepts known models only", () => {
      const spec = validateAttach({ domain: "guest", network: "lab", model: "e1000e" });
      const [violation] = violationsOf(() => validateAttach({ domain: "guest", network: "lab", model: "nosuchmodel" }));

      assert.equal(spec.model, "e1000e");
      assert.match(violation, /^model: invalid value "nosuchmodel": use one of /);
    });

    it("lowercases the MAC address", () => {
      const spec = validateAttach({ domain: "guest", network: "lab", macAddress: "52:54:00:AB:CD:EF" });

      assert.equal(spec.macAddress, "52:54:00:ab:cd:ef");
    });

    it("reports every invalid field", () => {
      const violations = violationsOf(() =>
        validateAttach({ domain: "", network: "lab/28", macAddress: "01:00:5e:00:00:01", model: "virtio'/>", live: false, persistent: false }),
      );

      assert.equal(violations.length, 5);
      assert.match(violations[0], /^domain: missing: set the libvirt domain name/);
      assert.match(violations[1], /^network: invalid value "lab\/28"/);
      assert.match(violations[2], /^mac_address: invalid value "01:00:5e:00:00:01": a multicast address/);
      assert.match(violations[3], /^model: invalid value "virtio'\/>": use one of virtio, virtio-transitional, /);
      assert.match(violations[4], /^live: live and persistent are both false/);
    });

    const badDomains: Array<[string, RegExp]> = [
      ["a/b", /no '\/' and no control characters/],
      ["a\nb", /no '\/' and no control characters/],
      ["x".repeat(252), /252 bytes, but libvirt domain names have at most 251/],
    ];
    for (const [domain, expected] of badDomains) {
      it(`rejects domain ${JSON.stringify(domain.slice(0, 8))}`, () => {
        const [violation] = violationsOf(() => validateAttach({ domain, network: "lab" }));

        assert.match(violation, /^domain: /);
        assert.match(violation, expected);
      });
    }
  });

  describe("detach", () => {
    it("takes a MAC address or an alias", () => {
      const byMac = validateDetach({ domain: "guest", macAddress: "52:54:00:AA:00:01" });
      const byAlias = validateDetach({ domain: "guest", alias: "net1", timeoutSeconds: 30 });

      assert.deepEqual(byMac.selector, { macAddress: "52:54:00:aa:00:01" });
      assert.equal(byMac.timeoutSeconds, 10, "0 or unset means 10");
      assert.deepEqual(byAlias.selector, { alias: "net1" });
      assert.equal(byAlias.timeoutSeconds, 30);
    });

    it("needs exactly one selector", () => {
      const neither = violationsOf(() => validateDetach({ domain: "guest" }));
      const both = violationsOf(() => validateDetach({ domain: "guest", macAddress: "52:54:00:00:00:01", alias: "net0" }));

      assert.deepEqual(neither, ["mac_address: missing: set mac_address or alias to say which interface"]);
      assert.deepEqual(both, ["alias: set either mac_address or alias, not both"]);
    });

    it("rejects a bad alias and timeout", () => {
      const violations = violationsOf(() => validateDetach({ domain: "guest", alias: "net 0", timeoutSeconds: 301 }));

      assert.equal(violations.length, 2);
      assert.match(violations[0], /^alias: invalid value "net 0"/);
      assert.match(violations[1], /^timeout_seconds: invalid value 301: use 0 for the default of 10 seconds, or 1 to 300/);
    });

    it("rejects a negative timeout", () => {
      const [violation] = violationsOf(() => validateDetach({ domain: "guest", alias: "net0", timeoutSeconds: -1 }));

      assert.match(violation, /^timeout_seconds: invalid value -1/);
    });
  });

  describe("update", () => {
    it("requires the link state", () => {
      const violations = violationsOf(() => validateUpdate({ domain: "guest", alias: "net0" }));

      assert.deepEqual(violations, ["link_state: missing: set LINK_STATE_UP or LINK_STATE_DOWN"]);
    });

    it("accepts a complete request", () => {
      const spec = validateUpdate({ domain: "guest", macAddress: "52:54:00:00:00:01", linkState: "down", live: true });

      assert.deepEqual(spec, {
        domain: "guest",
        selector: { macAddress: "52:54:00:00:00:01" },
        linkState: "down",
        live: true,
        persistent: undefined,
      });
    });
  });

  describe("list filter", () => {
    it("accepts empty names", () => {
      assert.doesNotThrow(() => validateFilter({}));
      assert.doesNotThrow(() => validateFilter({ domain: "", network: "" }));
    });

    it("rejects malformed names", () => {
      const violations = violationsOf(() => validateFilter({ domain: "a/b", network: "-lab" }));

      assert.equal(violations.length, 2);
      assert.match(violations[0], /^domain: /);
      assert.match(violations[1], /^network: invalid value "-lab"/);
    });
  });
});
