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
    const { spec, allocateIpv4 } = validateSpec(nat());

    assert.equal(spec.bridge, "na-lab");
    assert.equal(spec.autostart, true);
    assert.equal(spec.stp, false);
    assert.equal(spec.forwardDelaySeconds, 0);
    assert.equal(spec.mtu, 0);
    assert.equal(allocateIpv4, false);
    assert.deepEqual(spec.ipv4, {
      address: "198.51.100.1",
      prefixLength: 24,
      dhcpRanges: [{ start: "198.51.100.10", end: "198.51.100.50" }],
      dhcpHosts: [],
    });
  });

  it("accepts a very isolated network without ipv4", () => {
    const { spec } = validateSpec({ name: "l2", type: "very-isolated" });

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
    const { spec } = validateSpec(nat({ name: "n".repeat(64) }));

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
    assert.match(violation.description, /must be empty for VERY-ISOLATED networks: it has no host address/);
  });

  it("allocates ipv4 for NAT and ISOLATED without one", () => {
    for (const type of ["nat", "isolated"] as const) {
      assert.equal(validateSpec({ name: "lab", type }).allocateIpv4, true, type);
    }
    assert.equal(validateSpec({ name: "lab", type: "isolated", ipv6: { address: "2001:db8:1::1/64", dhcpRanges: [] } }).allocateIpv4, false);
  });

  it("requires an address for ROUTED and OPEN", () => {
    for (const type of ["routed", "open"] as const) {
      const [violation] = violationsOf({ name: "lab", type });

      assert.equal(violation.field, "network.ipv4");
      assert.match(violation.description, /^missing: .* set ipv4 or ipv6 yourself/);
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
    assert.match(violation.description, /overlaps range 198\.51\.100\.10-198\.51\.100\.50 \(network\.ipv4\.dhcp_ranges\[0\]\)/);
  });

  it("reports every invalid field at once", () => {
    const violations = violationsOf({ name: "bad name", type: "nat", bridge: "x".repeat(20), ipv4: { address: "nope", dhcpRanges: [] } });

    assert.deepEqual(violations.map((v) => v.field), ["network.name", "network.bridge", "network.ipv4.address"]);
  });

  it("accepts a BRIDGE network on a host bridge", () => {
    const { spec } = validateSpec({ name: "lan", type: "bridge", hostBridge: "br0" });

    assert.equal(spec.hostBridge, "br0");
    assert.equal(spec.bridge, "");
    assert.equal(spec.stp, undefined);
  });

  it("requires host_bridge for BRIDGE", () => {
    const [violation] = violationsOf({ name: "lan", type: "bridge" });

    assert.equal(violation.field, "network.host_bridge");
    assert.match(violation.description, /^missing/);
  });

  it("defaults the macvtap mode to bridge", () => {
    const { spec } = validateSpec({ name: "mv", type: "macvtap", uplink: "eth0" });

    assert.equal(spec.macvtapMode, "bridge");
    assert.equal(spec.uplink, "eth0");
  });

  it("rejects fields a type does not take", () => {
    const violations = violationsOf({
      name: "mv",
      type: "macvtap",
      uplink: "eth0",
      bridge: "mybr",
      mtu: 9000,
      hostBridge: "br0",
      ipv4: { address: "10.77.0.1/24", dhcpRanges: [] },
      dns: { domain: "lab.example" },
    });

    assert.deepEqual(violations.map((v) => v.field), ["network.bridge", "network.mtu", "network.host_bridge", "network.ipv4", "network.dns"]);
    assert.match(violations[3].description, /LAN's DHCP server/);
  });

  it("rejects an uplink on ISOLATED and a mode on NAT", () => {
    const violations = violationsOf(nat({ type: "isolated", uplink: "eth0" }));
    const modes = violationsOf(nat({ macvtapMode: "vepa" }));

    assert.equal(violations[0].field, "network.uplink");
    assert.equal(modes[0].field, "network.macvtap_mode");
  });

  it("accepts dual stack with DHCP hosts and DNS", () => {
    const { spec } = validateSpec(
      nat({
        ipv4: { address: "198.51.100.1/24", dhcpRanges: [], dhcpHosts: [{ mac: "52:54:00:AA:00:01", ip: "198.51.100.10", hostname: "web" }] },
        ipv6: { address: "2001:DB8:1:0::1/64", dhcpRanges: [{ start: "2001:db8:1::100", end: "2001:db8:1::1ff" }], dhcpHosts: [{ ip: "2001:db8:1::10", hostname: "web" }] },
        dns: { domain: "lab.example", hosts: [{ ip: "198.51.100.20", hostnames: ["db", "db.lab.example"] }], forwarders: [{ address: "192.0.2.53" }, { domain: "corp.example" }] },
      }),
    );

    assert.deepEqual(spec.ipv4?.dhcpHosts, [{ mac: "52:54:00:aa:00:01", ip: "198.51.100.10", hostname: "web" }]);
    assert.equal(spec.ipv6?.address, "2001:db8:1::1");
    assert.deepEqual(spec.ipv6?.dhcpHosts, [{ mac: "", ip: "2001:db8:1::10", hostname: "web" }]);
    assert.deepEqual(spec.dns?.forwarders, [{ address: "192.0.2.53", domain: "" }, { address: "", domain: "corp.example" }]);
  });

  it("leaves default DNS undefined", () => {
    assert.equal(validateSpec(nat({ dns: { enabled: true, hosts: [], forwarders: [] } })).spec.dns, undefined);
  });

  const badHosts: Array<[string, Record<string, string>, string, RegExp]> = [
    ["a missing MAC", { ip: "198.51.100.10" }, "mac", /^missing/],
    ["a multicast MAC", { mac: "01:00:5e:00:00:01", ip: "198.51.100.10" }, "mac", /multicast/],
    ["a malformed MAC", { mac: "52-54-00-00-00-01", ip: "198.51.100.10" }, "mac", /six hex pairs/],
    ["an address outside the subnet", { mac: "52:54:00:00:00:01", ip: "203.0.113.10" }, "ip", /outside the usable addresses of subnet 198\.51\.100\.0\/24/],
    ["the host address", { mac: "52:54:00:00:00:01", ip: "198.51.100.1" }, "ip", /is the network's host address/],
    ["markup in the host name", { mac: "52:54:00:00:00:01", ip: "198.51.100.10", hostname: "a'/><host" }, "hostname", /letters, digits and hyphens/],
  ];
  for (const [title, host, field, expected] of badHosts) {
    it(`rejects a DHCP host with ${title}`, () => {
      const [violation] = violationsOf(nat({ ipv4: { address: "198.51.100.1/24", dhcpRanges: [], dhcpHosts: [host as { ip: string }] } }));

      assert.equal(violation.field, `network.ipv4.dhcp_hosts[0].${field}`);
      assert.match(violation.description, expected);
    });
  }

  it("rejects duplicate DHCP hosts", () => {
    const hosts = [
      { mac: "52:54:00:00:00:01", ip: "198.51.100.10" },
      { mac: "52:54:00:00:00:01", ip: "198.51.100.10" },
    ];
    const violations = violationsOf(nat({ ipv4: { address: "198.51.100.1/24", dhcpRanges: [], dhcpHosts: hosts } }));

    assert.deepEqual(violations.map((v) => v.field), ["network.ipv4.dhcp_hosts[1].mac", "network.ipv4.dhcp_hosts[1].ip"]);
    assert.match(violations[0].description, /already used by host 52:54:00:00:00:01,198\.51\.100\.10 \(network\.ipv4\.dhcp_hosts\[0\]\)/);
  });

  it("rejects a MAC on an IPv6 DHCP host", () => {
    const [violation] = violationsOf(nat({ ipv6: { address: "2001:db8:1::1/64", dhcpRanges: [], dhcpHosts: [{ mac: "52:54:00:00:00:01", ip: "2001:db8:1::10", hostname: "a" }] } }));

    assert.equal(violation.field, "network.ipv6.dhcp_hosts[0].mac");
    assert.match(violation.description, /by host name, not by MAC/);
  });

  const badIpv6: Array<[string, RegExp]> = [
    ["fe80::1/64", /link-local/],
    ["2001:db8:1::/64", /subnet-router anycast address of 2001:db8:1::\/64; use for example 2001:db8:1::1\/64/],
    ["2001:db8:1::1", /prefix length from 1 to 127/],
    ["10.77.0.1/24", /IPv6 host address/],
  ];
  for (const [address, expected] of badIpv6) {
    it(`rejects IPv6 host address ${address}`, () => {
      const [violation] = violationsOf(nat({ ipv6: { address, dhcpRanges: [] } }));

      assert.equal(violation.field, "network.ipv6.address");
      assert.match(violation.description, expected);
    });
  }

  it("rejects DHCPv6 on a prefix shorter than /64", () => {
    const [violation] = violationsOf(nat({ ipv6: { address: "2001:db8:1::1/48", dhcpRanges: [{ start: "2001:db8:1::100", end: "2001:db8:1::1ff" }] } }));

    assert.equal(violation.field, "network.ipv6.address");
    assert.match(violation.description, /DHCPv6 needs a prefix length of at least 64/);
    assert.equal(validateSpec(nat({ ipv6: { address: "2001:db8:1::1/48", dhcpRanges: [] } })).spec.ipv6?.prefixLength, 48);
  });

  it("rejects DNS settings while DNS is disabled", () => {
    const [violation] = violationsOf(nat({ dns: { enabled: false, domain: "lab.example" } }));

    assert.equal(violation.field, "network.dns");
    assert.match(violation.description, /DNS is disabled/);
  });

  it("rejects invalid DNS names and addresses", () => {
    const violations = violationsOf(nat({ dns: { domain: "-bad", hosts: [{ ip: "x", hostnames: [] }], forwarders: [{}] } }));

    assert.deepEqual(violations.map((v) => v.field), [
      "network.dns.domain",
      "network.dns.hosts[0].ip",
      "network.dns.hosts[0].hostnames",
      "network.dns.forwarders[0]",
    ]);
  });

  it("rejects an MTU and a forward delay out of range", () => {
    const violations = violationsOf(nat({ mtu: 40, forwardDelaySeconds: 31 }));

    assert.deepEqual(violations.map((v) => v.field), ["network.mtu", "network.forward_delay_seconds"]);
  });
});

describe("validateNetworkName", () => {
  it("names the given field", () => {
    assert.throws(() => validateNetworkName("a b", "name"), (error: InvalidArgumentError) => error.violations[0].field === "name");
  });
});
