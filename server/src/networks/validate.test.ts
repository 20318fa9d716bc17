import assert from "node:assert/strict";

import { InvalidArgumentError } from "../errors";
import type { NetworkSpecInput } from "./model";
import { validateNetworkName, validateSpec } from "./validate";

const nat = (overrides: Partial<NetworkSpecInput> = {}): NetworkSpecInput => ({
  name: "lab",
  type: "nat",
  ipv4: { address: "198.51.100.1/24", dhcpRanges: [{ start: "198.51.100.10", end: "198.51.100.50" }] },
  ...overrides,
});

/** Runs validateSpec and returns its violations as "field: description" lines. */
function violationsOf(input: NetworkSpecInput): Array<{ field: string; description: string }> {
  try {
    validateSpec(input, "network.");
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(error)}`);
    return error.violations;
  }
  assert.fail("expected validateSpec to reject the input");
}

describe("validateSpec", () => {
  it("accepts a NAT network and fills defaults", () => {
    const spec = validateSpec(nat());

    assert.equal(spec.bridge, "na-lab");
    assert.equal(spec.autostart, true);
    assert.deepEqual(spec.ipv4, {
      address: "198.51.100.1",
      prefixLength: 24,
      dhcpRanges: [{ start: "198.51.100.10", end: "198.51.100.50" }],
    });
  });

  it("accepts a very isolated network without ipv4", () => {
    const spec = validateSpec({ name: "l2", type: "very-isolated" });

    assert.equal(spec.ipv4, undefined);
    assert.equal(spec.bridge, "na-l2");
  });

  for (const name of ["lab/28", "test net", "a</name><forward mode='open'/>", "x".repeat(65), "-lead", "tab\tname", "ünï"]) {
    it(`rejects network name ${JSON.stringify(name.slice(0, 20))}`, () => {
      const violations = violationsOf(nat({ name }));

      assert.equal(violations.length, 1);
      assert.equal(violations[0].field, "network.name");
      assert.match(violations[0].description, /1 to 64 characters from A-Z a-z 0-9 _ \. -/);
    });
  }

  it("rejects an empty name as missing", () => {
    const [violation] = violationsOf(nat({ name: "" }));

    assert.equal(violation.field, "network.name");
    assert.match(violation.description, /^missing/);
  });

  it("accepts a 64-character name with a generated bridge that fits", () => {
    const spec = validateSpec(nat({ name: "n".repeat(64) }));

    assert.ok(Buffer.byteLength(spec.bridge) <= 15, spec.bridge);
  });

  it("rejects a 16-byte bridge name", () => {
    const [violation] = violationsOf(nat({ bridge: "lab-net_bridge-x" }));

    assert.equal(violation.field, "network.bridge");
    assert.match(violation.description, /16 bytes, but Linux allows at most 15/);
  });

  it("counts bridge name length in bytes, not characters", () => {
    const [violation] = violationsOf(nat({ bridge: "br-éééééééé" }));

    assert.equal(violation.field, "network.bridge");
  });

  it("rejects a missing type", () => {
    const [violation] = violationsOf(nat({ type: undefined }));

    assert.equal(violation.field, "network.type");
    assert.match(violation.description, /missing/);
  });

  it("rejects ipv4 on a very isolated network", () => {
    const [violation] = violationsOf(nat({ type: "very-isolated" }));

    assert.equal(violation.field, "network.ipv4");
    assert.match(violation.description, /VERY_ISOLATED network has no host address/);
  });

  it("requires ipv4 for NAT and ISOLATED", () => {
    for (const type of ["nat", "isolated"] as const) {
      const [violation] = violationsOf({ name: "lab", type });

      assert.equal(violation.field, "network.ipv4.address");
      assert.match(violation.description, /missing/);
    }
  });

  const badAddresses: Array<[string, RegExp]> = [
    ["198.51.100.1", /prefix length from 1 to 30/],
    ["198.51.100.1/31", /prefix length from 1 to 30/],
    ["198.51.100.256/24", /prefix length from 1 to 30/],
    ["198.051.100.1/24", /prefix length from 1 to 30/],
    ["198.51.100.0/24", /network or broadcast address of 198\.51\.100\.0\/24; use for example 198\.51\.100\.1\/24/],
    ["198.51.100.255/24", /network or broadcast address/],
    ["127.0.0.1/8", /loopback, multicast and reserved/],
    ["224.0.0.1/24", /loopback, multicast and reserved/],
  ];
  for (const [address, expected] of badAddresses) {
    it(`rejects host address ${address}`, () => {
      const [violation] = violationsOf(nat({ ipv4: { address, dhcpRanges: [] } }));

      assert.equal(violation.field, "network.ipv4.address");
      assert.match(violation.description, expected);
    });
  }

  it("rejects a DHCP range outside the subnet, naming the subnet", () => {
    const violations = violationsOf(nat({ ipv4: { address: "198.51.100.1/24", dhcpRanges: [{ start: "203.0.113.10", end: "203.0.113.50" }] } }));

    assert.deepEqual(violations.map((v) => v.field), ["network.ipv4.dhcp_ranges[0].start", "network.ipv4.dhcp_ranges[0].end"]);
    assert.match(violations[0].description, /203\.0\.113\.10 is outside the usable addresses of subnet 198\.51\.100\.0\/24/);
  });

  it("rejects a DHCP range whose start is after its end", () => {
    const [violation] = violationsOf(nat({ ipv4: { address: "198.51.100.1/24", dhcpRanges: [{ start: "198.51.100.50", end: "198.51.100.10" }] } }));

    assert.equal(violation.field, "network.ipv4.dhcp_ranges[0]");
    assert.match(violation.description, /start 198\.51\.100\.50 is after end 198\.51\.100\.10/);
  });

  it("rejects a DHCP range covering the host address", () => {
    const [violation] = violationsOf(nat({ ipv4: { address: "198.51.100.1/24", dhcpRanges: [{ start: "198.51.100.1", end: "198.51.100.50" }] } }));

    assert.equal(violation.field, "network.ipv4.dhcp_ranges[0]");
    assert.match(violation.description, /covers the host address 198\.51\.100\.1/);
  });

  it("rejects a DHCP range including the broadcast address", () => {
    const [violation] = violationsOf(nat({ ipv4: { address: "198.51.100.1/24", dhcpRanges: [{ start: "198.51.100.2", end: "198.51.100.255" }] } }));

    assert.equal(violation.field, "network.ipv4.dhcp_ranges[0].end");
  });

  it("rejects overlapping DHCP ranges", () => {
    const ranges = [
      { start: "198.51.100.10", end: "198.51.100.50" },
      { start: "198.51.100.40", end: "198.51.100.60" },
    ];
    const [violation] = violationsOf(nat({ ipv4: { address: "198.51.100.1/24", dhcpRanges: ranges } }));

    assert.equal(violation.field, "network.ipv4.dhcp_ranges[1]");
    assert.match(violation.description, /overlaps ipv4\.dhcp_ranges\[0\]/);
  });

  it("reports every invalid field at once", () => {
    const violations = violationsOf({ name: "bad name", type: "nat", bridge: "x".repeat(20), ipv4: { address: "nope", dhcpRanges: [] } });

    assert.deepEqual(violations.map((v) => v.field), ["network.name", "network.bridge", "network.ipv4.address"]);
  });

  it("rejects types this agent cannot create yet", () => {
    const [violation] = violationsOf({ name: "lan", type: "bridge" });

    assert.equal(violation.field, "network.type");
    assert.match(violation.description, /BRIDGE networks cannot be created/);
  });
});

describe("validateNetworkName", () => {
  it("names the given field", () => {
    assert.throws(() => validateNetworkName("a b", "name"), (error: InvalidArgumentError) => error.violations[0].field === "name");
  });
});
