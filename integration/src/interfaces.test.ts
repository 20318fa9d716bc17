import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";

import {
  DetachState,
  DhcpSource,
  Interface,
  LinkState,
  MacvtapMode,
  NetAgentClient,
  Network,
  NetworkType,
  Status,
} from "@netagent/client";

import { clientFor, RunningAgent, startAgent } from "./agent";
import { NicReport, ReportingGuest, startGuestWithOneSlot, startReportingGuest } from "./guests/guest";
import { guestImage } from "./guests/image";
import { Lan, startLan } from "./lan";
import { Sandbox, startSandbox } from "./sandbox";
import { failure } from "./failure";

const CLI = resolve(__dirname, "../../client/dist/cli/main.js");

/** The guest that boots Linux and reports on its console. */
const GUEST = "guest";
/** The guest without an operating system and with one free PCIe slot. */
const ONE_SLOT_GUEST = "one-slot";
/** The host's address on the LAN: on the uplink, or on the bridge whose port the uplink is while the BRIDGE row runs. */
const HOST_LAN_ADDRESS = "192.0.2.2/24";

/** A network as CreateNetwork takes it: output-only fields may be left out. */
type NetworkInput = NonNullable<Parameters<NetAgentClient["networks"]["createNetwork"]>[0]["network"]>;

/** Calls `read` until `done` accepts its result, every 200 ms for at most `timeoutMs`; returns the last result. */
async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) {
      return value;
    }
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 200));
  }
}

describe("interfaces on real guests", function () {
  this.timeout(120_000);

  let sandbox: Sandbox;
  let lan: Lan;
  let agent: RunningAgent;
  let client: NetAgentClient;
  let guest: ReportingGuest;

  before(async function () {
    // A first run builds the guest image from Debian packages.
    this.timeout(600_000);
    const image = await guestImage();
    sandbox = await startSandbox({ name: "interfaces" });
    lan = await startLan(sandbox, { hostAddress: HOST_LAN_ADDRESS });
    agent = await startAgent(sandbox);
    client = clientFor(agent);
    guest = await startReportingGuest(sandbox, image, { name: GUEST, probes: [lan.routerAddress] });
    await startGuestWithOneSlot(sandbox, { name: ONE_SLOT_GUEST });
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    await lan?.stop();
    await sandbox?.stop();
  });

  /** Lists the guest's interfaces through the SDK. */
  async function interfacesOf(domain: string): Promise<Interface[]> {
    return (await client.interfaces.listInterfaces({ domain })).interfaces;
  }

  /** Whether the host (the sandbox's namespace) gets a reply to a ping within 3 seconds. */
  async function hostReaches(address: string): Promise<boolean> {
    const result = await sandbox.exec(["busybox", "ping", "-q", "-c", "2", "-w", "3", address]);
    return result.code === 0;
  }

  /** Runs each argv in the sandbox's namespace, failing on the first that fails. */
  async function inSandbox(...argvs: string[][]): Promise<void> {
    for (const argv of argvs) {
      const result = await sandbox.exec(argv);
      assert.equal(result.code, 0, `${argv.join(" ")}: ${result.stderr}`);
    }
  }

  describe("on a NAT network", () => {
    let attached: Interface;

    before(async () => {
      await client.networks.createNetwork({
        network: {
          name: "lab",
          type: NetworkType.NETWORK_TYPE_NAT,
          ipv4: { address: "10.77.0.1/24", dhcpRanges: [{ start: "10.77.0.2", end: "10.77.0.254" }] },
        },
      });
    });

    after(async () => {
      await client.networks.deleteNetwork({ name: "lab", allowMissing: true });
    });

    it("attach gets a lease that the API lists", async () => {
      const response = await client.interfaces.attachInterface({ domain: GUEST, network: "lab" });

      assert.ok(response.interface);
      attached = response.interface;
      assert.match(attached.macAddress, /^52:54:00(:[0-9a-f]{2}){3}$/);
      assert.equal(attached.network, "lab");
      assert.equal(attached.type, "network");
      assert.equal(attached.model, "virtio");
      assert.match(attached.alias, /^net\d+$/);
      assert.match(attached.tapDevice, /^vnet\d+$/);
      assert.equal(attached.linkState, LinkState.LINK_STATE_UP);
      assert.equal(attached.live, true);
      assert.equal(attached.persistent, true);
      assert.deepEqual(response.connectivity, { hostReachesGuests: true, guestsReachOutside: true, dhcpSource: DhcpSource.DHCP_SOURCE_LIBVIRT });
      assert.deepEqual(response.warnings, []);
      const audit = await agent.waitForLogLine((line) => line.msg === "audit" && String(line.method).endsWith("/AttachInterface"));
      assert.equal(audit.target, "lab");
      assert.equal(audit.domain, GUEST);

      const report = await guest.waitForNic(attached.macAddress);
      assert.ok(report.lease, `no lease for ${attached.macAddress}; guest console:\n${await guest.console()}`);
      assert.match(report.lease.address, /^10\.77\.0\.\d+\/24$/);
      assert.equal(report.lease.server, "10.77.0.1");

      // libvirt's lease helper records the lease right after dnsmasq hands it out.
      const listed = await poll(
        async () => (await interfacesOf(GUEST)).find((i) => i.macAddress === attached.macAddress),
        (found) => (found?.addresses.length ?? 0) > 0,
        10_000,
      );
      assert.ok(listed);
      assert.deepEqual(listed.addresses, [{ address: report.lease.address }]);
      assert.equal(listed.dhcpSource, DhcpSource.DHCP_SOURCE_LIBVIRT);
      assert.equal(listed.addressesNote, "");
    });

    it("detach removes it from the guest", async () => {
      const response = await client.interfaces.detachInterface({ domain: GUEST, macAddress: attached.macAddress });

      assert.equal(response.state, DetachState.DETACH_STATE_DETACHED);
      assert.equal(response.interface?.macAddress, attached.macAddress);
      await guest.waitForRemoval(attached.macAddress);
      const remaining = await interfacesOf(GUEST);
      assert.equal(remaining.find((i) => i.macAddress === attached.macAddress), undefined);
      const domiflist = await sandbox.virsh(["domiflist", GUEST]);
      assert.doesNotMatch(domiflist, new RegExp(attached.macAddress));
    });

    it("detach of a gone interface succeeds", async () => {
      const response = await client.interfaces.detachInterface({ domain: GUEST, macAddress: attached.macAddress });

      assert.equal(response.state, DetachState.DETACH_STATE_ALREADY_ABSENT);
      assert.equal(response.interface, undefined);
    });

    it("rejects a MAC the guest has", async () => {
      const macAddress = "52:54:00:4e:00:01";
      const { interface: persistentOnly } = await client.interfaces.attachInterface({ domain: GUEST, network: "lab", macAddress, live: false });
      assert.equal(persistentOnly?.live, false);
      assert.equal(persistentOnly?.persistent, true);
      assert.match(persistentOnly?.addressesNote ?? "", /only in the persistent definition/);

      const error = await failure(client.interfaces.attachInterface({ domain: GUEST, network: "lab", macAddress: "52:54:00:4E:00:01" }));

      assert.equal(error.code, Status.ALREADY_EXISTS);
      assert.match(error.details, /domain 'guest' already has an interface with MAC address 52:54:00:4e:00:01 on network 'lab'/);
      const detached = await client.interfaces.detachInterface({ domain: GUEST, macAddress });
      assert.equal(detached.state, DetachState.DETACH_STATE_DETACHED);
      assert.equal((await interfacesOf(GUEST)).find((i) => i.macAddress === macAddress), undefined);
    });

    it("sets the link down and up", async () => {
      const { interface: added } = await client.interfaces.attachInterface({ domain: GUEST, network: "lab", linkState: LinkState.LINK_STATE_DOWN });
      assert.ok(added);
      assert.equal(added.linkState, LinkState.LINK_STATE_DOWN);
      assert.equal((await sandbox.virsh(["domif-getlink", GUEST, added.macAddress])).trim(), `${added.macAddress} down`);

      const up = await client.interfaces.updateInterface({ domain: GUEST, alias: added.alias, linkState: LinkState.LINK_STATE_UP });

      assert.equal(up.interface?.linkState, LinkState.LINK_STATE_UP);
      assert.equal((await sandbox.virsh(["domif-getlink", GUEST, added.macAddress])).trim(), `${added.macAddress} up`);
      assert.match(await sandbox.virsh(["dumpxml", "--inactive", GUEST]), /<link state='up'\/>/);

      const down = await client.interfaces.updateInterface({ domain: GUEST, macAddress: added.macAddress, linkState: LinkState.LINK_STATE_DOWN });

      assert.equal(down.interface?.linkState, LinkState.LINK_STATE_DOWN);
      assert.equal((await sandbox.virsh(["domif-getlink", GUEST, added.macAddress])).trim(), `${added.macAddress} down`);

      // Detaching by alias goes through DOMAIN_DETACH_DEVICE_ALIAS and the DEVICE_REMOVED event.
      const detached = await client.interfaces.detachInterface({ domain: GUEST, alias: added.alias });
      assert.equal(detached.state, DetachState.DETACH_STATE_DETACHED);
      assert.doesNotMatch(await sandbox.virsh(["domiflist", GUEST]), new RegExp(added.macAddress));
    });

    it("rejects a stopped network", async () => {
      const before = (await interfacesOf(GUEST)).map((i) => i.macAddress);
      await client.networks.stopNetwork({ name: "lab" });

      const error = await failure(client.interfaces.attachInterface({ domain: GUEST, network: "lab" }));

      await client.networks.startNetwork({ name: "lab" });
      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.equal(error.details, "network 'lab' is defined but not active; start it with StartNetwork (netagentctl network start lab), then attach again");
      const after = (await interfacesOf(GUEST)).map((i) => i.macAddress);
      assert.deepEqual(after, before, "nothing was attached");
    });

    it("rejects a missing domain or network", async () => {
      const noDomain = await failure(client.interfaces.attachInterface({ domain: "nosuch", network: "lab" }));
      const noNetwork = await failure(client.interfaces.attachInterface({ domain: GUEST, network: "nosuch" }));
      const noDomainList = await failure(client.interfaces.listInterfaces({ domain: "nosuch" }));

      assert.equal(noDomain.code, Status.NOT_FOUND);
      assert.equal(noDomain.details, "domain 'nosuch' not found");
      assert.equal(noNetwork.code, Status.NOT_FOUND);
      assert.equal(noNetwork.details, "network 'nosuch' not found");
      assert.equal(noDomainList.code, Status.NOT_FOUND);
    });

    it("names each invalid field", async () => {
      const error = await failure(
        client.interfaces.attachInterface({ domain: GUEST, network: "lab", macAddress: "01:00:5e:00:00:01", model: "nosuchmodel" }),
      );

      assert.equal(error.code, Status.INVALID_ARGUMENT);
      assert.deepEqual(
        error.violations.map((v) => v.field),
        ["mac_address", "model"],
      );
      assert.match(error.violations[0].description, /multicast address cannot belong to a NIC/);
      assert.match(error.violations[1].description, /^invalid value "nosuchmodel": use one of virtio/);
    });
  });

  describe("a guest without a free slot", () => {
    let first: Interface;

    before(async () => {
      await client.networks.createNetwork({
        network: { name: "slots", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.79.0.1/24", dhcpRanges: [] } },
      });
    });

    after(async () => {
      await client.networks.deleteNetwork({ name: "slots", allowMissing: true });
    });

    it("suggests a persistent-only attach", async () => {
      const filled = await client.interfaces.attachInterface({ domain: ONE_SLOT_GUEST, network: "slots" });
      assert.ok(filled.interface);
      first = filled.interface;
      assert.equal(first.live, true);

      const error = await failure(client.interfaces.attachInterface({ domain: ONE_SLOT_GUEST, network: "slots" }));

      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.match(error.details, /^domain 'one-slot' has no free PCI slot to hot-plug an interface into \(libvirt: .*No more available PCI slots\)/);
      assert.match(error.details, /attach it with live set to false and persistent set to true/);
      assert.equal((await interfacesOf(ONE_SLOT_GUEST)).length, 1, "the failed attach left nothing behind");

      const { interface: forNextBoot } = await client.interfaces.attachInterface({ domain: ONE_SLOT_GUEST, network: "slots", live: false });
      assert.equal(forNextBoot?.live, false);
      assert.equal(forNextBoot?.persistent, true);

      // Listing by network looks through every domain.
      const onNetwork = (await client.interfaces.listInterfaces({ network: "slots" })).interfaces;
      assert.deepEqual(
        onNetwork.map((i) => [i.domain, i.macAddress]),
        [
          [ONE_SLOT_GUEST, first.macAddress],
          [ONE_SLOT_GUEST, forNextBoot?.macAddress],
        ],
      );
    });

    it("reports an unanswered detach as pending", async () => {
      const started = Date.now();
      const response = await client.interfaces.detachInterface({ domain: ONE_SLOT_GUEST, macAddress: first.macAddress, timeoutSeconds: 1 });
      const elapsedMs = Date.now() - started;

      assert.equal(response.state, DetachState.DETACH_STATE_PENDING);
      assert.ok(elapsedMs < 5_000, `the detach took ${elapsedMs} ms for a 1 s timeout`);
      const listed = (await interfacesOf(ONE_SLOT_GUEST)).find((i) => i.macAddress === first.macAddress);
      assert.equal(listed?.live, true, "the guest still has the device");
      assert.equal(listed?.persistent, false, "the persistent definition no longer has it");
    });
  });

  describe("connectivity table", () => {
    /** One network type: the network to create, given the LAN beyond the host. */
    interface Row {
      name: string;
      network(lan: Lan): NetworkInput;
      /** Changes the host before the network is created. `undo` runs after the network is deleted. */
      hostSetup?: { apply(): Promise<void>; undo(): Promise<void> };
      /** Checks the created network beyond its connectivity facts. */
      checkNetwork?(network: Network): void;
    }

    const rows: Row[] = [
      {
        name: "NAT",
        network: () => ({
          name: "table-nat",
          type: NetworkType.NETWORK_TYPE_NAT,
          ipv4: { address: "10.78.1.1/24", dhcpRanges: [{ start: "10.78.1.10", end: "10.78.1.50" }] },
        }),
      },
      {
        name: "ISOLATED",
        network: () => ({
          name: "table-isolated",
          type: NetworkType.NETWORK_TYPE_ISOLATED,
          ipv4: { address: "10.78.2.1/24", dhcpRanges: [{ start: "10.78.2.10", end: "10.78.2.50" }] },
        }),
      },
      {
        name: "VERY_ISOLATED",
        network: () => ({ name: "table-very-isolated", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED }),
      },
      {
        name: "BRIDGE",
        // A host on a bridged LAN: the uplink becomes a port of br0, and br0 takes over the host's
        // LAN address, so the host reaches the guests through br0.
        hostSetup: {
          apply: () =>
            inSandbox(
              ["ip", "link", "add", "br0", "type", "bridge"],
              ["ip", "addr", "del", HOST_LAN_ADDRESS, "dev", lan.uplink],
              ["ip", "link", "set", lan.uplink, "master", "br0"],
              ["ip", "addr", "add", HOST_LAN_ADDRESS, "dev", "br0"],
              ["ip", "link", "set", "br0", "up"],
            ),
          // Deleting br0 releases the uplink, which MACVTAP networks reject while it is a bridge port.
          undo: () => inSandbox(["ip", "link", "delete", "br0"], ["ip", "addr", "add", HOST_LAN_ADDRESS, "dev", lan.uplink]),
        },
        network: () => ({ name: "table-bridge", type: NetworkType.NETWORK_TYPE_BRIDGE, hostBridge: "br0" }),
      },
      {
        name: "MACVTAP",
        // The uplink keeps the host's LAN address, which macvtap guests cannot reach.
        network: (lan) => ({ name: "table-macvtap", type: NetworkType.NETWORK_TYPE_MACVTAP, uplink: lan.uplink }),
        checkNetwork: (network) => assert.equal(network.macvtapMode, MacvtapMode.MACVTAP_MODE_BRIDGE, "default mode"),
      },
    ];

    /**
     * Returns where the lease came from, judged by the DHCP server that handed
     * it out: the network's own address is libvirt's dnsmasq, and the LAN's
     * router is the LAN's dnsmasq when its lease file lists the lease.
     * Returns undefined for any other server.
     */
    async function measuredDhcpSource(report: NicReport, network: Network): Promise<DhcpSource | undefined> {
      if (report.lease === undefined) {
        return DhcpSource.DHCP_SOURCE_NONE;
      }
      if (report.lease.server === network.ipv4?.address.split("/")[0]) {
        return DhcpSource.DHCP_SOURCE_LIBVIRT;
      }
      const address = report.lease.address.split("/")[0];
      const lanLeases = await lan.leases();
      if (report.lease.server === lan.routerAddress && lanLeases.some((lease) => lease.mac === report.macAddress && lease.ip === address)) {
        return DhcpSource.DHCP_SOURCE_LAN;
      }
      return undefined;
    }

    /** Attaches the guest to the row's network and compares what it measures with the network's facts. */
    async function measure(row: Row): Promise<void> {
      const { network } = await client.networks.createNetwork({ network: row.network(lan) });
      assert.ok(network?.connectivity);
      const facts = network.connectivity;
      let macAddress: string | undefined;
      try {
        row.checkNetwork?.(network);
        const response = await client.interfaces.attachInterface({ domain: GUEST, network: network.name });
        macAddress = response.interface!.macAddress;
        assert.equal(response.interface?.network, network.name);
        assert.deepEqual(response.connectivity, facts, "the attach response repeats the network's facts");
        assert.equal(response.warnings.length > 0, !facts.hostReachesGuests, `warnings: ${response.warnings.join("; ")}`);
        const unreachableWarning = `the host cannot reach this guest through network '${network.name}'`;
        assert.equal(
          response.warnings.some((warning) => warning.startsWith(unreachableWarning)),
          !facts.hostReachesGuests,
          `warnings: ${response.warnings.join("; ")}`,
        );

        const report = await guest.waitForNic(macAddress);
        const guestAddress = (report.lease?.address ?? report.linkLocal)!.split("/")[0];
        const console = `guest console:\n${await guest.console()}`;

        assert.equal(await hostReaches(guestAddress), facts.hostReachesGuests, `host reaches ${guestAddress}; ${console}`);
        assert.equal(report.reached.get(lan.routerAddress), facts.guestsReachOutside, `guest reaches ${lan.routerAddress}; ${console}`);
        assert.equal(
          await measuredDhcpSource(report, network),
          facts.dhcpSource,
          `lease from ${report.lease?.server ?? "nowhere"}; LAN leases: ${JSON.stringify(await lan.leases())}; ${console}`,
        );

        // libvirt lists only the leases of its own dnsmasq.
        const libvirtSees = facts.dhcpSource === DhcpSource.DHCP_SOURCE_LIBVIRT && report.lease !== undefined;
        const listed = await poll(
          async () => (await interfacesOf(GUEST)).find((i) => i.macAddress === macAddress),
          (found) => !libvirtSees || (found?.addresses.length ?? 0) > 0,
          10_000,
        );
        assert.equal(listed?.network, network.name);
        assert.equal(listed?.dhcpSource, facts.dhcpSource);
        assert.deepEqual(listed?.addresses, libvirtSees ? [{ address: report.lease!.address }] : []);
        assert.equal(listed?.addressesNote === "", libvirtSees, `note: ${listed?.addressesNote}`);
        const leases = await client.networks.listDhcpLeases({ name: network.name });
        assert.equal(leases.dhcpSource, facts.dhcpSource);
        assert.equal(leases.leases.some((lease) => lease.mac === macAddress), libvirtSees);

        const detached = await client.interfaces.detachInterface({ domain: GUEST, macAddress });
        assert.equal(detached.state, DetachState.DETACH_STATE_DETACHED);
        await guest.waitForRemoval(macAddress);
        macAddress = undefined;
      } finally {
        // The rows share the guest, so a failed row must not leave its NIC for the next one.
        if (macAddress !== undefined) {
          await client.interfaces.detachInterface({ domain: GUEST, macAddress }).catch(() => undefined);
        }
        await client.networks.deleteNetwork({ name: network.name });
      }
    }

    for (const row of rows) {
      it(`${row.name} matches its connectivity facts`, async () => {
        await row.hostSetup?.apply();
        try {
          await measure(row);
        } finally {
          await row.hostSetup?.undo();
        }
      });
    }
  });

  describe("netagentctl interface", () => {
    interface CliResult {
      code: number;
      stdout: string;
      stderr: string;
    }

    const cli = (...args: string[]) =>
      new Promise<CliResult>((resolvePromise) => {
        execFile(process.execPath, [CLI, "--address", agent.address, ...args], (error, stdout, stderr) => {
          let code = 0;
          if (error !== null) {
            code = typeof error.code === "number" ? error.code : 1;
          }
          resolvePromise({ code, stdout, stderr });
        });
      });

    before(async () => {
      await client.networks.createNetwork({
        network: { name: "cli", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED },
      });
    });

    after(async () => {
      await client.networks.deleteNetwork({ name: "cli", allowMissing: true });
    });

    it("attaches, lists, sets the link and detaches", async () => {
      const macAddress = "52:54:00:c1:10:01";

      const attached = await cli("interface", "attach", GUEST, "cli", "--mac", macAddress, "--no-persistent");
      assert.equal(attached.code, 0, attached.stderr);
      assert.match(attached.stdout, new RegExp(`^MAC address: +${macAddress}$`, "m"));
      assert.match(attached.stdout, /^Persistent: +no$/m);
      assert.match(attached.stderr, /^netagentctl: warning: the host cannot reach this guest through network 'cli'/);

      const listed = await cli("interface", "list", GUEST, "--network", "cli");
      assert.equal(listed.code, 0, listed.stderr);
      const [header, row, extra] = listed.stdout.trim().split("\n");
      assert.match(header, /^DOMAIN +MAC +NETWORK +MODEL +ALIAS +TAP +LINK +LIVE +PERSISTENT +ADDRESSES$/);
      assert.match(row, new RegExp(`^guest +${macAddress} +cli +virtio +net\\d+ +vnet\\d+ +up +yes +no +\\(no DHCP\\)$`));
      assert.equal(extra, undefined);

      const down = await cli("interface", "set-link", GUEST, macAddress, "down");
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, /^Link: +down$/m);

      const detached = await cli("interface", "detach", GUEST, macAddress);
      assert.equal(detached.code, 0, detached.stderr);
      assert.equal(detached.stdout.trim(), `interface ${macAddress} detached from domain guest`);
      assert.doesNotMatch(await sandbox.virsh(["domiflist", GUEST]), new RegExp(macAddress));
    });

    it("exits with the status code", async () => {
      const missing = await cli("interface", "list", "nosuch");
      const badLink = await cli("interface", "set-link", GUEST, "net0", "sideways");

      assert.equal(missing.code, Status.NOT_FOUND);
      assert.match(missing.stderr, /^netagentctl: NOT_FOUND: domain 'nosuch' not found$/m);
      assert.equal(badLink.code, 64);
      assert.match(badLink.stderr, /invalid link state "sideways": use up or down/);
    });
  });
});
