import assert from "node:assert/strict";

import { DhcpSource, NetAgentClient, NetworkType, Status } from "@netagent/client";

import { clientFor, RunningAgent, startAgent } from "./agent";
import { deviceExists, dnsmasqPid, interfaceIpv4, masqueradeRules } from "./host-state";
import { Sandbox, startSandbox } from "./sandbox";
import { failure } from "./failure";

describe("networks on a real libvirtd", function () {
  this.timeout(120_000);

  let sandbox: Sandbox;
  let agent: RunningAgent;
  let client: NetAgentClient;

  before(async () => {
    sandbox = await startSandbox({ name: "networks" });
    agent = await startAgent(sandbox);
    client = clientFor(agent);
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    await sandbox?.stop();
  });

  describe("NAT", () => {
    it("creates the bridge, dnsmasq and the masquerade rule", async () => {
      const { network } = await client.networks.createNetwork({
        network: {
          name: "lab",
          type: NetworkType.NETWORK_TYPE_NAT,
          ipv4: { address: "10.77.0.1/24", dhcpRanges: [{ start: "10.77.0.2", end: "10.77.0.254" }] },
        },
      });

      assert.ok(network);
      assert.equal(network.active, true);
      assert.equal(network.persistent, true);
      assert.equal(network.autostart, true);
      assert.equal(network.bridge, "na-lab");
      assert.match(network.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.deepEqual(network.connectivity, { hostReachesGuests: true, guestsReachOutside: true, dhcpSource: DhcpSource.DHCP_SOURCE_LIBVIRT });

      assert.deepEqual(await interfaceIpv4(sandbox, "na-lab"), ["10.77.0.1/24"]);
      assert.ok(await dnsmasqPid(sandbox, "lab"), "dnsmasq runs for lab");
      const rules = await masqueradeRules(sandbox);
      assert.ok(rules.some((rule) => rule.includes("-s 10.77.0.0/24")), `no MASQUERADE rule for 10.77.0.0/24 in:\n${rules.join("\n")}`);
    });

    it("returns the same network when created again with the same spec", async () => {
      const first = await client.networks.getNetwork({ name: "lab" });
      const { network } = await client.networks.createNetwork({
        network: {
          name: "lab",
          type: NetworkType.NETWORK_TYPE_NAT,
          ipv4: { address: "10.77.0.1/24", dhcpRanges: [{ start: "10.77.0.2", end: "10.77.0.254" }] },
        },
      });

      assert.equal(network?.uuid, first.network?.uuid);
    });

    it("rejects the same name with a different spec as ALREADY_EXISTS", async () => {
      const error = await failure(client.networks.createNetwork({
        network: { name: "lab", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.77.0.1/24", dhcpRanges: [] } },
      }));

      assert.equal(error.code, Status.ALREADY_EXISTS);
      assert.match(error.details, /network 'lab' already exists with a different spec \(type: nat exists, isolated requested/);
    });

    it("rejects another network's subnet before defining anything", async () => {
      // Same subnet as "lab": libvirt would define the network and then fail to start it.
      const error = await failure(client.networks.createNetwork({
        network: { name: "clash", type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "10.77.0.1/24", dhcpRanges: [], dhcpHosts: [] } },
      }));

      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.match(error.details, /cannot create network 'clash': ipv4 subnet 10\.77\.0\.0\/24 overlaps 10\.77\.0\.0\/24 of network 'lab' on bridge na-lab/);
      const { networks } = await client.networks.listNetworks({});
      assert.deepEqual(networks.map((n) => n.name), ["lab"]);
      assert.equal(await deviceExists(sandbox, "na-clash"), false);
    });

    it("stops and starts again", async () => {
      const stopped = await client.networks.stopNetwork({ name: "lab" });
      assert.equal(stopped.network?.active, false);
      assert.equal(stopped.network?.persistent, true);
      assert.equal(await deviceExists(sandbox, "na-lab"), false);

      const started = await client.networks.startNetwork({ name: "lab" });
      assert.equal(started.network?.active, true);
      assert.deepEqual(await interfaceIpv4(sandbox, "na-lab"), ["10.77.0.1/24"]);
    });

    it("deletes the network and its bridge", async () => {
      await client.networks.deleteNetwork({ name: "lab" });

      assert.equal(await deviceExists(sandbox, "na-lab"), false);
      assert.equal(await dnsmasqPid(sandbox, "lab"), undefined);
      assert.equal((await failure(client.networks.getNetwork({ name: "lab" }))).code, Status.NOT_FOUND);
      assert.doesNotMatch(await sandbox.virsh(["net-list", "--all", "--name"]), /^lab$/m);
    });
  });

  describe("ISOLATED", () => {
    after(() => client.networks.deleteNetwork({ name: "iso", allowMissing: true }));

    it("creates a bridge with the host address and no masquerade rule", async () => {
      const { network } = await client.networks.createNetwork({
        network: { name: "iso", type: NetworkType.NETWORK_TYPE_ISOLATED, bridge: "isobr0", ipv4: { address: "10.78.0.1/24", dhcpRanges: [] } },
      });

      assert.equal(network?.active, true);
      assert.deepEqual(network?.connectivity, { hostReachesGuests: true, guestsReachOutside: false, dhcpSource: DhcpSource.DHCP_SOURCE_NONE });
      assert.deepEqual(await interfaceIpv4(sandbox, "isobr0"), ["10.78.0.1/24"]);
      const rules = await masqueradeRules(sandbox);
      assert.ok(!rules.some((rule) => rule.includes("10.78.0.0/24")), `unexpected MASQUERADE rule:\n${rules.join("\n")}`);
    });
  });

  describe("VERY_ISOLATED", () => {
    after(() => client.networks.deleteNetwork({ name: "l2", allowMissing: true }));

    it("creates a bridge without any address and without dnsmasq", async () => {
      const { network } = await client.networks.createNetwork({
        network: { name: "l2", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED, autostart: false },
      });

      assert.equal(network?.active, true);
      assert.equal(network?.autostart, false);
      assert.equal(network?.ipv4, undefined);
      assert.deepEqual(network?.connectivity, { hostReachesGuests: false, guestsReachOutside: false, dhcpSource: DhcpSource.DHCP_SOURCE_NONE });
      assert.equal(await deviceExists(sandbox, "na-l2"), true);
      assert.deepEqual(await interfaceIpv4(sandbox, "na-l2"), []);
      assert.equal(await dnsmasqPid(sandbox, "l2"), undefined);
    });
  });

  describe("validation", () => {
    // `field` is the violation whose text is checked; `also` lists further fields expected to be reported.
    const cases: Array<{ title: string; network: Record<string, unknown>; field: string; also?: string[]; pattern: RegExp }> = [
      { title: "a name with a slash", network: { name: "lab/28", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED }, field: "network.name", pattern: /1 to 64 characters/ },
      { title: "a name with a space", network: { name: "test net", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED }, field: "network.name", pattern: /1 to 64 characters/ },
      { title: "an empty name", network: { name: "", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED }, field: "network.name", pattern: /missing/ },
      { title: "a 300-character name", network: { name: "n".repeat(300), type: NetworkType.NETWORK_TYPE_VERY_ISOLATED }, field: "network.name", pattern: /1 to 64 characters/ },
      { title: "XML in the name", network: { name: "a</name><forward mode='open'/>", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED }, field: "network.name", pattern: /1 to 64 characters/ },
      { title: "a 16-byte bridge name", network: { name: "lab", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED, bridge: "lab-net_bridge-x" }, field: "network.bridge", pattern: /at most 15/ },
      { title: "a missing type", network: { name: "lab" }, field: "network.type", pattern: /missing/ },
      { title: "a host address that is the subnet", network: { name: "lab", type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "10.77.0.0/24", dhcpRanges: [] } }, field: "network.ipv4.address", pattern: /use for example 10\.77\.0\.1\/24/ },
      { title: "a DHCP range outside the subnet", network: { name: "lab", type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "198.51.100.1/24", dhcpRanges: [{ start: "203.0.113.10", end: "203.0.113.50" }] } }, field: "network.ipv4.dhcp_ranges[0].start", also: ["network.ipv4.dhcp_ranges[0].end"], pattern: /subnet 198\.51\.100\.0\/24/ },
      { title: "a DHCP range with start after end", network: { name: "lab", type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "198.51.100.1/24", dhcpRanges: [{ start: "198.51.100.50", end: "198.51.100.10" }] } }, field: "network.ipv4.dhcp_ranges[0]", pattern: /is after end/ },
      { title: "a DHCP range covering the host address", network: { name: "lab", type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "198.51.100.1/24", dhcpRanges: [{ start: "198.51.100.1", end: "198.51.100.9" }] } }, field: "network.ipv4.dhcp_ranges[0]", pattern: /covers the host address/ },
      { title: "markup in a DHCP host name", network: { name: "lab", type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "10.77.0.1/24", dhcpRanges: [], dhcpHosts: [{ mac: "52:54:00:00:00:01", ip: "10.77.0.5", hostname: "x'/><host mac='52:54:00:00:00:02" }] } }, field: "network.ipv4.dhcp_hosts[0].hostname", pattern: /letters, digits and hyphens/ },
      { title: "markup in a DNS domain", network: { name: "lab", type: NetworkType.NETWORK_TYPE_NAT, dns: { domain: "a</domain><forward mode='open'/>", hosts: [], forwarders: [] } }, field: "network.dns.domain", pattern: /letters, digits and hyphens/ },
      { title: "markup in an uplink name", network: { name: "mv", type: NetworkType.NETWORK_TYPE_MACVTAP, uplink: "eth0'/><x" }, field: "network.uplink", pattern: /use characters from A-Z/ },
      { title: "an address on a very isolated network", network: { name: "lab", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED, ipv4: { address: "10.77.0.1/24", dhcpRanges: [] } }, field: "network.ipv4", pattern: /no host address/ },
    ];

    for (const { title, network, field, also = [], pattern } of cases) {
      it(`rejects ${title} before libvirt sees it`, async () => {
        const before = await sandbox.virsh(["net-list", "--all", "--name"]);
        const error = await failure(client.networks.createNetwork({ network }));

        assert.equal(error.code, Status.INVALID_ARGUMENT);
        assert.deepEqual(error.violations.map((v) => v.field), [field, ...also]);
        assert.match(error.violations[0].description, pattern);
        assert.equal(await sandbox.virsh(["net-list", "--all", "--name"]), before);
      });
    }

    it("rejects a malformed name on Get", async () => {
      const error = await failure(client.networks.getNetwork({ name: "a b" }));

      assert.equal(error.code, Status.INVALID_ARGUMENT);
      assert.equal(error.violations[0].field, "name");
    });

    it("validates without creating anything when validate_only is set", async () => {
      const { network } = await client.networks.createNetwork({
        network: { name: "dry", type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "10.79.0.1/24", dhcpRanges: [] } },
        validateOnly: true,
      });

      assert.equal(network?.bridge, "na-dry");
      assert.equal((await failure(client.networks.getNetwork({ name: "dry" }))).code, Status.NOT_FOUND);
    });
  });

  describe("listing and missing networks", () => {
    const names = ["page-a", "page-b", "page-c"];

    before(async () => {
      for (const name of names) {
        await client.networks.createNetwork({ network: { name, type: NetworkType.NETWORK_TYPE_VERY_ISOLATED, autostart: false } });
      }
      await client.networks.stopNetwork({ name: "page-b" });
    });

    after(async () => {
      for (const name of names) {
        await client.networks.deleteNetwork({ name, allowMissing: true });
      }
    });

    it("pages through networks in name order", async () => {
      const first = await client.networks.listNetworks({ pageSize: 2 });
      const second = await client.networks.listNetworks({ pageSize: 2, pageToken: first.nextPageToken });

      assert.deepEqual(first.networks.map((n) => n.name), ["page-a", "page-b"]);
      assert.deepEqual(second.networks.map((n) => n.name), ["page-c"]);
      assert.equal(second.nextPageToken, "");
    });

    it("filters by state and type", async () => {
      const inactive = await client.networks.listNetworks({ active: false });
      const nat = await client.networks.listNetworks({ type: NetworkType.NETWORK_TYPE_NAT });

      assert.deepEqual(inactive.networks.map((n) => n.name), ["page-b"]);
      assert.deepEqual(nat.networks, []);
    });

    it("rejects a page token it did not issue", async () => {
      const error = await failure(client.networks.listNetworks({ pageToken: "garbage" }));

      assert.equal(error.code, Status.INVALID_ARGUMENT);
      assert.equal(error.violations[0].field, "page_token");
    });

    it("reports NOT_FOUND for a missing network unless allow_missing is set", async () => {
      assert.equal((await failure(client.networks.deleteNetwork({ name: "nosuch" }))).code, Status.NOT_FOUND);
      assert.equal((await failure(client.networks.startNetwork({ name: "nosuch" }))).code, Status.NOT_FOUND);
      await client.networks.deleteNetwork({ name: "nosuch", allowMissing: true });
    });
  });

  describe("without libvirtd", () => {
    let orphan: RunningAgent;
    let orphanClient: NetAgentClient;

    before(async () => {
      orphan = await startAgent(sandbox, { name: "orphan", libvirtSocket: `${sandbox.dir}/no-such-libvirt-sock` });
      orphanClient = clientFor(orphan);
    });

    after(async () => {
      orphanClient?.close();
      await orphan?.stop();
    });

    it("fails calls fast with UNAVAILABLE", async () => {
      const error = await failure(orphanClient.networks.listNetworks({}));

      assert.equal(error.code, Status.UNAVAILABLE);
      assert.equal(error.details, `libvirtd is not reachable at ${sandbox.dir}/no-such-libvirt-sock: no socket at that path (ENOENT); start libvirtd (systemctl start libvirtd); the agent keeps reconnecting`);
    });
  });

  describe("call log", () => {
    it("writes one JSON line per call with method, code and duration", async () => {
      await failure(client.networks.getNetwork({ name: "logged-missing" }));

      const line = await agent.waitForLogLine((l) => l.msg === "call" && l.network === "logged-missing");
      assert.equal(line.method, "/netagent.v1.NetworkService/GetNetwork");
      assert.equal(line.code, "NOT_FOUND");
      assert.equal(typeof line.durationMs, "number");
    });
  });
});
