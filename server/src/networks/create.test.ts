import assert from "node:assert/strict";

import { connectivityOf } from "./connectivity";
import { specDifferences } from "./create";
import type { Network, NetworkSpecInput } from "./model";
import { validateSpec } from "./validate";

function existing(input: NetworkSpecInput): Network {
  const { spec } = validateSpec(input);
  return { ...spec, uuid: "", active: true, persistent: true, connectivity: connectivityOf(spec) };
}

const lab: NetworkSpecInput = { name: "lab", type: "nat", ipv4: { address: "10.77.0.1/24", dhcpRanges: [{ start: "10.77.0.2", end: "10.77.0.254" }] } };

describe("specDifferences", () => {
  it("shows addresses as CIDR and ranges as START-END", () => {
    const { spec } = validateSpec({ ...lab, ipv4: { address: "10.78.0.1/24", dhcpRanges: [] } });

    assert.deepEqual(specDifferences(spec, existing(lab), { bridge: false, ipv4: true }), [
      "ipv4.address: 10.77.0.1/24 exists, 10.78.0.1/24 requested",
      "ipv4.dhcp_ranges: 10.77.0.2-10.77.0.254 exists, none requested",
    ]);
  });

  it("shows an MTU of 0 as unset", () => {
    const { spec } = validateSpec({ ...lab, mtu: 1400 });

    assert.deepEqual(specDifferences(spec, existing(lab), { bridge: false, ipv4: true }), ["mtu: unset exists, 1400 requested"]);
  });

  it("finds no difference in a retry", () => {
    const { spec } = validateSpec(lab);

    assert.deepEqual(specDifferences(spec, existing(lab), { bridge: false, ipv4: true }), []);
  });
});
