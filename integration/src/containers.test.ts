import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readlink } from "node:fs/promises";
import { promisify } from "node:util";

import { FleetHost, NetworkType, runOnFleet, Status } from "@netagent/client";
import { startNetAgentContainer, StartedNetAgentContainer } from "@netagent/client/testing";

// testcontainers' reaper runs from an image that netagent's engine cannot pull, so this suite
// removes its containers itself. On a machine that has /.dockerenv, testcontainers looks for the
// engine's "bridge" network to find the host of mapped ports, but netagent's engine has none. The
// agents publish no ports, so the override only skips that lookup. scripts/test.sh sets
// DOCKER_HOST, and the default is the socket of the engine that scripts/engine.sh starts.
process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "localhost";
process.env.DOCKER_HOST ??= "unix:///run/netagent-docker.sock";

const run = promisify(execFile);

/** Label value that distinguishes this run's containers from those of other runs. */
const RUN_LABEL = process.env.NETAGENT_TEST_RUN ?? `pid-${process.pid}`;

const tenant = {
  name: "tenant-blue",
  type: NetworkType.NETWORK_TYPE_ISOLATED,
  ipv4: { address: "10.91.0.1/24", dhcpRanges: [{ start: "10.91.0.10", end: "10.91.0.99" }] },
};

async function containersOfThisRun(): Promise<string[]> {
  const { stdout } = await run("docker", ["ps", "--all", "--quiet", "--filter", `label=org.netagent.test-run=${RUN_LABEL}`]);
  return stdout.split("\n").filter((id) => id !== "");
}

/** Returns the addresses on a bridge inside a container, as "address/prefix". */
async function bridgeAddresses(host: StartedNetAgentContainer, bridge: string): Promise<string[]> {
  const result = await host.exec(["ip", "-json", "addr", "show", "dev", bridge]);
  assert.equal(result.exitCode, 0, `ip addr show dev ${bridge}: ${result.output}`);
  const [link] = JSON.parse(result.output) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
  return link.addr_info.map((info) => `${info.local}/${info.prefixlen}`);
}

describe("agents in containers", function () {
  this.timeout(300_000);

  const hosts: StartedNetAgentContainer[] = [];
  let fleet: FleetHost[];

  before(async () => {
    const starts = await Promise.allSettled(
      [0, 1, 2].map((index) =>
        startNetAgentContainer({
          name: `netagent-host-${index}-${process.pid}`,
          labels: { "org.netagent.test-run": RUN_LABEL },
          clientOptions: { defaultDeadlineMs: 60_000 },
        }),
      ),
    );
    for (const start of starts) {
      if (start.status === "fulfilled") {
        hosts.push(start.value);
      }
    }
    const failed = starts.find((start) => start.status === "rejected");
    if (failed !== undefined) {
      throw failed.reason;
    }
    fleet = hosts.map((host, index) => ({ name: `host-${index}`, client: host.client }));
  });

  after(async () => {
    await Promise.all(hosts.map((host) => host.remove()));
  });

  it("runs each agent in its own network namespace", async () => {
    const namespaces = new Set<string>();
    for (const host of hosts) {
      const result = await host.exec(["readlink", "/proc/1/ns/net"]);
      assert.equal(result.exitCode, 0, result.output);
      namespaces.add(result.output.trim());
    }

    assert.equal(namespaces.size, 3);
    assert.ok(!namespaces.has(await readlink("/proc/self/ns/net")), "a container shares this machine's network namespace");
  });

  it("creates one isolated network on all hosts", async () => {
    const results = await runOnFleet(fleet, (agent, { signal }) => agent.networks.createNetwork({ network: tenant }, { signal }), { concurrency: 3 });

    for (const [index, result] of results.entries()) {
      assert.equal(result.ok, true, `${result.host}: ${JSON.stringify(result)}`);
      const bridge = result.ok ? result.value.network!.bridge : "";
      assert.deepEqual(await bridgeAddresses(hosts[index], bridge), ["10.91.0.1/24"]);
      assert.equal(existsSync(`/sys/class/net/${bridge}`), false, `bridge ${bridge} appeared on this machine`);
    }
  });

  it("reports UNAVAILABLE for a host stopped mid-run", async () => {
    const second = { name: "tenant-green", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED };

    // One call at a time: host-1 goes down after host-0's call and before its own.
    const results = await runOnFleet(
      fleet,
      async (agent, { host, signal }) => {
        const response = await agent.networks.createNetwork({ network: second }, { signal });
        if (host === "host-0") {
          await hosts[1].stop();
        }
        return response;
      },
      { concurrency: 1 },
    );

    assert.deepEqual(
      results.map((result) => (result.ok ? "OK" : Status[result.code])),
      ["OK", "UNAVAILABLE", "OK"],
    );
  });

  it("keeps serving on the other hosts", async () => {
    const results = await runOnFleet(fleet, (agent, { signal }) => agent.networks.listNetworks({}, { signal }));

    assert.equal(!results[1].ok && results[1].code, Status.UNAVAILABLE);
    for (const index of [0, 2]) {
      const result = results[index];
      assert.equal(result.ok, true, `${result.host}: ${JSON.stringify(result)}`);
      assert.deepEqual(result.ok && result.value.networks.map((network) => network.name).sort(), ["tenant-blue", "tenant-green"]);
    }
  });

  it("removes every container", async () => {
    assert.equal((await containersOfThisRun()).length, 3);

    await Promise.all(hosts.map((host) => host.remove()));

    assert.deepEqual(await containersOfThisRun(), []);
    for (const host of hosts) {
      assert.equal(existsSync(host.socketDir), false, `${host.socketDir} is left behind`);
    }
  });
});
