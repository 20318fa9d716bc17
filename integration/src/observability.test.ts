import assert from "node:assert/strict";

import { NetAgentClient, NetAgentError, NetworkType, Status } from "@netagent/client";
import { createChannel, createClient } from "nice-grpc";
import { HealthDefinition } from "nice-grpc-server-health";
import { HealthCheckResponse_ServingStatus } from "nice-grpc-server-health/lib/proto/grpc/health/v1/health";

import { clientFor, RunningAgent, startAgent } from "./agent";
import { Sandbox, startSandbox } from "./sandbox";

/** One sample of a Prometheus text exposition: metric name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) {
      continue;
    }
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1]] = label[2];
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** Returns the value of the one sample with this name whose labels include `labels`, or undefined. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  assert.ok(found.length <= 1, `${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

describe("metrics and health", function () {
  this.timeout(120_000);

  let sandbox: Sandbox;
  let agent: RunningAgent;
  let client: NetAgentClient;
  let metricsUrl: string;

  before(async () => {
    sandbox = await startSandbox({ name: "observability" });
    // The agent runs in the machine's network namespace so that the test can
    // reach its metrics listener on loopback.
    agent = await startAgent(sandbox, { hostNamespace: true, args: ["--metrics-listen", "127.0.0.1:0"] });
    client = clientFor(agent);
    const line = await agent.waitForLogLine((entry) => entry.msg === "serving metrics at /metrics");
    metricsUrl = `http://127.0.0.1:${String(line.metricsPort)}/metrics`;
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    await sandbox?.stop();
  });

  async function scrape(): Promise<Sample[]> {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return parseExposition(await response.text());
  }

  it("counts calls by method and code", async () => {
    await client.networks.listNetworks({});
    await assert.rejects(client.networks.getNetwork({ name: "missing" }), (error: NetAgentError) => error.code === Status.NOT_FOUND);

    const samples = await scrape();

    assert.equal(valueOf(samples, "grpc_server_handled_total", { grpc_method: "ListNetworks", grpc_code: "OK" }), 1);
    assert.equal(valueOf(samples, "grpc_server_handled_total", { grpc_method: "GetNetwork", grpc_code: "NOT_FOUND" }), 1);
  });

  it("measures latency by method and code", async () => {
    const samples = await scrape();

    assert.equal(valueOf(samples, "grpc_server_handling_seconds_count", { grpc_method: "ListNetworks", grpc_code: "OK" }), 1);
    const sum = valueOf(samples, "grpc_server_handling_seconds_sum", { grpc_method: "ListNetworks", grpc_code: "OK" });
    assert.ok(sum !== undefined, "no grpc_server_handling_seconds_sum for ListNetworks");
    assert.ok(sum > 0, `sum ${sum}`);
    assert.ok(sum < 10, `sum ${sum}`);
  });

  it("reports the libvirt connection", async () => {
    assert.equal(valueOf(await scrape(), "netagent_libvirt_connected"), 1);
  });

  it("counts networks by type and state", async () => {
    await client.networks.createNetwork({ network: { name: "metrics-nat", type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "10.85.0.1/24", dhcpRanges: [] } } });
    await client.networks.createNetwork({ network: { name: "metrics-iso-a", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.86.0.1/24", dhcpRanges: [] } } });
    await client.networks.createNetwork({ network: { name: "metrics-iso-b", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.87.0.1/24", dhcpRanges: [] } } });
    await client.networks.stopNetwork({ name: "metrics-iso-b" });

    const samples = await scrape();

    assert.equal(valueOf(samples, "netagent_networks", { type: "nat", state: "active" }), 1);
    assert.equal(valueOf(samples, "netagent_networks", { type: "isolated", state: "active" }), 1);
    assert.equal(valueOf(samples, "netagent_networks", { type: "isolated", state: "inactive" }), 1);
    assert.equal(valueOf(samples, "netagent_networks", { type: "very-isolated", state: "active" }), undefined);
  });

  it("includes process metrics", async () => {
    const resident = valueOf(await scrape(), "process_resident_memory_bytes");
    assert.ok(resident !== undefined, "no process_resident_memory_bytes");
    assert.ok(resident > 0);
  });

  it("answers 404 beside /metrics", async () => {
    const response = await fetch(metricsUrl.replace("/metrics", "/"), { signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 404);
  });

  it("reports SERVING over grpc.health.v1", async () => {
    const channel = createChannel(agent.address);
    try {
      const health = createClient(HealthDefinition, channel);
      const response = await health.check({ service: "" }, { signal: AbortSignal.timeout(10_000) });
      assert.equal(response.status, HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      channel.close();
    }
  });
});
