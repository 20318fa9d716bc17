import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";

import { NetAgentClient, NetAgentError, NetworkType, Status } from "@netagent/client";

import { clientFor, RunningAgent, startAgent } from "./agent";
import { HealthRecorder, ServingStatus } from "./recorders";
import { Sandbox, startSandbox } from "./sandbox";

const CLI = resolve(__dirname, "../../client/dist/cli/main.js");

/** Collects a child's stdout as lines. */
function outputLines(child: ChildProcess): string[] {
  const lines: string[] = [];
  let pending = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const complete = pending.split("\n");
    pending = complete.pop() ?? "";
    lines.push(...complete);
  });
  return lines;
}

async function waitForLine(lines: string[], pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = lines.find((l) => pattern.test(l));
    if (line !== undefined) {
      return line;
    }
    if (Date.now() > deadline) {
      throw new Error(`no line matching ${pattern} within ${timeoutMs} ms; got:\n${lines.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("event CLI and shutdown", function () {
  this.timeout(120_000);

  let sandbox: Sandbox;
  let agent: RunningAgent;
  let client: NetAgentClient;

  before(async () => {
    sandbox = await startSandbox({ name: "shutdown", holdDnsmasq: true });
    agent = await startAgent(sandbox);
    client = clientFor(agent);
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    await sandbox?.stop();
  });

  it("netagentctl events prints one line per event", async () => {
    const child = spawn(process.execPath, [CLI, "--address", agent.address, "events", "--network", "shown"], { stdio: ["ignore", "pipe", "pipe"] });
    const jsonChild = spawn(process.execPath, [CLI, "--address", agent.address, "--json", "events"], { stdio: ["ignore", "pipe", "pipe"] });
    const lines = outputLines(child);
    const jsonLines = outputLines(jsonChild);
    try {
      await waitForLine(lines, /resync +watch-started/);
      await waitForLine(jsonLines, /RESYNC_REASON_WATCH_STARTED/);

      for (const [name, subnet] of [["hidden", "10.62.1"], ["shown", "10.62.2"]]) {
        await client.networks.createNetwork({
          network: { name, type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: `${subnet}.1/24`, dhcpRanges: [] } },
        });
      }
      const started = await waitForLine(lines, / started +shown/);
      const json = JSON.parse(await waitForLine(jsonLines, /NETWORK_EVENT_TYPE_STARTED.*"shown"/)) as {
        network: { type: string; name: string; source: string; network: { bridge: string } };
      };

      assert.match(started, /^\d{4}-\d\d-\d\dT[\d:.]+Z +network +started +shown +\(source libvirt\)$/);
      assert.ok(!lines.some((line) => line.includes("hidden")), `the --network filter let other networks through:\n${lines.join("\n")}`);
      assert.equal(json.network.name, "shown");
      assert.equal(json.network.source, "EVENT_SOURCE_LIBVIRT");
      assert.equal(json.network.network.bridge, "na-shown");
    } finally {
      child.kill("SIGINT");
      jsonChild.kill("SIGINT");
    }
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0, "Ctrl-C ends the watch without an error");
  });

  it("SIGTERM finishes calls in flight and ends watches", async () => {
    const health = new HealthRecorder(agent.address);
    await health.waitFor(ServingStatus.SERVING);
    const watchEnded = (async () => {
      try {
        for await (const _ of client.events.watchEvents({ network: "", domain: "" })) {
          // Events before the shutdown do not matter here.
        }
      } catch (error) {
        return error;
      }
      return undefined;
    })();

    await sandbox.holdDnsmasq("slow");
    const creating = client.networks.createNetwork({
      network: {
        name: "slow",
        type: NetworkType.NETWORK_TYPE_NAT,
        ipv4: { address: "10.62.3.1/24", dhcpRanges: [{ start: "10.62.3.2", end: "10.62.3.254" }] },
      },
    });
    await sandbox.waitForHeldDnsmasq("slow");
    process.kill(agent.pid, "SIGTERM");
    await health.waitFor(ServingStatus.NOT_SERVING);
    const watchError = await watchEnded;
    await sandbox.releaseDnsmasq("slow");
    const { network } = await creating;
    const code = await agent.exited;
    await health.close();

    assert.ok(watchError instanceof NetAgentError, `expected NetAgentError, got ${String(watchError)}`);
    assert.equal(watchError.code, Status.UNAVAILABLE);
    assert.match(watchError.details, /^the agent is shutting down/);
    assert.equal(network?.active, true, "the create in flight finished");
    assert.equal(code, 0);
    const messages = agent.logLines().map((line) => line.msg);
    assert.ok(messages.includes("stopped"), `no "stopped" log line in: ${messages.join(", ")}`);
    assert.ok(
      agent.logLines().some((line) => line.method === "/netagent.v1.NetworkService/CreateNetwork" && line.code === "OK"),
      "the create was logged as OK",
    );
  });
});
