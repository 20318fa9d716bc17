import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import { createNetAgentClient, NetAgentClient, NetworkType, Status } from "@netagent/client";

import { clientFor, RunningAgent, startAgent } from "./agent";
import { deviceExists, dnsmasqPid } from "./host-state";
import { EventRecorder, HealthRecorder, ServingStatus } from "./recorders";
import { Sandbox, startSandbox } from "./sandbox";
import { failure } from "./failure";

function isolatedNetworkXml(name: string, bridge: string, subnet: string, uuid = ""): string {
  const uuidElement = uuid === "" ? "" : `<uuid>${uuid}</uuid>`;
  return `<network><name>${name}</name>${uuidElement}<bridge name='${bridge}'/><ip address='${subnet}.1' prefix='24'/></network>`;
}

describe("events on a real libvirtd", function () {
  this.timeout(120_000);

  let sandbox: Sandbox;
  let agent: RunningAgent;
  let client: NetAgentClient;
  const recorders: Array<EventRecorder | HealthRecorder> = [];

  function record<T extends EventRecorder | HealthRecorder>(recorder: T): T {
    recorders.push(recorder);
    return recorder;
  }

  async function virshDefine(name: string, xml: string): Promise<void> {
    const file = join(sandbox.dir, `${name}.xml`);
    await writeFile(file, xml);
    await sandbox.virsh(["net-define", file]);
  }

  before(async () => {
    sandbox = await startSandbox({ name: "events", holdDnsmasq: true });
    agent = await startAgent(sandbox);
    client = clientFor(agent);
  });

  afterEach(async () => {
    await Promise.all(recorders.splice(0).map((recorder) => recorder.close()));
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    await sandbox?.stop();
  });

  it("streams a network made with virsh", async () => {
    const watch = record(new EventRecorder(client));
    await watch.started();

    await virshDefine("outside", isolatedNetworkXml("outside", "na-outside", "10.60.1"));
    await sandbox.virsh(["net-start", "outside"]);

    const defined = await watch.waitFor("network defined outside libvirt");
    const started = await watch.waitFor("network started outside libvirt", defined);
    const { networks } = await client.networks.listNetworks({});
    const event = watch.events[started].event;
    assert.equal(event?.$case, "network");
    assert.equal(event.value.network?.bridge, "na-outside");
    assert.equal(event.value.network?.active, true);
    assert.ok(networks.some((n) => n.name === "outside"), `outside missing from ${networks.map((n) => n.name).join(", ")}`);
  });

  it("reports a virsh redefinition as defined and updated", async () => {
    const watch = record(new EventRecorder(client));
    const from = await watch.started();
    const { network } = await client.networks.getNetwork({ name: "outside" });
    // The agent reports a network's running definition, which changes only
    // when the network is inactive or starts again.
    await sandbox.virsh(["net-destroy", "outside"]);

    // A definition with the same name and UUID replaces the existing one.
    await virshDefine("outside", isolatedNetworkXml("outside", "na-outside", "10.60.2", network?.uuid));

    const stopped = await watch.waitFor("network stopped outside libvirt", from);
    const defined = await watch.waitFor("network defined outside libvirt", stopped);
    const updated = await watch.waitFor("network updated outside libvirt", defined);
    const event = watch.events[updated].event;
    assert.equal(event?.$case, "network");
    assert.equal(event.value.uuid, network?.uuid);
    assert.equal(event.value.network?.ipv4?.address, "10.60.2.1/24");
  });

  it("reports a redefinition of a running network as pending", async () => {
    await virshDefine("running", isolatedNetworkXml("running", "na-running", "10.60.4"));
    await sandbox.virsh(["net-start", "running"]);
    const { network } = await client.networks.getNetwork({ name: "running" });
    const watch = record(new EventRecorder(client));
    const from = await watch.started();

    await virshDefine("running", isolatedNetworkXml("running", "na-running", "10.60.5", network?.uuid));

    const defined = await watch.waitFor("network defined running libvirt", from);
    const updated = await watch.waitFor("network updated running libvirt", defined);
    const event = watch.events[updated].event;
    assert.equal(event?.$case, "network");
    assert.equal(event.value.network?.ipv4?.address, "10.60.4.1/24");
    assert.deepEqual(event.value.network?.pendingRestartFields, ["ipv4.address"]);
    await sandbox.virsh(["net-destroy", "running"]);
    await sandbox.virsh(["net-undefine", "running"]);
  });

  it("reports the agent's own changes", async () => {
    const watch = record(new EventRecorder(client));
    const from = await watch.started();

    await client.networks.createNetwork({
      network: { name: "own", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.60.3.1/24", dhcpRanges: [] } },
    });
    await client.networks.stopNetwork({ name: "own" });
    await client.networks.deleteNetwork({ name: "own" });

    const defined = await watch.waitFor("network defined own libvirt", from);
    const started = await watch.waitFor("network started own libvirt", defined);
    const stopped = await watch.waitFor("network stopped own libvirt", started);
    await watch.waitFor("network undefined own libvirt", stopped);
  });

  it("filters by network", async () => {
    const watch = record(new EventRecorder(client, { network: "wanted" }));
    await watch.started();

    for (const [name, subnet] of [["unwanted", "10.60.4"], ["wanted", "10.60.5"]]) {
      await client.networks.createNetwork({
        network: { name, type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: `${subnet}.1/24`, dhcpRanges: [] } },
      });
    }
    await watch.waitFor("network started wanted libvirt");

    assert.deepEqual(
      watch.lines().filter((line) => line.startsWith("network")),
      ["network defined wanted libvirt", "network started wanted libvirt"],
    );
  });

  it("rejects a malformed network filter", async () => {
    const error = await failure(
      (async () => {
        for await (const _ of client.events.watchEvents({ network: "no/slash", domain: "" })) {
          break;
        }
      })(),
    );

    assert.equal(error.code, Status.INVALID_ARGUMENT);
    assert.equal(error.violations[0]?.field, "network");
  });

  it("reports an interface hot-plugged into a guest", async () => {
    await client.networks.createNetwork({
      network: { name: "guests", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.60.20.1/24", dhcpRanges: [] } },
    });
    // A guest without an operating system is enough: QEMU plugs the NIC in by
    // itself. Removing it needs the guest's cooperation, so only the attach is
    // tested against a real guest.
    const guest = join(sandbox.dir, "guest.xml");
    await writeFile(
      guest,
      "<domain type='qemu'><name>guest</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>" +
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features>" +
        "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>",
    );
    await sandbox.virsh(["create", guest]);
    try {
      const watch = record(new EventRecorder(client, { domain: "guest" }));
      await watch.started();

      await sandbox.virsh(["attach-interface", "guest", "network", "guests", "--mac", "52:54:00:60:20:02", "--model", "virtio"]);

      await watch.waitFor("interface attached guest net0 52:54:00:60:20:02 guests");
    } finally {
      await sandbox.virsh(["destroy", "guest"]);
    }
  });

  // Leaves libvirtd running for the next test when a test fails while it is down.
  afterEach(async () => {
    await sandbox.releaseDnsmasq("c13");
    const running = await sandbox.libvirtdPid().then(
      () => true,
      () => false,
    );
    if (!running) {
      await sandbox.startLibvirtd();
    }
  });

  it("rides out a libvirtd restart during a watch and a create", async () => {
    const watch = record(new EventRecorder(client));
    const health = record(new HealthRecorder(agent.address));
    await watch.started();
    await health.waitFor(ServingStatus.SERVING);

    // libvirtd holds the start of c13 before dnsmasq, after it has defined
    // the network and created its bridge, so the restart always hits the
    // create in the middle of its start step.
    await sandbox.holdDnsmasq("c13");
    const creating = client.networks.createNetwork({
      network: {
        name: "c13",
        type: NetworkType.NETWORK_TYPE_NAT,
        ipv4: { address: "10.60.13.1/24", dhcpRanges: [{ start: "10.60.13.2", end: "10.60.13.254" }] },
      },
    });
    await sandbox.waitForHeldDnsmasq("c13");
    const pid = await sandbox.signalLibvirtd("SIGTERM");

    const createError = await failure(creating);
    assert.equal(createError.code, Status.UNAVAILABLE);
    assert.match(createError.details, /^the libvirt connection was lost during the start step of network 'c13'; .*retrying the create is safe$/);
    const notServing = await health.waitFor(ServingStatus.NOT_SERVING);
    // The SDK retries a List after UNAVAILABLE by default; this client gets the agent's own status.
    const once = createNetAgentClient({ address: agent.address, retry: false });
    const started = Date.now();
    const listError = await failure(once.networks.listNetworks({})).finally(() => once.close());
    assert.equal(listError.code, Status.UNAVAILABLE);
    assert.ok(Date.now() - started < 1000, "calls during the outage fail fast");

    // A graceful libvirtd finishes the held start before it exits.
    await sandbox.releaseDnsmasq("c13");
    await sandbox.waitForExit(pid);
    await sandbox.startLibvirtd();

    await health.waitFor(ServingStatus.SERVING, notServing);
    const marker = await watch.waitFor("resync libvirt-reconnected");
    // The agent removes the network its interrupted create left behind.
    const stopped = await watch.waitFor("network stopped c13 libvirt", marker);
    await watch.waitFor("network undefined c13 libvirt", stopped);
    await client.networks.createNetwork({
      network: { name: "after", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.60.14.1/24", dhcpRanges: [] } },
    });
    await watch.waitFor("network started after libvirt", marker);

    const { networks } = await client.networks.listNetworks({});
    assert.ok(!networks.some((n) => n.name === "c13"), "c13 is not listed");
    assert.doesNotMatch(await sandbox.virsh(["net-list", "--all", "--name"]), /^c13$/m);
    assert.equal(await deviceExists(sandbox, "na-c13"), false);
    assert.equal(await dnsmasqPid(sandbox, "c13"), undefined);
    assert.ok(!watch.lines().includes("resync client-reconnected"), "the watch stream stayed open");
  });

  it("resyncs a change that had no event within the period", async () => {
    const periodic = await startAgent(sandbox, { name: "periodic", args: ["--network-resync-period", "2"] });
    const periodicClient = clientFor(periodic);
    try {
      await record(new HealthRecorder(periodic.address)).waitFor(ServingStatus.SERVING);
      await periodicClient.networks.createNetwork({
        network: { name: "autostarted", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.60.16.1/24", dhcpRanges: [] } },
      });
      const watch = record(new EventRecorder(periodicClient));
      const from = await watch.started();

      // libvirt sends no event for an autostart change.
      const changedAt = Date.now();
      await sandbox.virsh(["net-autostart", "autostarted", "--disable"]);
      const updated = await watch.waitFor("network updated autostarted resync", from, 6_000);
      const elapsedMs = Date.now() - changedAt;

      const event = watch.events[updated].event;
      assert.equal(event?.$case, "network");
      assert.equal(event.value.network?.autostart, false);
      assert.ok(elapsedMs < 4_000, `the change arrived after ${elapsedMs} ms, more than two periods`);
      assert.equal((await periodicClient.networks.getNetwork({ name: "autostarted" })).network?.autostart, false);
      assert.ok(!watch.lines().some((line) => line.startsWith("resync ") && line !== "resync watch-started"), "a periodic read sends no resync marker");
      await periodicClient.networks.deleteNetwork({ name: "autostarted" });
    } finally {
      periodicClient.close();
      await periodic.stop();
    }
  });

  it("resyncs a change that had no event after a crash", async () => {
    await client.networks.createNetwork({
      network: { name: "quiet", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.60.15.1/24", dhcpRanges: [] } },
    });
    const watch = record(new EventRecorder(client));
    const from = await watch.started();

    // libvirt has no event for an autostart change, so the agent learns of it only by reading again.
    await sandbox.virsh(["net-autostart", "quiet", "--disable"]);
    const pid = await sandbox.signalLibvirtd("SIGKILL");
    await sandbox.waitForExit(pid);
    await sandbox.startLibvirtd();

    const marker = await watch.waitFor("resync libvirt-reconnected", from);
    const updated = await watch.waitFor("network updated quiet resync", marker);
    const event = watch.events[updated].event;
    assert.equal(event?.$case, "network");
    assert.equal(event.value.network?.autostart, false);
    assert.equal((await client.networks.getNetwork({ name: "quiet" })).network?.autostart, false);
  });
});
