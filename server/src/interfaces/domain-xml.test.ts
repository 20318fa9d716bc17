import assert from "node:assert/strict";

import { parseDomainInterfaces, renderInterfaceElement, renderNetworkInterface, withLinkState } from "./domain-xml";

// Devices of a running libvirt 9.0 domain, shortened.
const LIVE_XML = `<domain type='qemu' id='3'>
  <name>guest</name>
  <devices>
    <interface type='network'>
      <mac address='52:54:00:F0:20:7E'/>
      <source network='lab' portid='d324984b-5710-4731-b7fd-38c881b79f53' bridge='na-lab'/>
      <target dev='vnet4'/>
      <model type='virtio'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:00:00:02'/>
      <source bridge='br0'/>
      <target dev='vnet5'/>
      <model type='e1000e'/>
      <link state='down'/>
      <alias name='net1'/>
    </interface>
    <interface type='direct'>
      <mac address='52:54:00:00:00:03'/>
      <source network='mv' portid='6c1f4e0a-1d0b-4a4e-9d59-0c5e8f3a2b11' dev='uplink0' mode='bridge'/>
      <target dev='macvtap0'/>
      <model type='virtio'/>
      <alias name='net2'/>
    </interface>
    <serial type='file'><source path='/tmp/console.log'/></serial>
  </devices>
</domain>`;

describe("domain XML", () => {
  it("parses interfaces in document order", () => {
    const [first, second, third] = parseDomainInterfaces(LIVE_XML);

    assert.equal(first.type, "network");
    assert.equal(first.macAddress, "52:54:00:f0:20:7e", "lowercased");
    assert.equal(first.network, "lab");
    assert.equal(first.model, "virtio");
    assert.equal(first.alias, "net0");
    assert.equal(first.tapDevice, "vnet4");
    assert.equal(first.linkState, "up", "no <link> element means up");

    assert.equal(second.type, "bridge");
    assert.equal(second.network, "", "a plain bridge interface has no libvirt network");
    assert.equal(second.model, "e1000e");
    assert.equal(second.linkState, "down");

    assert.equal(third.type, "network", "the live type direct comes from a MACVTAP network");
    assert.equal(third.network, "mv");
    assert.equal(third.tapDevice, "macvtap0");
  });

  it("parses a domain with one or no interface", () => {
    const one = parseDomainInterfaces("<domain><devices><interface type='user'><mac address='52:54:00:00:00:09'/></interface></devices></domain>");
    const none = parseDomainInterfaces("<domain><name>empty</name><devices/></domain>");

    assert.equal(one.length, 1);
    assert.equal(one[0].type, "user");
    assert.equal(one[0].alias, "");
    assert.equal(one[0].tapDevice, "");
    assert.deepEqual(none, []);
  });

  it("rejects XML without a domain", () => {
    assert.throws(() => parseDomainInterfaces("<network/>"), /without a <domain> root element/);
  });

  it("renders a parsed element back", () => {
    const [first] = parseDomainInterfaces(LIVE_XML);

    const xml = renderInterfaceElement(first.node);
    const [again] = parseDomainInterfaces(`<domain><devices>${xml}</devices></domain>`);

    assert.match(xml, /^<interface type="network">/);
    assert.match(xml, /<address type="pci" domain="0x0000" bus="0x00" slot="0x02" function="0x0"\/>/);
    assert.deepEqual(again.node, first.node);
  });

  it("withLinkState sets the link and keeps the rest", () => {
    const [first] = parseDomainInterfaces(LIVE_XML);

    const down = withLinkState(first.node, "down");
    const [parsed] = parseDomainInterfaces(`<domain><devices>${renderInterfaceElement(down)}</devices></domain>`);

    assert.equal(parsed.linkState, "down");
    assert.equal(parsed.macAddress, first.macAddress);
    assert.equal(parsed.alias, "net0");
    assert.equal(first.linkState, "up", "the original is unchanged");
  });

  it("renders a new network interface", () => {
    const xml = renderNetworkInterface({ network: "lab", macAddress: "52:54:00:12:34:56", model: "virtio", linkState: "up" });

    assert.equal(
      xml,
      '<interface type="network"><mac address="52:54:00:12:34:56"/><source network="lab"/><model type="virtio"/><link state="up"/></interface>',
    );
  });

  it("escapes values instead of adding elements", () => {
    const xml = renderNetworkInterface({ network: "lab'/><x a='", macAddress: "52:54:00:12:34:56", model: "virtio", linkState: "up" });

    const [parsed] = parseDomainInterfaces(`<domain><devices>${xml}</devices></domain>`);
    assert.equal(parsed.network, "lab'/><x a='");
    assert.equal(Object.keys(parsed.node).includes("x"), false);
  });
});
