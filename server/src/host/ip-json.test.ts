import assert from "node:assert/strict";

import { formatSubnet } from "../networks/ip";
import { parseAddresses, parseLinks, parseRoutes } from "./ip-json";

// Shortened output of iproute2 6.1 in a namespace with a bridge, a veth port and a macvtap device.
const LINKS = JSON.stringify([
  { ifindex: 1, ifname: "lo", flags: ["LOOPBACK", "UP", "LOWER_UP"], mtu: 65536, operstate: "UNKNOWN", link_type: "loopback", address: "00:00:00:00:00:00" },
  { ifindex: 2, ifname: "br0", flags: ["BROADCAST", "UP"], mtu: 1500, operstate: "DOWN", link_type: "ether", address: "52:e1:68:4c:15:bd", linkinfo: { info_kind: "bridge", info_data: { stp_state: 0 } } },
  { ifindex: 4, link: "p1", ifname: "up0", mtu: 1500, master: "br0", operstate: "UP", link_type: "ether", address: "52:e1:68:4c:15:bd", linkinfo: { info_kind: "veth", info_slave_kind: "bridge" } },
  { ifindex: 5, ifname: "eth0", mtu: 9000, operstate: "UP", link_type: "ether", address: "52:54:00:12:34:56" },
]);

describe("ip -j parsers", () => {
  it("parses links with kind, master and state", () => {
    const links = parseLinks(LINKS);

    assert.deepEqual(links.map((l) => [l.name, l.kind, l.linkType, l.up, l.master, l.mtu]), [
      ["lo", "", "loopback", true, undefined, 65536],
      ["br0", "bridge", "ether", false, undefined, 1500],
      ["up0", "veth", "ether", true, "br0", 1500],
      ["eth0", "", "ether", true, undefined, 9000],
    ]);
  });

  it("parses addresses of both families", () => {
    const json = JSON.stringify([
      { ifname: "br0", addr_info: [{ family: "inet", local: "192.0.2.5", prefixlen: 24, scope: "global" }, { family: "inet6", local: "2001:db8:5::1", prefixlen: 64, scope: "global" }] },
    ]);

    const addresses = parseAddresses(json);

    assert.deepEqual(addresses.map((a) => [a.device, a.cidr, formatSubnet(a.subnet)]), [
      ["br0", "192.0.2.5/24", "192.0.2.0/24"],
      ["br0", "2001:db8:5::1/64", "2001:db8:5::/64"],
    ]);
  });

  it("parses routes with defaults, host routes and nexthops", () => {
    const json = JSON.stringify([
      { dst: "default", gateway: "fe80::1", dev: "up0", protocol: "ra", metric: 1024 },
      { dst: "2001:db8:5::/64", dev: "up0", protocol: "kernel" },
      { type: "local", dst: "::1", dev: "lo", table: "local", protocol: "kernel" },
      { dst: "2001:db8:9::/48", protocol: "static", nexthops: [{ gateway: "fe80::2", dev: "eth0" }, { gateway: "fe80::3", dev: "eth1" }] },
    ]);

    const routes = parseRoutes(json, 6);

    assert.deepEqual(routes.map((r) => [formatSubnet(r.subnet), r.type, r.protocol, r.devices, r.table]), [
      ["::/0", "unicast", "ra", ["up0"], "main"],
      ["2001:db8:5::/64", "unicast", "kernel", ["up0"], "main"],
      ["::1/128", "local", "kernel", ["lo"], "local"],
      ["2001:db8:9::/48", "unicast", "static", ["eth0", "eth1"], "main"],
    ]);
  });

  it("accepts empty output", () => {
    assert.deepEqual(parseRoutes("", 4), []);
  });
});
