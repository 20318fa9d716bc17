import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";

import { DhcpLease, NetAgentClient, Network, NetworkType, Status } from "@netagent/client";

import { clientFor, RunningAgent, startAgent } from "./agent";
import { requestLease } from "./dhcp-client";
import { Sandbox, startSandbox } from "./sandbox";
import { failure } from "./failure";

describe("UpdateNetwork and ListDhcpLeases on a real libvirtd", function () {
  this.timeout(120_000);

  let sandbox: Sandbox;
  let agent: RunningAgent;
  let client: NetAgentClient;
  let lab: Network;

  const liveXml = () => sandbox.virsh(["net-dumpxml", "lab"]);
  const persistentXml = () => sandbox.virsh(["net-dumpxml", "--inactive", "lab"]);
  const bridgeMtu = async () => (JSON.parse((await sandbox.exec(["ip", "-j", "link", "show", "dev", "na-lab"])).stdout) as Array<{ mtu: number }>)[0].mtu;

  /**
   * Lists leases until `count` are there or 5 s pass: dnsmasq hands the lease to
   * libvirt's lease helper after it answers the client, so libvirt learns of it a little later.
   */
  async function leasesOnceThere(count: number, mac = ""): Promise<DhcpLease[]> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const { leases } = await client.networks.listDhcpLeases({ name: "lab", mac });
      if (leases.length >= count || Date.now() > deadline) {
        return leases;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  before(async () => {
    sandbox = await startSandbox({ name: "updates" });
    agent = await startAgent(sandbox);
    client = clientFor(agent);
    const { network } = await client.networks.createNetwork({
      network: {
        name: "lab",
        type: NetworkType.NETWORK_TYPE_NAT,
        ipv4: { address: "10.77.0.1/24", dhcpRanges: [{ start: "10.77.0.100", end: "10.77.0.199" }], dhcpHosts: [] },
      },
    });
    lab = network!;
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    await sandbox?.stop();
  });

  it("adds a static DHCP host live and persistently", async () => {
    const ipv4 = { ...lab.ipv4!, dhcpHosts: [{ mac: "52:54:00:00:00:42", ip: "10.77.0.42", hostname: "guest42" }] };

    const response = await client.networks.updateNetwork({ network: { ...lab, ipv4 }, updateMask: ["ipv4.dhcp_hosts"] });

    assert.equal(response.restartRequired, false);
    assert.deepEqual(response.network?.ipv4?.dhcpHosts, ipv4.dhcpHosts);
    assert.match(await liveXml(), /<host mac='52:54:00:00:00:42' name='guest42' ip='10\.77\.0\.42'\/>/);
    assert.match(await persistentXml(), /<host mac='52:54:00:00:00:42' name='guest42' ip='10\.77\.0\.42'\/>/);
  });

  it("a client with that MAC gets that address and a lease", async () => {
    const address = await requestLease(sandbox, "na-lab", "52:54:00:00:00:42");

    assert.equal(address, "10.77.0.42");
    const leases = await leasesOnceThere(1, "52:54:00:00:00:42");
    assert.equal(leases.length, 1);
    assert.equal(leases[0].ipAddress, "10.77.0.42");
    assert.equal(leases[0].prefixLength, 24);
    assert.equal(leases[0].interfaceName, "na-lab");
    assert.ok(leases[0].expiryTime instanceof Date);
    assert.ok(leases[0].expiryTime.getTime() > Date.now(), `lease expires ${leases[0].expiryTime.toISOString()}`);
  });

  it("lists leases of every client, and none for another MAC", async () => {
    const dynamic = await requestLease(sandbox, "na-lab", "52:54:00:00:00:43");

    assert.match(dynamic ?? "", /^10\.77\.0\.1[0-9][0-9]$/);
    const all = await leasesOnceThere(2);
    assert.deepEqual(all.map((l) => l.ipAddress), ["10.77.0.42", dynamic]);
    const none = await client.networks.listDhcpLeases({ name: "lab", mac: "52:54:00:00:00:99" });
    assert.deepEqual(none.leases, []);
  });

  it("changes a DHCP range live, though libvirt cannot modify ranges", async () => {
    const current = (await client.networks.getNetwork({ name: "lab" })).network!;
    const ipv4 = { ...current.ipv4!, dhcpRanges: [{ start: "10.77.0.150", end: "10.77.0.180" }] };

    const response = await client.networks.updateNetwork({ network: { ...current, ipv4 }, updateMask: ["ipv4.dhcp_ranges"] });

    assert.equal(response.restartRequired, false);
    for (const xml of [await liveXml(), await persistentXml()]) {
      assert.match(xml, /<range start='10\.77\.0\.150' end='10\.77\.0\.180'/);
      assert.doesNotMatch(xml, /10\.77\.0\.100/);
    }
  });

  it("changes DNS hosts live", async () => {
    const current = (await client.networks.getNetwork({ name: "lab" })).network!;
    const dns = { enabled: true, domain: "", hosts: [{ ip: "10.77.0.20", hostnames: ["db"] }], forwarders: [] };

    const response = await client.networks.updateNetwork({ network: { ...current, dns }, updateMask: ["dns.hosts"] });

    assert.equal(response.restartRequired, false);
    assert.deepEqual(response.network?.dns?.hosts, dns.hosts);
    assert.match(await liveXml(), /<host ip='10\.77\.0\.20'>\s*<hostname>db<\/hostname>/);
  });

  it("says a restart is needed for the MTU", async () => {
    const current = (await client.networks.getNetwork({ name: "lab" })).network!;

    const response = await client.networks.updateNetwork({ network: { ...current, mtu: 1400 }, updateMask: ["mtu"] });

    assert.equal(response.restartRequired, true);
    assert.deepEqual(response.pendingFields, ["mtu"]);
    assert.equal(response.network?.mtu, 1400);
    assert.equal(await bridgeMtu(), 1500);
    assert.match(await persistentXml(), /<mtu size='1400'\/>/);
    const running = (await client.networks.getNetwork({ name: "lab" })).network;
    assert.equal(running?.mtu, 0);
    assert.deepEqual(running?.pendingRestartFields, ["mtu"]);
    assert.deepEqual(response.network?.pendingRestartFields, []);
  });

  it("restarts when asked and keeps live changes", async () => {
    const current = (await client.networks.getNetwork({ name: "lab" })).network!;

    const response = await client.networks.updateNetwork({ network: { ...current, mtu: 1400 }, updateMask: ["mtu"], restart: true });

    assert.equal(response.restartRequired, false);
    assert.equal(await bridgeMtu(), 1400);
    const live = (await client.networks.getNetwork({ name: "lab" })).network!;
    assert.equal(live.active, true);
    assert.equal(live.mtu, 1400);
    assert.deepEqual(live.pendingRestartFields, []);
    assert.deepEqual(live.ipv4?.dhcpHosts.map((h) => h.mac), ["52:54:00:00:00:42"]);
  });

  it("checks a new bridge name against other networks", async () => {
    await client.networks.createNetwork({ network: { name: "taken", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED, bridge: "takenbr0" } });
    const current = (await client.networks.getNetwork({ name: "lab" })).network!;
    const before = await persistentXml();

    const error = await failure(client.networks.updateNetwork({ network: { ...current, bridge: "takenbr0" }, updateMask: ["bridge"], restart: true }));

    assert.equal(error.code, Status.FAILED_PRECONDITION);
    assert.match(error.details, /bridge name takenbr0 is taken by network 'taken'/);
    assert.equal(await persistentXml(), before);
    await client.networks.deleteNetwork({ name: "taken" });
  });

  it("restores the previous definition when the restart fails", async () => {
    // A process holds port 53 on the new host address, which only dnsmasq's start can find out.
    // ip_nonlocal_bind lets it bind an address that no interface has yet.
    assert.equal((await sandbox.exec(["sysctl", "-w", "net.ipv4.ip_nonlocal_bind=1"])).code, 0);
    const script = "require('dgram').createSocket('udp4').bind(53,'10.88.0.1',()=>console.log('ready'));";
    const squatter = spawn("ip", ["netns", "exec", sandbox.netns, process.execPath, "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await once(squatter.stdout!, "data");
      const current = (await client.networks.getNetwork({ name: "lab" })).network!;
      const before = await persistentXml();

      const error = await failure(
        client.networks.updateNetwork({ network: { ...current, ipv4: { address: "10.88.0.1/24", dhcpRanges: [], dhcpHosts: [] } }, updateMask: ["ipv4"], restart: true }),
      );

      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.match(error.details, /libvirt failed to start network 'lab': dnsmasq could not start .*Address already in use; the previous definition was restored/);
      assert.equal(await persistentXml(), before);
      const restored = (await client.networks.getNetwork({ name: "lab" })).network!;
      assert.equal(restored.active, true);
      assert.equal(restored.ipv4?.address, "10.77.0.1/24");
    } finally {
      squatter.kill("SIGTERM");
      await once(squatter, "exit");
      await sandbox.exec(["sysctl", "-w", "net.ipv4.ip_nonlocal_bind=0"]);
    }
  });

  it("rejects an unknown path and an invalid host", async () => {
    const current = (await client.networks.getNetwork({ name: "lab" })).network!;
    const unknown = await failure(client.networks.updateNetwork({ network: current, updateMask: ["ipv4.gateway"] }));
    const ipv4 = { ...current.ipv4!, dhcpHosts: [{ mac: "52:54:00:00:00:44", ip: "10.78.0.5", hostname: "" }] };
    const invalid = await failure(client.networks.updateNetwork({ network: { ...current, ipv4 }, updateMask: ["ipv4.dhcp_hosts"] }));

    assert.equal(unknown.code, Status.INVALID_ARGUMENT);
    assert.equal(unknown.violations[0].field, "update_mask");
    assert.equal(invalid.code, Status.INVALID_ARGUMENT);
    assert.equal(invalid.violations[0].field, "network.ipv4.dhcp_hosts[0].ip");
    assert.doesNotMatch(await persistentXml(), /52:54:00:00:00:44/);
  });

  it("changes live sections but not the rest of a foreign network", async () => {
    const xml = "<network><name>foreign</name><bridge name='foreign0'/><portgroup name='web'/><ip address='10.95.0.1' prefix='24'><dhcp><range start='10.95.0.10' end='10.95.0.20'/></dhcp></ip></network>";
    await sandbox.exec(["sh", "-c", `echo "${xml}" > /tmp/netagent-foreign.xml`]);
    await sandbox.virsh(["net-define", "/tmp/netagent-foreign.xml"]);
    await sandbox.virsh(["net-start", "foreign"]);
    try {
      const current = (await client.networks.getNetwork({ name: "foreign" })).network!;
      const ipv4 = { ...current.ipv4!, dhcpHosts: [{ mac: "52:54:00:00:00:95", ip: "10.95.0.5", hostname: "" }] };

      const hosts = await client.networks.updateNetwork({ network: { ...current, ipv4 }, updateMask: ["ipv4.dhcp_hosts"] });
      const mtu = await failure(client.networks.updateNetwork({ network: { ...current, mtu: 1400 }, updateMask: ["mtu"] }));

      assert.deepEqual(hosts.network?.ipv4?.dhcpHosts.map((h) => h.mac), ["52:54:00:00:00:95"]);
      assert.equal(mtu.code, Status.FAILED_PRECONDITION);
      assert.match(mtu.details, /network 'foreign' has <portgroup>, which the agent does not manage and a redefinition for mtu would drop/);
      assert.match(await sandbox.virsh(["net-dumpxml", "--inactive", "foreign"]), /<portgroup name='web'/);
    } finally {
      await client.networks.deleteNetwork({ name: "foreign" });
    }
  });

  it("updates the persistent definition of a stopped network", async () => {
    await client.networks.stopNetwork({ name: "lab" });
    const current = (await client.networks.getNetwork({ name: "lab" })).network!;
    const ipv4 = { ...current.ipv4!, dhcpHosts: [...current.ipv4!.dhcpHosts, { mac: "52:54:00:00:00:45", ip: "10.77.0.45", hostname: "" }] };

    const response = await client.networks.updateNetwork({ network: { ...current, ipv4 }, updateMask: ["ipv4.dhcp_hosts"] });

    assert.equal(response.restartRequired, false);
    assert.match(await persistentXml(), /52:54:00:00:00:45/);
    const leases = await failure(client.networks.listDhcpLeases({ name: "lab" }));
    assert.equal(leases.code, Status.FAILED_PRECONDITION);
    assert.match(leases.details, /defined but not active/);
  });
});
