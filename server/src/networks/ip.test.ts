import assert from "node:assert/strict";

import { formatIp, formatSubnet, isSpecialPurposeIpv6, parseCidr, parseIp, parseSubnet, subnetContaining, subnetsOverlap } from "./ip";

describe("ip", () => {
  const canonical: Array<[string, string]> = [
    ["2001:db8:1::1", "2001:db8:1::1"],
    ["2001:0DB8:0001:0000:0000:0000:0000:0001", "2001:db8:1::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["fe80::", "fe80::"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:1:0:1:1:1:1", "2001:db8:1:0:1:1:1:1"],
    ["::ffff:192.0.2.1", "::ffff:c000:201"],
    ["198.51.100.7", "198.51.100.7"],
  ];
  for (const [input, expected] of canonical) {
    it(`formats ${input} as ${expected}`, () => {
      const address = parseIp(input);
      assert.ok(address);
      assert.equal(formatIp(address), expected);
    });
  }

  it("rejects malformed addresses", () => {
    for (const text of ["", "1.2.3", "2001:db8::1::2", "fe80::1%eth0", "10.0.0.01", "2001:db8:1::/64", "gggg::1"]) {
      assert.equal(parseIp(text), undefined, text);
    }
  });

  it("parses CIDR and host routes", () => {
    assert.deepEqual(parseCidr("10.77.0.1/24"), { address: { family: 4, value: 0x0a4d0001n }, prefixLength: 24 });
    assert.equal(parseCidr("10.77.0.1"), undefined);
    assert.equal(parseCidr("10.77.0.1", "host")?.prefixLength, 32);
    assert.equal(parseCidr("2001:db8::1", "host")?.prefixLength, 128);
    assert.equal(parseCidr("10.77.0.1/33"), undefined);
    assert.equal(parseCidr("2001:db8::1/129"), undefined);
  });

  it("finds the subnet of an address", () => {
    const cidr = parseCidr("2001:db8:1::1/64")!;

    assert.equal(formatSubnet(subnetContaining(cidr.address, cidr.prefixLength)), "2001:db8:1::/64");
  });

  it("parses subnets only without host bits", () => {
    assert.equal(formatSubnet(parseSubnet("10.100.0.0/16")!), "10.100.0.0/16");
    assert.equal(parseSubnet("10.100.0.1/16"), undefined);
  });

  it("detects overlap within one family only", () => {
    const a = parseSubnet("10.0.0.0/8")!;
    const b = parseSubnet("10.77.0.0/24")!;
    const c = parseSubnet("10.78.0.0/24")!;
    const v6 = parseSubnet("::/0")!;

    assert.equal(subnetsOverlap(a, b), true);
    assert.equal(subnetsOverlap(b, a), true);
    assert.equal(subnetsOverlap(b, c), false);
    assert.equal(subnetsOverlap(a, v6), false);
  });

  it("classifies special-purpose IPv6 addresses", () => {
    for (const text of ["::", "::1", "fe80::1", "febf::1", "ff02::1", "::ffff:10.0.0.1"]) {
      assert.equal(isSpecialPurposeIpv6(parseIp(text)!.value), true, text);
    }
    for (const text of ["2001:db8:1::1", "fd00::1", "fec0::1"]) {
      assert.equal(isSpecialPurposeIpv6(parseIp(text)!.value), false, text);
    }
  });
});
