import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { resolve } from "node:path";

import { RunningAgent, startAgent } from "./agent";
import { deviceExists, interfaceIpv4 } from "./host-state";
import { Sandbox, startSandbox } from "./sandbox";

const CLI = resolve(__dirname, "../../client/dist/cli/main.js");

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe("netagentctl", function () {
  this.timeout(120_000);

  let sandbox: Sandbox;
  let agent: RunningAgent;

  const cli = (...args: string[]) =>
    new Promise<CliResult>((resolvePromise) => {
      execFile(process.execPath, [CLI, "--address", agent.address, ...args], (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      });
    });

  before(async () => {
    sandbox = await startSandbox({ name: "cli" });
    agent = await startAgent(sandbox);
  });

  after(async () => {
    await agent?.stop();
    await sandbox?.stop();
  });

  it("creates, lists, shows and deletes a NAT network", async () => {
    const created = await cli("network", "create", "lab", "--type", "nat", "--subnet", "10.77.0.0/24");
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^State: +active$/m);
    assert.deepEqual(await interfaceIpv4(sandbox, "na-lab"), ["10.77.0.1/24"]);

    const listed = await cli("network", "list");
    assert.equal(listed.code, 0, listed.stderr);
    const [header, row] = listed.stdout.trim().split("\n");
    assert.match(header, /^NAME +TYPE +STATE +AUTOSTART +BRIDGE +IPV4 +DHCP +HOST-TO-GUEST +OUTSIDE$/);
    assert.match(row, /^lab +nat +active +yes +na-lab +10\.77\.0\.1\/24 +10\.77\.0\.2-10\.77\.0\.254 +yes +yes$/);

    const shown = await cli("--json", "network", "get", "lab");
    const network = JSON.parse(shown.stdout) as Record<string, unknown>;
    assert.equal(network.type, "NETWORK_TYPE_NAT");
    assert.deepEqual(network.connectivity, { hostReachesGuests: true, guestsReachOutside: true, dhcpSource: "DHCP_SOURCE_LIBVIRT" });

    const deleted = await cli("network", "delete", "lab");
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(await deviceExists(sandbox, "na-lab"), false);
  });

  it("creates a dual-stack network with static hosts and DNS", async () => {
    const created = await cli(
      "network", "create", "dual", "--type", "isolated", "--host-address", "10.80.0.1/24", "--dhcp-range", "10.80.0.100-10.80.0.199",
      "--dhcp-host", "52:54:00:00:00:10,10.80.0.10,web", "--ipv6", "2001:db8:80::1/64", "--ipv6-dhcp-host", "web,2001:db8:80::10",
      "--dns-domain", "lab.example", "--dns-host", "10.80.0.20=db", "--mtu", "1450",
    );

    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^IPv6: +2001:db8:80::1\/64$/m);
    assert.match(created.stdout, /^DHCP hosts: +52:54:00:00:00:10 10\.80\.0\.10 web, 2001:db8:80::10 web$/m);
    assert.match(created.stdout, /^DNS: +domain lab\.example, 10\.80\.0\.20=db$/m);
    assert.match(created.stdout, /^MTU: +1450$/m);
  });

  it("updates a network and says when a restart is needed", async () => {
    const added = await cli("network", "update", "dual", "--add-dhcp-host", "52:54:00:00:00:11,10.80.0.11,app", "--remove-dhcp-host", "52:54:00:00:00:10");
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^DHCP hosts: +52:54:00:00:00:11 10\.80\.0\.11 app, 2001:db8:80::10 web$/m);
    assert.doesNotMatch(added.stdout, /Restart required/);

    const mtu = await cli("network", "update", "dual", "--mtu", "1400");
    assert.equal(mtu.code, 0, mtu.stderr);
    assert.match(mtu.stdout, /^Restart required: +mtu \(run again with --restart/m);
    const pending = await cli("network", "get", "dual");
    assert.match(pending.stdout, /^MTU: +1450$/m);
    assert.match(pending.stdout, /^Pending restart: +mtu \(/m);

    const duplicate = await cli("network", "update", "dual", "--add-dhcp-host", "52:54:00:00:00:12,10.80.0.11,db");
    assert.equal(duplicate.code, 3);
    assert.match(duplicate.stderr, /^ {2}network\.ipv4\.dhcp_hosts\[\d\]\.ip \(--add-dhcp-host\): address 10\.80\.0\.11 is already used by host 52:54:00:00:00:11,10\.80\.0\.11,app/m);

    const absent = await cli("network", "update", "dual", "--remove-dhcp-host", "52:54:00:00:00:99");
    assert.equal(absent.code, 5);
    assert.match(absent.stderr, /NOT_FOUND: network 'dual' has no static DHCP host with MAC 52:54:00:00:00:99/);

    const nothing = await cli("network", "update", "dual");
    assert.equal(nothing.code, 64);
    assert.match(nothing.stderr, /nothing to change/);
  });

  it("lists leases and shows the host", async () => {
    const leases = await cli("network", "leases", "dual");
    assert.equal(leases.code, 0, leases.stderr);
    assert.match(leases.stdout, /^ADDRESS +MAC +HOSTNAME +EXPIRES +CLIENT-ID$/m);

    const host = await cli("host", "get");
    assert.equal(host.code, 0, host.stderr);
    assert.match(host.stdout, /^libvirt: +\d+\.\d+\.\d+$/m);
    assert.match(host.stdout, /^na-dual +dual +- +10\.80\.0\.1\/24/m);
    assert.match(host.stdout, /^bridge +no +the host has no bridge of its own/m);

    const deleted = await cli("network", "delete", "dual");
    assert.equal(deleted.code, 0, deleted.stderr);
  });

  it("exits with the status code and names the invalid field", async () => {
    const invalid = await cli("network", "create", "lab", "--type", "nat", "--host-address", "10.77.0.0/24");
    assert.equal(invalid.code, 3);
    assert.match(invalid.stderr, /^netagentctl: INVALID_ARGUMENT: 1 invalid field$/m);
    assert.match(invalid.stderr, /^ {2}network\.ipv4\.address \(--subnet\/--host-address\): .*use for example 10\.77\.0\.1\/24$/m);

    const noHostBridge = await cli("network", "create", "lan", "--type", "bridge");
    assert.equal(noHostBridge.code, 3);
    assert.match(noHostBridge.stderr, /^ {2}network\.host_bridge \(--host-bridge\): missing/m);

    const missing = await cli("network", "get", "nosuch");
    assert.equal(missing.code, 5);
    assert.match(missing.stderr, /NOT_FOUND: network 'nosuch' not found/);
  });

  it("marks a validate-only create as a dry run", async () => {
    const result = await cli("network", "create", "dry", "--type", "nat", "--subnet", "10.80.0.0/24", "--validate-only");

    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\(validate only: every check passed and nothing was changed\)$/m);
    assert.equal(await deviceExists(sandbox, "na-dry"), false);
  });

  it("hints at the address when no agent listens", async () => {
    const result = await new Promise<CliResult>((resolvePromise) => {
      const address = `unix://${sandbox.dir}/nobody-listens.sock`;
      execFile(process.execPath, [CLI, "--address", address, "network", "list"], (error, stdout, stderr) => {
        resolvePromise({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      });
    });

    assert.equal(result.code, 14);
    assert.match(result.stderr, /is the agent running at unix:\/\/.*nobody-listens\.sock\?/);
  });

  it("hints at the address while events retry", async () => {
    const address = `unix://${sandbox.dir}/nobody-listens.sock`;
    const child = spawn(process.execPath, [CLI, "--address", address, "events"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    try {
      await new Promise<void>((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`no retry line within 10 s; stderr:\n${stderr}`)), 10_000);
        child.stderr.on("data", (chunk: Buffer) => {
          stderr += chunk.toString();
          if (/is the agent running at/.test(stderr)) {
            clearTimeout(timer);
            resolvePromise();
          }
        });
      });
    } finally {
      child.kill("SIGTERM");
    }

    assert.match(stderr, /^netagentctl: UNAVAILABLE: .*; watching again in \d+ ms$/m);
    assert.doesNotMatch(stderr, /Resolution note/);
    assert.match(stderr, /^ {2}is the agent running at unix:\/\/.*nobody-listens\.sock\?/m);
  });

  it("exits 64 on usage errors", async () => {
    const badSubnet = await cli("network", "create", "lab", "--type", "nat", "--subnet", "10.77.0.5/24");
    assert.equal(badSubnet.code, 64);
    assert.match(badSubnet.stderr, /host bits are set/);

    const badType = await cli("network", "create", "lab", "--type", "wifi");
    assert.equal(badType.code, 64);
    assert.match(badType.stderr, /invalid --type "wifi"/);
  });
});
