import assert from "node:assert/strict";

import { ipv4FromSubnet } from "./subnet";

describe("ipv4FromSubnet", () => {
  it("gives the host the first address and DHCP the rest", () => {
    assert.deepEqual(ipv4FromSubnet("10.77.0.0/24", true), {
      address: "10.77.0.1/24",
      dhcpRanges: [{ start: "10.77.0.2", end: "10.77.0.254" }],
      dhcpHosts: [],
    });
  });

  it("leaves DHCP out when asked", () => {
    assert.deepEqual(ipv4FromSubnet("10.77.0.0/24", false), { address: "10.77.0.1/24", dhcpRanges: [], dhcpHosts: [] });
  });

  it("rejects a subnet with host bits set and suggests both fixes", () => {
    assert.throws(() => ipv4FromSubnet("10.77.0.5/24", true), /host bits are set; use 10\.77\.0\.0\/24, or --host-address 10\.77\.0\.5\/24/);
  });

  it("says what is wrong with a malformed subnet", () => {
    const cases: Array<[string, RegExp]> = [
      ["10.77.0.0", /the prefix length is missing/],
      ["10.77.0.0/31", /the prefix length \/31 is outside 1 to 30/],
      ["300.1.1.0/24", /each of the four numbers must be from 0 to 255/],
      ["lab", /not an IPv4 address with a prefix length/],
    ];
    for (const [text, reason] of cases) {
      assert.throws(() => ipv4FromSubnet(text, true), reason, text);
    }
  });
});
