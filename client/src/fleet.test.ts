import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { CreateNetworkRequest, NetworkServiceDefinition, NetworkType } from "@netagent/proto";
import { createServer, Server, ServerError, ServiceImplementation, Status } from "nice-grpc";

import { createNetAgentFleet, NetAgentFleet, runOnFleet } from "./fleet";

/** How a test agent handles CreateNetwork. */
interface Behaviour {
  /** Delay before the response, in milliseconds. */
  delayMs?: number;
  /** Rejects with this status instead of creating. */
  fail?: { code: Status; message: string };
}

/** A gRPC server that implements only CreateNetwork, on a UNIX socket, standing in for one agent. */
class TestAgent {
  private server: Server | undefined;
  calls = 0;

  constructor(
    readonly name: string,
    readonly address: string,
    private readonly behaviour: Behaviour,
    private readonly inFlight: { now: number; max: number },
  ) {}

  async start(): Promise<void> {
    const unimplemented = async (): Promise<never> => {
      throw new ServerError(Status.UNIMPLEMENTED, "not part of this test agent");
    };
    const implementation: ServiceImplementation<typeof NetworkServiceDefinition> = {
      createNetwork: (request) => this.createNetwork(request),
      getNetwork: unimplemented,
      listNetworks: unimplemented,
      deleteNetwork: unimplemented,
      startNetwork: unimplemented,
      stopNetwork: unimplemented,
      updateNetwork: unimplemented,
      listDhcpLeases: unimplemented,
    };
    this.server = createServer();
    this.server.add(NetworkServiceDefinition, implementation);
    await this.server.listen(this.address);
  }

  async stop(): Promise<void> {
    await this.server?.shutdown();
  }

  private async createNetwork(request: CreateNetworkRequest) {
    this.calls += 1;
    this.inFlight.now += 1;
    this.inFlight.max = Math.max(this.inFlight.max, this.inFlight.now);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.behaviour.delayMs ?? 0));
      if (this.behaviour.fail) {
        throw new ServerError(this.behaviour.fail.code, this.behaviour.fail.message);
      }
      return { network: { ...request.network!, bridge: `br-${this.name}` } };
    } finally {
      this.inFlight.now -= 1;
    }
  }
}

const network = { name: "tenant-a", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.90.0.1/24", dhcpRanges: [] } };

describe("fleet", () => {
  let dir: string;
  let agents: TestAgent[];
  let fleet: NetAgentFleet | undefined;
  let inFlight: { now: number; max: number };

  async function startAgents(behaviours: Behaviour[]): Promise<TestAgent[]> {
    agents = behaviours.map((behaviour, index) => new TestAgent(`host-${index}`, `unix://${join(dir, `host-${index}.sock`)}`, behaviour, inFlight));
    await Promise.all(agents.map((agent) => agent.start()));
    return agents;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "netagent-fleet-"));
    agents = [];
    inFlight = { now: 0, max: 0 };
  });

  afterEach(async () => {
    fleet?.close();
    fleet = undefined;
    await Promise.all(agents.map((agent) => agent.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  it("returns each host's value in order", async () => {
    await startAgents([{ delayMs: 30 }, {}, { delayMs: 10 }]);
    fleet = createNetAgentFleet(agents.map(({ name, address }) => ({ name, address })));

    const results = await fleet.run((agent, { signal }) => agent.networks.createNetwork({ network }, { signal }));

    assert.deepEqual(
      results.map((result) => result.host),
      ["host-0", "host-1", "host-2"],
    );
    for (const [index, result] of results.entries()) {
      assert.equal(result.ok, true, `host-${index}: ${JSON.stringify(result)}`);
      assert.equal(result.ok && result.value.network?.bridge, `br-host-${index}`);
    }
  });

  it("reports each failure with its status", async () => {
    await startAgents([{}, { fail: { code: Status.ALREADY_EXISTS, message: "network tenant-a exists with another spec" } }]);
    const targets = [
      ...agents.map(({ name, address }) => ({ name, address })),
      { name: "host-down", address: `unix://${join(dir, "nobody-listens.sock")}` },
    ];
    fleet = createNetAgentFleet(targets, { defaultDeadlineMs: 5_000 });

    const [first, second, third] = await fleet.run((agent) => agent.networks.createNetwork({ network }));

    assert.equal(first.ok, true);
    assert.equal(second.ok, false);
    assert.equal(!second.ok && second.code, Status.ALREADY_EXISTS);
    assert.equal(!second.ok && second.message, "network tenant-a exists with another spec");
    assert.equal(third.host, "host-down");
    assert.equal(!third.ok && third.code, Status.UNAVAILABLE);
  });

  it("keeps calls in flight within concurrency", async () => {
    await startAgents(Array.from({ length: 6 }, () => ({ delayMs: 40 })));
    fleet = createNetAgentFleet(agents.map(({ name, address }) => ({ name, address })));

    const results = await fleet.run((agent) => agent.networks.createNetwork({ network }), { concurrency: 2 });

    assert.equal(results.filter((result) => result.ok).length, 6);
    assert.equal(inFlight.max, 2);
  });

  it("runs all hosts at once up to concurrency", async () => {
    await startAgents(Array.from({ length: 4 }, () => ({ delayMs: 40 })));
    fleet = createNetAgentFleet(agents.map(({ name, address }) => ({ name, address })), { concurrency: 10 });

    await fleet.run((agent) => agent.networks.createNetwork({ network }));

    assert.equal(inFlight.max, 4);
  });

  it("cancels the rest when aborted", async () => {
    await startAgents([{ delayMs: 2_000 }, { delayMs: 2_000 }, {}]);
    fleet = createNetAgentFleet(agents.map(({ name, address }) => ({ name, address })));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);

    const results = await fleet.run((agent, { signal }) => agent.networks.createNetwork({ network }, { signal }), {
      concurrency: 2,
      signal: controller.signal,
    });

    for (const result of results) {
      assert.equal(!result.ok && result.code, Status.CANCELLED, `${result.host}: ${JSON.stringify(result)}`);
    }
    assert.equal(agents[2].calls, 0);
  });

  it("reports a thrown non-gRPC error as UNKNOWN", async () => {
    await startAgents([{}]);
    fleet = createNetAgentFleet(agents.map(({ name, address }) => ({ name, address })));

    const [result] = await fleet.run(async () => {
      throw new TypeError("no network given");
    });

    assert.equal(!result.ok && result.code, Status.UNKNOWN);
    assert.equal(!result.ok && result.message, "no network given");
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.error instanceof TypeError);
  });

  it("resolves an empty fleet to no results", async () => {
    assert.deepEqual(await runOnFleet([], async () => 1), []);
  });

  it("rejects an invalid concurrency", async () => {
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(runOnFleet([], async () => 1, { concurrency }), RangeError, String(concurrency));
    }
  });

  it("rejects duplicate host names", () => {
    assert.throws(
      () =>
        createNetAgentFleet([
          { name: "kvm-01", address: "unix:///run/a.sock" },
          { name: "kvm-01", address: "unix:///run/b.sock" },
        ]),
      /duplicate host name "kvm-01"/,
    );
  });
});
