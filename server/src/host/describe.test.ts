import assert from "node:assert/strict";

import { typeSupport, UplinkInfo } from "./describe";

function uplink(name: string, bridge = ""): UplinkInfo {
  return { name, kind: "", macAddress: "", mtu: 1500, up: true, addresses: [], bridge, ipv6AcceptRa: 0, ipv6Forwarding: false };
}

function macvtapReason(uplinks: UplinkInfo[]): string {
  return typeSupport(uplinks, [], true).find((support) => support.type === "macvtap")!.reason;
}

describe("typeSupport", () => {
  it("says there is no candidate uplink", () => {
    assert.match(macvtapReason([]), /^the host has no candidate uplink/);
  });

  it("names bridge ports when every uplink is one", () => {
    assert.match(macvtapReason([uplink("eth0", "br0")]), /every candidate uplink is a bridge port/);
  });

  it("allows macvtap on a free uplink", () => {
    assert.equal(macvtapReason([uplink("eth0")]), "");
  });
});
