import assert from "node:assert/strict";
import { execFile } from "node:child_process";
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

  it("exits with the status code and names the invalid field", async () => {
    const invalid = await cli("network", "create", "lab", "--type", "nat", "--host-address", "10.77.0.0/24");
    assert.equal(invalid.code, 3);
    assert.match(invalid.stderr, /^netagentctl: INVALID_ARGUMENT: 1 invalid field$/m);
    assert.match(invalid.stderr, /^ {2}network\.ipv4\.address \(--subnet\/--host-address\): .*use for example 10\.77\.0\.1\/24$/m);

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

  it("exits 64 on usage errors", async () => {
    const badSubnet = await cli("network", "create", "lab", "--type", "nat", "--subnet", "10.77.0.5/24");
    assert.equal(badSubnet.code, 64);
    assert.match(badSubnet.stderr, /host bits are set/);

    const badType = await cli("network", "create", "lab", "--type", "wifi");
    assert.equal(badType.code, 64);
    assert.match(badType.stderr, /invalid --type "wifi"/);
  });
});
