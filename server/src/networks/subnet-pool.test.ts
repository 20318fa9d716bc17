import assert from "node:assert/strict";

import { formatSubnet, parseSubnet, Subnet } from "./ip";
import { SubnetPool } from "./subnet-pool";

describe("SubnetPool", () => {
  const used = (...cidrs: string[]): Subnet[] => cidrs.map((cidr) => parseSubnet(cidr)!);

  it("hands out the first free /24", () => {
    const pool = new SubnetPool("10.100.0.0/16");

    assert.equal(formatSubnet(pool.findFree([])!), "10.100.0.0/24");
    assert.equal(formatSubnet(pool.findFree(used("10.100.0.0/24", "10.100.1.128/25"))!), "10.100.2.0/24");
  });

  it("skips subnets covered by a wider route", () => {
    const pool = new SubnetPool("10.100.0.0/16");

    assert.equal(formatSubnet(pool.findFree(used("10.100.0.0/23"))!), "10.100.2.0/24");
  });

  it("returns undefined when the pool is full", () => {
    const pool = new SubnetPool("10.100.0.0/23");

    assert.equal(pool.findFree(used("10.100.0.0/24", "10.100.1.0/24")), undefined);
  });

  it("ignores IPv6 subnets in use", () => {
    assert.equal(formatSubnet(new SubnetPool("10.100.0.0/24").findFree(used("::/0"))!), "10.100.0.0/24");
  });

  it("rejects pools that are not IPv4 subnets of /8 to /24", () => {
    for (const cidr of ["10.100.0.1/16", "10.100.0.0/25", "2001:db8::/48", "nope", "10.0.0.0/7"]) {
      assert.throws(() => new SubnetPool(cidr), /invalid subnet pool/, cidr);
    }
  });
});
