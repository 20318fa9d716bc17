import assert from "node:assert/strict";

import { validateSpec } from "./validate";
import { parseNetworkXml, renderNetworkXml } from "./xml";

describe("renderNetworkXml", () => {
  it("renders a NAT network with forward, bridge, address and DHCP", () => {
    const xml = renderNetworkXml(validateSpec({
      name: "lab",
      type: "nat",
      ipv4: { address: "10.77.0.1/24", dhcpRanges: [{ start: "10.77.0.2", end: "10.77.0.254" }] },
    }));

    assert.match(xml, /<name>lab<\/name>/);
    assert.match(xml, /<forward mode="nat"><\/forward>|<forward mode="nat"\/>/);
    assert.match(xml, /<bridge name="na-lab" stp="off" delay="0"/);
    assert.match(xml, /<ip address="10\.77\.0\.1" prefix="24">/);
    assert.match(xml, /<range start="10\.77\.0\.2" end="10\.77\.0\.254"/);
  });

  it("renders an isolated network without forward", () => {
    const xml = renderNetworkXml(validateSpec({ name: "iso", type: "isolated", ipv4: { address: "10.78.0.1/24", dhcpRanges: [] } }));

    assert.doesNotMatch(xml, /<forward/);
    assert.doesNotMatch(xml, /<dhcp/);
    assert.match(xml, /<ip address="10\.78\.0\.1"/);
  });

  it("renders a very isolated network without forward or ip", () => {
    const xml = renderNetworkXml(validateSpec({ name: "l2", type: "very-isolated" }));

    assert.doesNotMatch(xml, /<forward/);
    assert.doesNotMatch(xml, /<ip/);
  });

  it("escapes markup in values so no element can be injected", () => {
    // validateSpec rejects such names; this checks the builder itself.
    const xml = renderNetworkXml({ name: "a</name><forward mode='open'/>", type: "very-isolated", bridge: "br\"x", autostart: true });
    const parsed = parseNetworkXml(xml);

    assert.equal(parsed.name, "a</name><forward mode='open'/>");
    assert.equal(parsed.bridge, "br\"x");
    assert.equal(parsed.type, "very-isolated");
  });
});

describe("parseNetworkXml", () => {
  it("round-trips every creatable type", () => {
    const inputs = [
      { name: "nat1", type: "nat" as const, ipv4: { address: "10.77.0.1/24", dhcpRanges: [{ start: "10.77.0.10", end: "10.77.0.20" }, { start: "10.77.0.30", end: "10.77.0.40" }] } },
      { name: "iso1", type: "isolated" as const, bridge: "isobr", ipv4: { address: "10.78.0.1/16", dhcpRanges: [] } },
      { name: "l2", type: "very-isolated" as const },
    ];
    for (const input of inputs) {
      const spec = validateSpec(input);
      const { uuid, ...parsed } = parseNetworkXml(renderNetworkXml(spec));

      assert.equal(uuid, "");
      assert.deepEqual(parsed, { name: spec.name, type: spec.type, bridge: spec.bridge, ipv4: spec.ipv4 });
    }
  });

  it("reads libvirt's own XML of the default network", () => {
    const xml = `<network>
  <name>default</name>
  <uuid>8d9a1fc4-7d4e-4c55-9a7e-1b0b4e0d3b11</uuid>
  <forward mode='nat'>
    <nat><port start='1024' end='65535'/></nat>
  </forward>
  <bridge name='virbr0' stp='on' delay='0'/>
  <mac address='52:54:00:0a:0b:0c'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
  </ip>
</network>`;
    const parsed = parseNetworkXml(xml);

    assert.equal(parsed.uuid, "8d9a1fc4-7d4e-4c55-9a7e-1b0b4e0d3b11");
    assert.equal(parsed.type, "nat");
    assert.equal(parsed.bridge, "virbr0");
    assert.deepEqual(parsed.ipv4, { address: "192.168.122.1", prefixLength: 24, dhcpRanges: [{ start: "192.168.122.2", end: "192.168.122.254" }] });
  });

  it("classifies forward modes defined outside the agent", () => {
    const cases: Array<[string, string]> = [
      ["<forward mode='route'/><bridge name='r0'/><ip address='10.1.0.1' prefix='24'/>", "routed"],
      ["<forward mode='open'/><bridge name='o0'/><ip address='10.2.0.1' prefix='24'/>", "open"],
      ["<forward mode='bridge'/><bridge name='br0'/>", "bridge"],
      ["<forward mode='bridge'><interface dev='eth0'/></forward>", "macvtap"],
      ["<forward mode='vepa'><interface dev='eth0'/></forward>", "macvtap"],
      ["<bridge name='x0'/><ip family='ipv6' address='2001:db8::1' prefix='64'/>", "isolated"],
    ];
    for (const [body, expected] of cases) {
      assert.equal(parseNetworkXml(`<network><name>n</name>${body}</network>`).type, expected, body);
    }
  });

  it("rejects a document without a network name", () => {
    assert.throws(() => parseNetworkXml("<pool/>"), /without a <network><name> element/);
  });
});
