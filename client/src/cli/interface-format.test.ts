import assert from "node:assert/strict";

import { DetachState, DhcpSource, Interface, LinkState } from "@netagent/proto";

import { detachSummary, interfaceSelector, interfaceTable, parseLinkState } from "./interface-format";

function guestInterface(fields: Partial<Interface>): Interface {
  return {
    domain: "guest",
    macAddress: "52:54:00:00:00:01",
    network: "lab",
    type: "network",
    model: "virtio",
    alias: "net0",
    tapDevice: "vnet0",
    linkState: LinkState.LINK_STATE_UP,
    live: true,
    persistent: true,
    addresses: [],
    dhcpSource: DhcpSource.DHCP_SOURCE_LIBVIRT,
    addressesNote: "",
    ...fields,
  };
}

describe("interface CLI format", () => {
  it("reads MAC addresses and aliases", () => {
    assert.deepEqual(interfaceSelector("52:54:00:AB:cd:01"), { macAddress: "52:54:00:AB:cd:01", alias: "" });
    assert.deepEqual(interfaceSelector("net0"), { macAddress: "", alias: "net0" });
    assert.deepEqual(interfaceSelector("ua-uplink"), { macAddress: "", alias: "ua-uplink" });
  });

  it("parses link states", () => {
    assert.equal(parseLinkState("up"), LinkState.LINK_STATE_UP);
    assert.equal(parseLinkState("DOWN"), LinkState.LINK_STATE_DOWN);
    assert.throws(() => parseLinkState("off"), /invalid link state "off": use up or down/);
  });

  it("shows why addresses are missing", () => {
    const table = interfaceTable([
      guestInterface({ addresses: [{ address: "10.77.0.23/24" }] }),
      guestInterface({ macAddress: "52:54:00:00:00:02" }),
      guestInterface({ macAddress: "52:54:00:00:00:03", dhcpSource: DhcpSource.DHCP_SOURCE_LAN }),
      guestInterface({ macAddress: "52:54:00:00:00:04", dhcpSource: DhcpSource.DHCP_SOURCE_NONE }),
      guestInterface({ macAddress: "52:54:00:00:00:05", live: false, alias: "", tapDevice: "" }),
    ]);

    const addresses = table.split("\n").map((line) => line.split(/ {2,}/).pop());
    assert.deepEqual(addresses, ["ADDRESSES", "10.77.0.23/24", "(no lease yet)", "(from LAN DHCP)", "(no DHCP)", "-"]);
  });

  it("says how each detach ended and what to check", () => {
    assert.equal(detachSummary(DetachState.DETACH_STATE_DETACHED, "web", "net0"), "interface net0 detached from domain web");
    assert.match(
      detachSummary(DetachState.DETACH_STATE_DETACHED, "web", "net0", false),
      /removed from the persistent definition of domain web; the running domain keeps it until it stops$/,
    );
    assert.match(detachSummary(DetachState.DETACH_STATE_ALREADY_ABSENT, "web", "net9"), /nothing to do \(if you expected one, check .* 'netagentctl interface list web'\)$/);
    assert.match(detachSummary(DetachState.DETACH_STATE_PENDING, "web", "net0"), /ACPI hot-unplug, or when the domain stops/);
  });
});
