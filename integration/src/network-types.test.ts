import assert from "node:assert/strict";

import { DhcpSource, MacvtapMode, NetAgentClient, Network, NetworkType } from "@netagent/client";

import { clientFor, RunningAgent, startAgent } from "./agent";
import { requestLease } from "./dhcp-client";
import { deviceExists, interfaceIpv4 } from "./host-state";
import { Lan, startLan } from "./lan";
import { Sandbox, startSandbox } from "./sandbox";

/** A network's input fields as the API returns them, without the output-only ones. */
function specOf(network: Network | undefined): Partial<Network> {
  assert.ok(network, "the response has a network");
  const { uuid: _uuid, active: _active, persistent: _persistent, connectivity: _connectivity, ...spec } = network;
  return spec;
}

describe("every network type on a real libvirtd", function () {
  this.timeout(120_000);

  let sandbox: Sandbox;
  let lan: Lan;
  let agent: RunningAgent;
  let client: NetAgentClient;

  before(async () => {
    sandbox = await startSandbox({ name: "types" });
    lan = await startLan(sandbox);
    agent = await startAgent(sandbox);
    client = clientFor(agent);
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    await lan?.stop();
    await sandbox?.stop();
  });

  /** Creates a network, checks that Get and List return the created spec, then returns it. */
  async function createAndReadBack(network: Partial<Network>): Promise<Network> {
    const created = (await client.networks.createNetwork({ network: Network.fromPartial(network) })).network;
    const got = (await client.networks.getNetwork({ name: network.name! })).network;
    const listed = (await client.networks.listNetworks({})).networks.find((n) => n.name === network.name);

    assert.deepEqual(specOf(got), specOf(created));
    assert.deepEqual(specOf(listed), specOf(created));
    assert.equal(got?.uuid, created?.uuid);
    return created!;
  }

  it("NAT: dual stack with DHCP hosts, DNS, MTU and STP", async () => {
    const requested: Partial<Network> = {
      name: "nat-full",
      type: NetworkType.NETWORK_TYPE_NAT,
      bridge: "natfull0",
      ipv4: {
        address: "10.77.0.1/24",
        dhcpRanges: [{ start: "10.77.0.100", end: "10.77.0.149" }, { start: "10.77.0.150", end: "10.77.0.199" }],
        dhcpHosts: [{ mac: "52:54:00:00:00:01", ip: "10.77.0.10", hostname: "web" }],
      },
      ipv6: { address: "2001:db8:77::1/64", dhcpRanges: [{ start: "2001:db8:77::100", end: "2001:db8:77::1ff" }], dhcpHosts: [{ mac: "", ip: "2001:db8:77::10", hostname: "web" }] },
      dns: { enabled: true, domain: "lab.example", hosts: [{ ip: "10.77.0.20", hostnames: ["db"] }], forwarders: [{ address: "192.0.2.1", domain: "" }] },
      mtu: 1400,
      stp: true,
      forwardDelaySeconds: 2,
      autostart: true,
    };

    const network = await createAndReadBack(requested);

    assert.deepEqual(specOf(network), specOf(Network.fromPartial(requested)));
    assert.equal(network.active, true);
    assert.deepEqual(network.connectivity, { hostReachesGuests: true, guestsReachOutside: true, dhcpSource: DhcpSource.DHCP_SOURCE_LIBVIRT });
    const link = JSON.parse((await sandbox.exec(["ip", "-j", "link", "show", "dev", "natfull0"])).stdout) as Array<{ mtu: number }>;
    assert.equal(link[0].mtu, 1400);
    const addresses = JSON.parse((await sandbox.exec(["ip", "-j", "-6", "addr", "show", "dev", "natfull0"])).stdout) as Array<{ addr_info: Array<{ local: string }> }>;
    assert.ok(addresses[0].addr_info.some((a) => a.local === "2001:db8:77::1"));

    await client.networks.deleteNetwork({ name: "nat-full" });
    assert.equal(await deviceExists(sandbox, "natfull0"), false);
  });

  it("ISOLATED: DNS disabled, DHCP on", async () => {
    const network = await createAndReadBack({
      name: "iso-nodns",
      type: NetworkType.NETWORK_TYPE_ISOLATED,
      ipv4: { address: "10.78.0.1/24", dhcpRanges: [{ start: "10.78.0.10", end: "10.78.0.20" }], dhcpHosts: [] },
      dns: { enabled: false, domain: "", hosts: [], forwarders: [] },
    });

    assert.equal(network.dns?.enabled, false);
    assert.deepEqual(network.connectivity, { hostReachesGuests: true, guestsReachOutside: false, dhcpSource: DhcpSource.DHCP_SOURCE_LIBVIRT });
    await client.networks.deleteNetwork({ name: "iso-nodns" });
  });

  it("VERY_ISOLATED: MTU and no addresses", async () => {
    const network = await createAndReadBack({ name: "l2", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED, mtu: 9000, autostart: false });

    assert.equal(network.mtu, 9000);
    assert.equal(network.stp, false);
    assert.deepEqual(await interfaceIpv4(sandbox, "na-l2"), []);
    await client.networks.deleteNetwork({ name: "l2" });
  });

  it("ROUTED: forwards without NAT through the uplink", async () => {
    const network = await createAndReadBack({
      name: "routed",
      type: NetworkType.NETWORK_TYPE_ROUTED,
      uplink: lan.uplink,
      ipv4: { address: "10.79.0.1/24", dhcpRanges: [{ start: "10.79.0.10", end: "10.79.0.20" }], dhcpHosts: [] },
    });

    assert.equal(network.uplink, lan.uplink);
    assert.deepEqual(network.connectivity, { hostReachesGuests: true, guestsReachOutside: true, dhcpSource: DhcpSource.DHCP_SOURCE_LIBVIRT });
    const updated = await client.networks.updateNetwork({ network: { ...network, autostart: false }, updateMask: ["autostart"] });
    assert.equal(updated.network?.autostart, false);
    assert.equal(updated.restartRequired, false);
    await client.networks.deleteNetwork({ name: "routed" });
  });

  it("OPEN: IPv6 only", async () => {
    const network = await createAndReadBack({
      name: "open6",
      type: NetworkType.NETWORK_TYPE_OPEN,
      ipv6: { address: "2001:db8:80::1/64", dhcpRanges: [], dhcpHosts: [] },
    });

    assert.equal(network.ipv4, undefined);
    assert.equal(network.ipv6?.address, "2001:db8:80::1/64");
    await client.networks.deleteNetwork({ name: "open6" });
  });

  it("MACVTAP: default mode bridge, host cannot reach guests", async () => {
    const network = await createAndReadBack({ name: "mv", type: NetworkType.NETWORK_TYPE_MACVTAP, uplink: lan.uplink });

    assert.equal(network.macvtapMode, MacvtapMode.MACVTAP_MODE_BRIDGE);
    assert.equal(network.bridge, "");
    assert.deepEqual(network.connectivity, { hostReachesGuests: false, guestsReachOutside: true, dhcpSource: DhcpSource.DHCP_SOURCE_LAN });
    const leases = await client.networks.listDhcpLeases({ name: "mv" });
    assert.deepEqual(leases.leases, []);
    assert.equal(leases.dhcpSource, DhcpSource.DHCP_SOURCE_LAN);

    const updated = await client.networks.updateNetwork({ network: { ...network, macvtapMode: MacvtapMode.MACVTAP_MODE_VEPA }, updateMask: ["macvtap_mode"], restart: true });
    assert.equal(updated.network?.macvtapMode, MacvtapMode.MACVTAP_MODE_VEPA);
    assert.equal(updated.restartRequired, false);
    await client.networks.deleteNetwork({ name: "mv" });
  });

  describe("BRIDGE", () => {
    before(async () => {
      for (const argv of [["ip", "link", "add", "br0", "type", "bridge"], ["ip", "link", "set", lan.uplink, "master", "br0"], ["ip", "link", "set", "br0", "up"]]) {
        const result = await sandbox.exec(argv);
        assert.equal(result.code, 0, result.stderr);
      }
    });

    after(async () => {
      await client.networks.deleteNetwork({ name: "lan", allowMissing: true });
      await sandbox.exec(["ip", "link", "delete", "br0"]);
    });

    it("joins the host bridge, whose guests get LAN leases", async () => {
      const network = await createAndReadBack({ name: "lan", type: NetworkType.NETWORK_TYPE_BRIDGE, hostBridge: "br0" });

      assert.equal(network.hostBridge, "br0");
      assert.deepEqual(network.connectivity, { hostReachesGuests: true, guestsReachOutside: true, dhcpSource: DhcpSource.DHCP_SOURCE_LAN });
      const address = await requestLease(sandbox, "br0", "52:54:00:00:0b:01");
      assert.match(address ?? "", /^192\.0\.2\.1[0-9][0-9]$/);
      assert.ok((await lan.leases()).some((lease) => lease.mac === "52:54:00:00:0b:01"));
    });

    it("rejects MACVTAP on the bridge port", async () => {
      const { code, details } = await client.networks
        .createNetwork({ network: Network.fromPartial({ name: "mv2", type: NetworkType.NETWORK_TYPE_MACVTAP, uplink: lan.uplink }) })
        .then(() => ({ code: 0, details: "" }), (error: { code: number; details: string }) => error);

      assert.equal(code, 9);
      assert.match(details, new RegExp(`uplink ${lan.uplink} is a port of bridge br0.*use a BRIDGE network with host_bridge br0`));
      assert.doesNotMatch(await sandbox.virsh(["net-list", "--all", "--name"]), /^mv2$/m);
    });
  });
});
