import assert from "node:assert/strict";

import { DhcpSource } from "@netagent/proto";

import { leasesTable } from "./format";

describe("leasesTable", () => {
  it("says why a network without DHCP has no leases", () => {
    assert.match(leasesTable([], DhcpSource.DHCP_SOURCE_NONE), /^this network serves no DHCP/);
  });

  it("prints a header for a DHCP network without leases", () => {
    assert.match(leasesTable([], DhcpSource.DHCP_SOURCE_LIBVIRT), /^ADDRESS +MAC/);
  });
});
