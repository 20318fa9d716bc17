import assert from "node:assert/strict";

import { connectivityOf } from "./connectivity";
import type { NetworkKind } from "./model";

describe("connectivityOf", () => {
  const withDhcp = { address: "10.77.0.1", prefixLength: 24, dhcpRanges: [{ start: "10.77.0.2", end: "10.77.0.9" }] };
  const table: Array<[NetworkKind, boolean, boolean, string]> = [
    ["nat", true, true, "libvirt"],
    ["isolated", true, false, "libvirt"],
    ["very-isolated", false, false, "none"],
    ["bridge", true, true, "lan"],
    ["macvtap", false, true, "lan"],
  ];

  for (const [type, hostReachesGuests, guestsReachOutside, dhcpSource] of table) {
    it(`states the facts of ${type} networks`, () => {
      const facts = connectivityOf({ type, ipv4: type === "nat" || type === "isolated" ? withDhcp : undefined });

      assert.equal(facts.hostReachesGuests, hostReachesGuests);
      assert.equal(facts.guestsReachOutside, guestsReachOutside);
      assert.equal(facts.dhcpSource, dhcpSource);
    });
  }

  it("reports no DHCP for a NAT network without ranges", () => {
    assert.equal(connectivityOf({ type: "nat", ipv4: { ...withDhcp, dhcpRanges: [] } }).dhcpSource, "none");
  });
});
