import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

import { NetAgentClient, Network, NetworkType, Status } from "@netagent/client";

import { clientFor, RunningAgent, startAgent } from "./agent";
import { deviceExists, dnsmasqPid } from "./host-state";
import { Lan, startLan } from "./lan";
import { Sandbox, startSandbox } from "./sandbox";
import { failure } from "./failure";

describe("host checks on a real host", function () {
  this.timeout(120_000);

  let sandbox: Sandbox;
  let lan: Lan;
  let agent: RunningAgent;
  let client: NetAgentClient;

  const create = (network: Partial<Network>) => client.networks.createNetwork({ network: Network.fromPartial(network) });
  const definedNetworks = async () => (await sandbox.virsh(["net-list", "--all", "--name"])).split("\n").filter((name) => name.trim() !== "");

  before(async () => {
    sandbox = await startSandbox({ name: "checks" });
    // Router advertisements give the sandbox a default route of protocol "ra" on the uplink.
    lan = await startLan(sandbox, { routerAdvertisements: true });
    agent = await startAgent(sandbox, { args: ["--subnet-pool", "10.100.0.0/16"] });
    client = clientFor(agent);
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    await lan?.stop();
    await sandbox?.stop();
  });

  // First, while no libvirt dnsmasq holds port 53 on any address of the namespace.
  describe("dnsmasq cannot start", () => {
    let squatter: ChildProcess;

    before(async () => {
      // A process that holds port 53 on every address of the namespace, as another DNS server would.
      const script =
        "const s=require('dgram').createSocket('udp4');s.bind(53,'0.0.0.0',()=>require('net').createServer().listen(53,'0.0.0.0',()=>console.log('ready')));";
      squatter = spawn("ip", ["netns", "exec", sandbox.netns, process.execPath, "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      squatter.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const ready = once(squatter.stdout!, "data");
      const exited = once(squatter, "exit").then(() => assert.fail(`the process meant to hold port 53 exited: ${stderr}`));
      await Promise.race([ready, exited]);
    });

    after(async () => {
      if (squatter.exitCode === null) {
        const exited = once(squatter, "exit");
        squatter.kill("SIGTERM");
        await exited;
      }
    });

    it("passes dnsmasq's reason through and leaves nothing behind", async () => {
      const error = await failure(create({ name: "dns53", type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "10.91.0.1/24", dhcpRanges: [], dhcpHosts: [] } }));

      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.match(error.details, /libvirt failed to start network 'dns53': dnsmasq could not start \(exit status \d+\): .*Address already in use/);
      assert.doesNotMatch((await definedNetworks()).join("\n"), /^dns53$/m);
      assert.equal(await deviceExists(sandbox, "na-dns53"), false);
      assert.equal(await dnsmasqPid(sandbox, "dns53"), undefined);
    });
  });

  describe("subnet conflicts", () => {
    before(async () => {
      assert.equal((await sandbox.exec(["ip", "addr", "add", "203.0.113.5/24", "dev", lan.uplink])).code, 0);
      // A network that the agent did not create, on bridge virbr1.
      const xml = "<network><name>other</name><forward mode='nat'/><bridge name='virbr1'/><ip address='198.51.100.1' prefix='24'/></network>";
      await sandbox.exec(["sh", "-c", `echo "${xml}" > /tmp/netagent-other.xml`]);
      await sandbox.virsh(["net-define", "/tmp/netagent-other.xml"]);
      await sandbox.virsh(["net-start", "other"]);
    });

    after(async () => {
      await client.networks.deleteNetwork({ name: "other", allowMissing: true });
      await client.networks.deleteNetwork({ name: "lab", allowMissing: true });
      await sandbox.exec(["ip", "addr", "del", "203.0.113.5/24", "dev", lan.uplink]);
    });

    it("names the conflicting bridge and subnet before defining anything", async () => {
      const error = await failure(create({ name: "lab", type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "198.51.100.1/24", dhcpRanges: [], dhcpHosts: [] } }));

      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.match(error.details, /ipv4 subnet 198\.51\.100\.0\/24 overlaps 198\.51\.100\.0\/24 of network 'other' on bridge virbr1/);
      assert.match(error.details, /use a free subnet such as 10\.100\.0\.0\/24/);
      assert.deepEqual(await definedNetworks(), ["other"]);
    });

    it("leaves no network behind after the failure", async () => {
      await failure(create({ name: "lab", type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "198.51.100.129/25", dhcpRanges: [], dhcpHosts: [] }, autostart: true }));

      const { networks } = await client.networks.listNetworks({});
      assert.deepEqual(networks.map((n) => n.name), ["other"]);
      assert.equal(await deviceExists(sandbox, "na-lab"), false);
    });

    it("rejects a subnet of a host address", async () => {
      const error = await failure(create({ name: "lab", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "203.0.113.129/25", dhcpRanges: [], dhcpHosts: [] } }));

      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.match(error.details, new RegExp(`subnet 203\\.0\\.113\\.128/25 overlaps 203\\.0\\.113\\.0/24 of address 203\\.0\\.113\\.5/24 on ${lan.uplink}`));
    });
  });

  describe("subnet allocation", () => {
    const names = ["pool-a", "pool-b", "pool-c", "pool-d"];

    before(async () => {
      // Addresses and routes that the pool must avoid: 10.100.0.0/24 and 10.100.1.0/24.
      assert.equal((await sandbox.exec(["ip", "addr", "add", "10.100.0.5/24", "dev", lan.uplink])).code, 0);
      assert.equal((await sandbox.exec(["ip", "route", "add", "10.100.1.0/24", "via", "10.100.0.1"])).code, 0);
    });

    after(async () => {
      for (const name of names) {
        await client.networks.deleteNetwork({ name, allowMissing: true });
      }
      await sandbox.exec(["ip", "route", "del", "10.100.1.0/24"]);
      await sandbox.exec(["ip", "addr", "del", "10.100.0.5/24", "dev", lan.uplink]);
    });

    it("gives concurrent creates distinct free subnets", async () => {
      const created = await Promise.all(names.map((name) => create({ name, type: NetworkType.NETWORK_TYPE_NAT })));

      const subnets = created.map((response) => response.network?.ipv4?.address);
      assert.deepEqual([...subnets].sort(), ["10.100.2.1/24", "10.100.3.1/24", "10.100.4.1/24", "10.100.5.1/24"]);
      assert.deepEqual(created[0].network?.ipv4?.dhcpRanges.length, 1);
    });

    it("returns the allocated network on a retried create", async () => {
      const before = await client.networks.getNetwork({ name: "pool-a" });
      const again = await create({ name: "pool-a", type: NetworkType.NETWORK_TYPE_NAT });

      assert.equal(again.network?.uuid, before.network?.uuid);
      assert.equal(again.network?.ipv4?.address, before.network?.ipv4?.address);
    });
  });

  describe("bridges and uplinks", () => {
    it("rejects a missing host bridge", async () => {
      const error = await failure(create({ name: "lan", type: NetworkType.NETWORK_TYPE_BRIDGE, hostBridge: "br0" }));

      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.match(error.details, /host bridge br0 not found/);
      assert.doesNotMatch((await definedNetworks()).join("\n"), /^lan$/m);
    });

    it("rejects a host bridge that is a plain NIC", async () => {
      const error = await failure(create({ name: "lan", type: NetworkType.NETWORK_TYPE_BRIDGE, hostBridge: lan.uplink }));

      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.match(error.details, new RegExp(`host bridge ${lan.uplink} is not a bridge but a veth`));
    });

    it("rejects a missing uplink", async () => {
      const error = await failure(create({ name: "mv", type: NetworkType.NETWORK_TYPE_MACVTAP, uplink: "nosuch0" }));

      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.match(error.details, /uplink nosuch0 not found/);
      assert.match(error.details, new RegExp(`candidate uplinks: [^)]*\\b${lan.uplink}\\b`));
    });

    it("rejects a bridge name the host uses", async () => {
      const error = await failure(create({ name: "l2", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED, bridge: lan.uplink }));

      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.match(error.details, new RegExp(`bridge name ${lan.uplink} is taken by the host's veth ${lan.uplink}`));
    });
  });

  describe("IPv6 forwarding and router advertisements", () => {
    const ipv6Network = { name: "v6", type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "10.90.0.1/24", dhcpRanges: [], dhcpHosts: [] }, ipv6: { address: "2001:db8:90::1/64", dhcpRanges: [], dhcpHosts: [] } };

    before(async () => {
      // Wait until the kernel has learned the LAN's default route from a router advertisement.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const routes = JSON.parse((await sandbox.exec(["ip", "-j", "-6", "route", "show"])).stdout) as Array<{ protocol?: string; dev?: string }>;
        if (routes.some((route) => route.protocol === "ra" && route.dev === lan.uplink)) {
          break;
        }
        assert.ok(Date.now() < deadline, "no route from a router advertisement within 20 s");
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });

    after(async () => {
      await client.networks.deleteNetwork({ name: "v6", allowMissing: true });
    });

    it("names the interface and the sysctl before libvirt is called", async () => {
      const error = await failure(create(ipv6Network));

      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.match(error.details, new RegExp(`interface ${lan.uplink} learned from router advertisements \\(accept_ra=1\\)`));
      assert.match(error.details, new RegExp(`sysctl -w net\\.ipv6\\.conf\\.${lan.uplink}\\.accept_ra=2`));
      assert.deepEqual(await definedNetworks(), []);
    });

    it("matches libvirt's own check", async () => {
      const xml = "<network><name>v6raw</name><forward mode='nat'/><bridge name='v6raw0'/><ip family='ipv6' address='2001:db8:91::1' prefix='64'/></network>";
      await sandbox.exec(["sh", "-c", `echo "${xml}" > /tmp/netagent-v6raw.xml`]);
      await sandbox.virsh(["net-define", "/tmp/netagent-v6raw.xml"]);
      try {
        await assert.rejects(sandbox.virsh(["net-start", "v6raw"]), new RegExp(`interface ${lan.uplink} has kernel autoconfigured IPv6 routes`));
      } finally {
        await sandbox.virsh(["net-undefine", "v6raw"]);
      }
    });

    it("creates the network once accept_ra is 2", async () => {
      assert.equal((await sandbox.exec(["sysctl", "-w", `net.ipv6.conf.${lan.uplink}.accept_ra=2`])).code, 0);

      const { network } = await create(ipv6Network);

      assert.equal(network?.active, true);
      assert.equal(network?.ipv6?.address, "2001:db8:90::1/64");
    });
  });

  describe("GetHost", () => {
    before(async () => {
      await create({ name: "hostinfo", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.92.0.1/24", dhcpRanges: [], dhcpHosts: [] } });
    });

    after(async () => {
      await client.networks.deleteNetwork({ name: "hostinfo", allowMissing: true });
    });

    it("reports the uplink, libvirt's bridges, subnets and type support", async () => {
      const { host } = await client.host.getHost({});

      assert.ok(host);
      assert.notEqual(host.hostname, "");
      assert.match(host.libvirtVersion, /^\d+\.\d+\.\d+$/);
      assert.equal(host.subnetPool, "10.100.0.0/16");
      const uplink = host.uplinks.find((u) => u.name === lan.uplink);
      assert.ok(uplink, `no uplink ${lan.uplink} in ${JSON.stringify(host.uplinks)}`);
      assert.equal(uplink.kind, "veth");
      assert.equal(uplink.ipv6AcceptRa, 2);
      assert.ok(host.bridges.some((b) => b.name === "na-hostinfo" && b.network === "hostinfo"), JSON.stringify(host.bridges));
      assert.ok(host.subnetsInUse.some((s) => s.subnet === "10.92.0.0/24" && /network 'hostinfo'/.test(s.usedBy)), JSON.stringify(host.subnetsInUse));
      const support = new Map(host.networkTypes.map((t) => [t.type, t]));
      assert.equal(support.get(NetworkType.NETWORK_TYPE_NAT)?.available, true);
      assert.equal(support.get(NetworkType.NETWORK_TYPE_MACVTAP)?.available, true);
      assert.equal(support.get(NetworkType.NETWORK_TYPE_BRIDGE)?.available, false);
      assert.match(support.get(NetworkType.NETWORK_TYPE_BRIDGE)?.reason ?? "", /no bridge of its own/);
    });

    it("offers BRIDGE once the host has a bridge", async () => {
      assert.equal((await sandbox.exec(["ip", "link", "add", "br0", "type", "bridge"])).code, 0);
      try {
        const { host } = await client.host.getHost({});

        const bridge = host?.networkTypes.find((t) => t.type === NetworkType.NETWORK_TYPE_BRIDGE);
        assert.equal(bridge?.available, true);
        assert.ok(host?.bridges.some((b) => b.name === "br0" && b.network === ""));
      } finally {
        await sandbox.exec(["ip", "link", "delete", "br0"]);
      }
    });
  });
});
