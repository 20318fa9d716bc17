import assert from "node:assert/strict";

import { connectivityOf } from "../networks/connectivity";
import type { NetworkKind } from "../networks/model";
import { addressesNote, attachWarnings, NetworkFacts } from "./network-facts";

function facts(type: NetworkKind, withDhcp = true): NetworkFacts {
  const ipv4 = withDhcp ? { address: "10.77.0.1", prefixLength: 24, dhcpRanges: [{ start: "10.77.0.2", end: "10.77.0.254" }], dhcpHosts: [] } : undefined;
  return { name: "lab", type, active: true, connectivity: connectivityOf({ type, ipv4 }) };
}

describe("network facts for interfaces", () => {
  it("warns that the host cannot reach macvtap guests", () => {
    const warnings = attachWarnings(facts("macvtap", false));

    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^the host cannot reach this guest through network 'lab': macvtap passes the guest's traffic straight to the uplink/);
    assert.match(warnings[0], /attach a second interface on a NAT or ISOLATED network/);
  });

  it("warns for very isolated networks", () => {
    const warnings = attachWarnings(facts("very-isolated", false));

    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /the network's bridge has no host address/);
  });

  for (const type of ["nat", "isolated", "bridge", "routed", "open"] as NetworkKind[]) {
    it(`has no warning for ${type}`, () => {
      assert.deepEqual(attachWarnings(facts(type)), []);
    });
  }

  it("notes where addresses come from", () => {
    assert.match(addressesNote(facts("nat")), /^no DHCP lease yet: the guest has not obtained an address from libvirt's DHCP server on network 'lab'/);
    assert.match(addressesNote(facts("bridge", false)), /come from the LAN's DHCP server, whose leases libvirt cannot see/);
    assert.match(addressesNote(facts("macvtap", false)), /come from the LAN's DHCP server/);
    assert.match(addressesNote(facts("isolated", false)), /^network 'lab' runs no DHCP server, so the guest needs a static address/);
    assert.match(addressesNote(facts("very-isolated", false)), /runs no DHCP server/);
  });
});
