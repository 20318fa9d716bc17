import assert from "node:assert/strict";

import { validateSpec } from "./validate";
import type { NetworkSpecInput } from "./model";
import { parseNetworkXml, renderDhcpHostXml, renderDnsHostXml, renderNetworkXml, renderRangeXml, unmodeledElements } from "./xml";

describe("renderNetworkXml", () => {
  it("renders a NAT network with forward, bridge, address and DHCP", () => {
    const xml = renderNetworkXml(validateSpec({
      name: "lab",
      type: "nat",
      ipv4: { address: "10.77.0.1/24", dhcpRanges: [{ start: "10.77.0.2", end: "10.77.0.254" }] },
    }).spec);

    assert.match(xml, /<name>lab<\/name>/);
    assert.match(xml, /<forward mode="nat"><\/forward>|<forward mode="nat"\/>/);
    assert.match(xml, /<bridge name="na-lab" stp="off" delay="0"/);
    assert.match(xml, /<ip address="10\.77\.0\.1" prefix="24">/);
    assert.match(xml, /<range start="10\.77\.0\.2" end="10\.77\.0\.254"/);
  });

  it("renders an isolated network without forward", () => {
    const xml = renderNetworkXml(validateSpec({ name: "iso", type: "isolated", ipv4: { address: "10.78.0.1/24", dhcpRanges: [] } }).spec);

    assert.doesNotMatch(xml, /<forward/);
    assert.doesNotMatch(xml, /<dhcp/);
    assert.match(xml, /<ip address="10\.78\.0\.1"/);
  });

  it("renders a very isolated network without forward or ip", () => {
    const xml = renderNetworkXml(validateSpec({ name: "l2", type: "very-isolated" }).spec);

    assert.doesNotMatch(xml, /<forward/);
    assert.doesNotMatch(xml, /<ip/);
  });

  it("escapes markup in values so no element can be injected", () => {
    // validateSpec rejects such names; this checks the builder itself.
    const xml = renderNetworkXml({ name: "a</name><forward mode='open'/>", type: "very-isolated", bridge: "br\"x", mtu: 0, autostart: true });
    const parsed = parseNetworkXml(xml);

    assert.equal(parsed.name, "a</name><forward mode='open'/>");
    assert.equal(parsed.bridge, "br\"x");
    assert.equal(parsed.type, "very-isolated");
  });

  it("escapes markup in DHCP and DNS host names", () => {
    const spec = validateSpec({ name: "lab", type: "nat", ipv4: { address: "10.77.0.1/24", dhcpRanges: [] } }).spec;
    spec.ipv4!.dhcpHosts = [{ mac: "52:54:00:00:00:01", ip: "10.77.0.5", hostname: "x'/><host mac='52:54:00:00:00:02" }];
    spec.dns = { enabled: true, domain: "", hosts: [{ ip: "10.77.0.6", hostnames: ["</hostname></host><forwarder addr='192.0.2.1'/>"] }], forwarders: [] };
    const parsed = parseNetworkXml(renderNetworkXml(spec));

    assert.deepEqual(parsed.ipv4?.dhcpHosts, spec.ipv4!.dhcpHosts);
    assert.deepEqual(parsed.dns?.hosts, spec.dns.hosts);
    assert.deepEqual(parsed.dns?.forwarders, []);
  });

  it("renders macvtap with its uplink and mode", () => {
    const xml = renderNetworkXml(validateSpec({ name: "mv", type: "macvtap", uplink: "eth0", macvtapMode: "vepa" }).spec);

    assert.match(xml, /<forward mode="vepa">\s*<interface dev="eth0"/);
    assert.doesNotMatch(xml, /<bridge/);
  });

  it("renders update fragments on one line", () => {
    assert.equal(renderDhcpHostXml({ mac: "52:54:00:00:00:01", ip: "10.77.0.5", hostname: "web" }), '<host mac="52:54:00:00:00:01" name="web" ip="10.77.0.5"/>');
    assert.equal(renderRangeXml({ start: "10.77.0.10", end: "10.77.0.20" }), '<range start="10.77.0.10" end="10.77.0.20"/>');
    assert.equal(renderDnsHostXml({ ip: "10.77.0.6", hostnames: ["a", "b"] }), '<host ip="10.77.0.6"><hostname>a</hostname><hostname>b</hostname></host>');
  });

  it("carries uuid and bridge MAC into a redefinition", () => {
    const spec = validateSpec({ name: "l2", type: "very-isolated" }).spec;
    const parsed = parseNetworkXml(renderNetworkXml(spec, { uuid: "8d9a1fc4-7d4e-4c55-9a7e-1b0b4e0d3b11", macAddress: "52:54:00:0a:0b:0c" }));

    assert.equal(parsed.uuid, "8d9a1fc4-7d4e-4c55-9a7e-1b0b4e0d3b11");
    assert.equal(parsed.macAddress, "52:54:00:0a:0b:0c");
  });
});

describe("parseNetworkXml", () => {
  it("round-trips every type with its full spec", () => {
    const inputs: NetworkSpecInput[] = [
      {
        name: "nat1",
        type: "nat",
        uplink: "eth0",
        mtu: 9000,
        stp: true,
        forwardDelaySeconds: 2,
        ipv4: {
          address: "10.77.0.1/24",
          dhcpRanges: [{ start: "10.77.0.10", end: "10.77.0.20" }, { start: "10.77.0.30", end: "10.77.0.40" }],
          dhcpHosts: [{ mac: "52:54:00:00:00:01", ip: "10.77.0.5", hostname: "web" }],
        },
        ipv6: { address: "2001:db8:1::1/64", dhcpRanges: [{ start: "2001:db8:1::100", end: "2001:db8:1::1ff" }], dhcpHosts: [{ ip: "2001:db8:1::5", hostname: "web" }] },
        dns: { domain: "lab.example", hosts: [{ ip: "10.77.0.6", hostnames: ["db"] }], forwarders: [{ address: "192.0.2.53", domain: "corp.example" }] },
      },
      { name: "iso1", type: "isolated", bridge: "isobr", ipv4: { address: "10.78.0.1/16", dhcpRanges: [] }, dns: { enabled: false } },
      { name: "l2", type: "very-isolated" },
      { name: "lan", type: "bridge", hostBridge: "br0" },
      { name: "mv", type: "macvtap", uplink: "eth0", macvtapMode: "passthrough" },
      { name: "r1", type: "routed", ipv6: { address: "2001:db8:2::1/64", dhcpRanges: [] } },
      { name: "o1", type: "open", ipv4: { address: "10.79.0.1/24", dhcpRanges: [] } },
    ];
    for (const input of inputs) {
      const { spec } = validateSpec(input);
      const { uuid, ipIndex: _ipIndex, macAddress: _macAddress, ...parsed } = parseNetworkXml(renderNetworkXml(spec));
      const { autostart: _autostart, ...expected } = spec;

      assert.equal(uuid, "");
      assert.deepEqual(JSON.parse(JSON.stringify(parsed)), JSON.parse(JSON.stringify(expected)), input.name);
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
    assert.deepEqual(parsed.ipv4, { address: "192.168.122.1", prefixLength: 24, dhcpRanges: [{ start: "192.168.122.2", end: "192.168.122.254" }], dhcpHosts: [] });
    assert.equal(parsed.stp, true);
    assert.equal(parsed.macAddress, "52:54:00:0a:0b:0c");
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

describe("unmodeledElements", () => {
  it("finds nothing in the agent's own XML or libvirt's NAT default", () => {
    const spec = validateSpec({ name: "lab", type: "nat", ipv4: { address: "10.77.0.1/24", dhcpRanges: [{ start: "10.77.0.2", end: "10.77.0.9" }] }, dns: { domain: "lab.example" } }).spec;
    const withLibvirtNat = renderNetworkXml(spec).replace(/<forward mode="nat"\s*\/>|<forward mode="nat"><\/forward>/, "<forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>");

    assert.match(withLibvirtNat, /<nat><port start='1024'/);
    assert.deepEqual(unmodeledElements(renderNetworkXml(spec)), []);
    assert.deepEqual(unmodeledElements(withLibvirtNat), []);
  });

  it("names elements a redefinition would drop", () => {
    const xml = `<network><name>n</name>
      <forward mode='nat'><nat><address start='192.0.2.10' end='192.0.2.20'/></nat></forward>
      <bridge name='x0'/><portgroup name='web'/><route address='198.51.100.0' prefix='24' gateway='10.1.0.2'/>
      <ip address='10.1.0.1' prefix='24'><dhcp><bootp file='pxelinux.0'/></dhcp></ip>
      <ip address='10.2.0.1' prefix='24'/></network>`;

    assert.deepEqual(unmodeledElements(xml), ["<portgroup>", "<route>", "<forward><nat>", "a second <ip> of one family", "<ip><dhcp><bootp>"]);
  });
});
