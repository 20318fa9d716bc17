import assert from "node:assert/strict";

import type { HostFacts, HostInterface } from "../host/facts";
import { parseAddresses, parseRoutes } from "../host/ip-json";
import { findConflicts, subnetsInUse } from "./host-conflicts";
import { formatSubnet } from "./ip";
import type { NetworkSpecInput } from "./model";
import { SubnetPool } from "./subnet-pool";
import { validateSpec } from "./validate";
import { parseNetworkXml } from "./xml";

const pool = new SubnetPool("10.100.0.0/16");

function iface(name: string, extra: Partial<HostInterface> = {}): HostInterface {
  return { name, index: 1, kind: "", linkType: "ether", mac: "", mtu: 1500, up: true, isBridge: false, isBridgePort: false, bridgePorts: [], stp: false, addresses: [], ...extra };
}

function facts(extra: Partial<HostFacts> = {}): HostFacts {
  const addresses = parseAddresses(JSON.stringify([{ ifname: "eth0", addr_info: [{ family: "inet", local: "192.0.2.10", prefixlen: 24, scope: "global" }] }]));
  return {
    interfaces: [iface("lo", { linkType: "loopback" }), iface("eth0", { addresses, ipv6AcceptRa: 1 }), iface("br0", { isBridge: true }), iface("port0", { isBridgePort: true, master: "br0" })],
    routes: parseRoutes(JSON.stringify([{ dst: "default", gateway: "192.0.2.1", dev: "eth0" }, { dst: "203.0.113.0/24", gateway: "192.0.2.1", dev: "eth0", protocol: "static" }]), 4),
    autoconfiguredRoutes: [],
    ipv6AcceptRaAll: 0,
    ...extra,
  };
}

const virbr1 = parseNetworkXml("<network><name>other</name><forward mode='nat'/><bridge name='virbr1'/><ip address='198.51.100.1' prefix='24'/></network>");

function conflictsOf(input: NetworkSpecInput, hostFacts = facts()): string[] {
  return findConflicts(validateSpec(input).spec, hostFacts, [virbr1], pool);
}

describe("findConflicts", () => {
  it("names the network, its bridge and subnet, and suggests a free one", () => {
    const [conflict] = conflictsOf({ name: "lab", type: "nat", ipv4: { address: "198.51.100.1/24", dhcpRanges: [] } });

    assert.equal(conflict, "ipv4 subnet 198.51.100.0/24 overlaps 198.51.100.0/24 of network 'other' on bridge virbr1; use a free subnet such as 10.100.0.0/24");
  });

  it("suggests a free /16 outside a pool in use", () => {
    const pooled = parseNetworkXml("<network><name>pooled</name><forward mode='nat'/><bridge name='virbr2'/><ip address='10.100.0.1' prefix='24'/></network>");
    const { spec } = validateSpec({ name: "lab", type: "nat", ipv4: { address: "10.100.0.1/16", dhcpRanges: [] } });
    const [conflict] = findConflicts(spec, facts(), [virbr1, pooled], pool);

    assert.match(conflict, /overlaps 10\.100\.0\.0\/24 .*; use a free subnet such as 10\.0\.0\.0\/16$/);
  });

  it("finds overlap with a host address and a route", () => {
    const [address] = conflictsOf({ name: "lab", type: "isolated", ipv4: { address: "192.0.2.129/25", dhcpRanges: [] } });
    const [route] = conflictsOf({ name: "lab", type: "isolated", ipv4: { address: "203.0.113.1/28", dhcpRanges: [] } });

    assert.match(address, /overlaps 192\.0\.2\.0\/24 of address 192\.0\.2\.10\/24 on eth0/);
    assert.match(route, /overlaps 203\.0\.113\.0\/24 of route 203\.0\.113\.0\/24 via eth0/);
  });

  it("accepts a free subnet despite the default route", () => {
    assert.deepEqual(conflictsOf({ name: "lab", type: "nat", ipv4: { address: "10.77.0.1/24", dhcpRanges: [] } }), []);
  });

  it("reports a missing host bridge and one that is no bridge", () => {
    const [missing] = conflictsOf({ name: "lan", type: "bridge", hostBridge: "br9" });
    const [plain] = conflictsOf({ name: "lan", type: "bridge", hostBridge: "eth0" });

    assert.match(missing, /^host bridge br9 not found/);
    assert.match(plain, /^host bridge eth0 is not a bridge but a physical interface/);
    assert.deepEqual(conflictsOf({ name: "lan", type: "bridge", hostBridge: "br0" }), []);
  });

  it("reports a missing uplink and a bridge port", () => {
    const [missing] = conflictsOf({ name: "mv", type: "macvtap", uplink: "eth9" });
    const [port] = conflictsOf({ name: "mv", type: "macvtap", uplink: "port0" });

    assert.match(missing, /^uplink eth9 not found.*\(candidate uplinks: eth0, port0\)$/);
    assert.match(port, /^uplink port0 is a port of bridge br0.*use a BRIDGE network with host_bridge br0/);
  });

  it("lists no candidates when the host has none", () => {
    const [missing] = conflictsOf({ name: "mv", type: "macvtap", uplink: "eth9" }, facts({ interfaces: [iface("lo", { linkType: "loopback" })] }));

    assert.match(missing, /\(the host has no candidate uplink\)$/);
  });

  it("names a host bridge of a BRIDGE network as such", () => {
    const lan = parseNetworkXml("<network><name>lan</name><forward mode='bridge'/><bridge name='br0'/></network>");
    const [conflict] = findConflicts(validateSpec({ name: "lab", type: "nat", bridge: "br0", ipv4: { address: "10.77.0.1/24", dhcpRanges: [] } }).spec, facts(), [lan], pool);

    assert.match(conflict, /^bridge name br0 is an existing host bridge \(used by BRIDGE network 'lan'\)/);
  });

  it("reports a bridge name in use", () => {
    const [device] = conflictsOf({ name: "lab", type: "very-isolated", bridge: "br0" });
    const [network] = conflictsOf({ name: "lab", type: "very-isolated", bridge: "virbr1" });

    assert.match(device, /^bridge name br0 is taken by the host's bridge br0/);
    assert.match(network, /^bridge name virbr1 is taken by network 'other'/);
  });

  describe("routes from router advertisements", () => {
    const autoconfiguredRoutes = [{ subnet: { family: 6 as const, network: 0n, prefixLength: 0 }, device: "eth0" }];
    const input: NetworkSpecInput = { name: "v6", type: "nat", ipv4: { address: "10.77.0.1/24", dhcpRanges: [] }, ipv6: { address: "2001:db8:1::1/64", dhcpRanges: [] } };
    const withAcceptRa = (value: number, all: number) => {
      const hostFacts = facts({ autoconfiguredRoutes, ipv6AcceptRaAll: all });
      hostFacts.interfaces = hostFacts.interfaces.map((host) => (host.name === "eth0" ? { ...host, ipv6AcceptRa: value } : host));
      return hostFacts;
    };

    it("name the interface and the sysctl", () => {
      const [conflict] = conflictsOf(input, withAcceptRa(1, 0));

      assert.match(conflict, /interface eth0 learned from router advertisements \(accept_ra=1\); set net\.ipv6\.conf\.eth0\.accept_ra=2/);
    });

    it("follow libvirt's accept_ra rules", () => {
      assert.equal(conflictsOf(input, withAcceptRa(2, 1)).length, 0);
      assert.equal(conflictsOf(input, withAcceptRa(0, 1)).length, 1);
      assert.equal(conflictsOf(input, withAcceptRa(0, 0)).length, 0);
    });

    it("matter only for forwarding types", () => {
      assert.deepEqual(conflictsOf({ ...input, type: "isolated" }, withAcceptRa(1, 1)), []);
    });
  });
});

describe("subnetsInUse", () => {
  it("reports a network once, not its bridge's address and route", () => {
    const hostFacts = facts();
    const addresses = parseAddresses(JSON.stringify([{ ifname: "virbr1", addr_info: [{ family: "inet", local: "198.51.100.1", prefixlen: 24, scope: "global" }] }]));
    hostFacts.interfaces.push(iface("virbr1", { isBridge: true, addresses }));
    hostFacts.routes.push(...parseRoutes(JSON.stringify([{ dst: "198.51.100.0/24", dev: "virbr1", protocol: "kernel" }]), 4));

    const uses = subnetsInUse(hostFacts, [virbr1]).filter((use) => formatSubnet(use.subnet) === "198.51.100.0/24");

    assert.deepEqual(uses.map((use) => use.usedBy), ["network 'other' on bridge virbr1"]);
  });

  it("leaves out the network itself and its own bridge", () => {
    const uses = subnetsInUse(facts(), [virbr1], { name: "other", bridge: "eth0" });

    assert.deepEqual(uses.map((use) => formatSubnet(use.subnet)), []);
  });
});
