import assert from "node:assert/strict";

import { optionForField } from "./field-options";

describe("optionForField", () => {
  it("names create options", () => {
    assert.equal(optionForField("network.host_bridge", "create"), "--host-bridge");
    assert.equal(optionForField("network.uplink", "create"), "--uplink");
    assert.equal(optionForField("network.ipv4.dhcp_hosts[1].mac", "create"), "--dhcp-host");
    assert.equal(optionForField("network.dns.hosts[0].hostnames[1]", "create"), "--dns-host");
  });

  it("names the update option the user typed", () => {
    assert.equal(optionForField("network.ipv4.dhcp_hosts[1].ip", "update"), "--add-dhcp-host");
    assert.equal(optionForField("network.ipv4.dhcp_ranges[0]", "update"), "--add-dhcp-range");
    assert.equal(optionForField("network.ipv4", "update"), "--host-address");
  });

  it("returns undefined for fields without an option", () => {
    assert.equal(optionForField("update_mask", "update"), undefined);
    assert.equal(optionForField("network.uplink", "update"), undefined);
  });

  it("names interface options outside network commands", () => {
    assert.equal(optionForField("mac_address", undefined), "--mac");
    assert.equal(optionForField("timeout_seconds", undefined), "--wait");
    assert.equal(optionForField("mac_address", "create"), undefined);
  });
});
