import assert from "node:assert/strict";

import { explainLibvirtMessage } from "./steps";

describe("explainLibvirtMessage", () => {
  it("keeps dnsmasq's own reason", () => {
    const message =
      "internal error: Child process (VIR_BRIDGE_NAME=na-lab /usr/sbin/dnsmasq --conf-file=/var/lib/libvirt/dnsmasq/lab.conf --leasefile-ro --dhcp-script=/usr/lib/libvirt/libvirt_leaseshelper) unexpected exit status 2: \ndnsmasq: failed to create listening socket for 10.77.0.1: Address already in use\n";

    assert.equal(explainLibvirtMessage(message), "dnsmasq could not start (exit status 2): dnsmasq: failed to create listening socket for 10.77.0.1: Address already in use");
  });

  it("passes other messages through", () => {
    assert.equal(explainLibvirtMessage("Network is already in use by interface virbr1"), "Network is already in use by interface virbr1");
  });
});
