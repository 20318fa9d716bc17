import assert from "node:assert/strict";

import { connectivityOf } from "./connectivity";
import type { NetworkKind } from "./model";

describe("connectivityOf", () => {
  const withDhcp = { address: "10.77.0.1", prefixLength: 24, dhcpRanges: [{ start: "10.77.0.2", end: "10.77.0.9" }], dhcpHosts: [] };
  const table: Array<[NetworkKind, boolean, boolean, string]> = [
    ["nat", true, true, "libvirt"],
    ["isolated", true, false, "libvirt"],
    ["very-isolated", false, false, "none"],
    ["bridge", true, true, "lan"],
    ["macvtap", false, true, "lan"],
    ["routed", true, true, "libvirt"],
    ["open", true, true, "libvirt"],
  ];

  for (const [type, hostReachesGuests, guestsReachOutside, dhcpSource] of table) {
    it(`states the facts of ${type} networks`, () => {
      const facts = connectivityOf({ type, ipv4: ["nat", "isolated", "routed", "open"].includes(type) ? withDhcp : undefined });

      assert.equal(facts.hostReachesGuests, hostReachesGuests);
      assert.equal(facts.guestsReachOutside, guestsReachOutside);
      assert.equal(facts.dhcpSource, dhcpSource);
    });
  }

  it("reports no DHCP for a NAT network without ranges", () => {
    assert.equal(connectivityOf({ type: "nat", ipv4: { ...withDhcp, dhcpRanges: [] } }).dhcpSource, "none");
  });

  it("counts static hosts and IPv6 ranges as libvirt DHCP", () => {
    const hostsOnly = { ...withDhcp, dhcpRanges: [], dhcpHosts: [{ mac: "52:54:00:00:00:01", ip: "10.77.0.5", hostname: "" }] };
    const ipv6 = { address: "2001:db8:1::1", prefixLength: 64, dhcpRanges: [{ start: "2001:db8:1::10", end: "2001:db8:1::20" }], dhcpHosts: [] };

    assert.equal(connectivityOf({ type: "isolated", ipv4: hostsOnly }).dhcpSource, "libvirt");
    assert.equal(connectivityOf({ type: "isolated", ipv6 }).dhcpSource, "libvirt");
  });
});
