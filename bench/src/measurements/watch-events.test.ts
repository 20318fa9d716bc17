import { strict as assert } from "node:assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { GetNetworkRequest, GetNetworkResponse } from "@netagent/proto";
import { CallContext, createServer, Server } from "nice-grpc";

import { measureWatchEvents, NetworkChanger, openWatchers } from "./watch-events";

// A server-streaming service shaped like ts-proto's generic definitions,
// standing in for the agent's EventService: every event is a
// GetNetworkResponse naming the changed network.
const FakeEventServiceDefinition = {
  name: "FakeEventService",
  fullName: "bench.test.FakeEventService",
  methods: {
    watchEvents: {
      name: "WatchEvents",
      requestType: GetNetworkRequest,
      requestStream: false,
      responseType: GetNetworkResponse,
      responseStream: true,
      options: {},
    },
  },
} as const;

/** Starts the fake service; a define reaches the first `deliverTo` subscribers. */
async function startFakeAgent(socketPath: string, deliverTo = Infinity): Promise<{ server: Server; libvirt: NetworkChanger }> {
  const subscribers: Array<(name: string) => void> = [];
  const server = createServer();
  server.add(FakeEventServiceDefinition, {
    async *watchEvents(_request: GetNetworkRequest, context: CallContext) {
      const queue: string[] = [];
      let wake: () => void = () => undefined;
      subscribers.push((name) => {
        queue.push(name);
        wake();
      });
      while (!context.signal.aborted) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            context.signal.addEventListener("abort", () => resolve(), { once: true });
          });
          continue;
        }
        yield { network: { name: queue.shift()!, uuid: "", type: 0, bridge: "", active: false, persistent: true } };
      }
    },
  });
  await server.listen(`unix://${socketPath}`);

  const libvirt: NetworkChanger = {
    async networkDefineXml(xml: string) {
      const name = /<name>([^<]+)<\/name>/.exec(xml)![1];
      subscribers.slice(0, deliverTo).forEach((deliver) => deliver(name));
      return { name, uuid: Buffer.alloc(16) };
    },
    async networkUndefine() {},
  };
  return { server, libvirt };
}

describe("watch events", function () {
  // Each test opens gRPC streams over a UNIX socket, and the probe test waits out its 3 s timeout.
  this.timeout(15_000);
  let dir: string;
  let server: Server | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bench-watch-"));
  });

  afterEach(async () => {
    server?.forceShutdown();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it("times every watcher's delivery", async () => {
    const socketPath = join(dir, "agent.sock");
    const fake = await startFakeAgent(socketPath);
    server = fake.server;

    const watchers = await openWatchers(`unix://${socketPath}`, fake.libvirt, 3, { definition: FakeEventServiceDefinition });
    try {
      const result = await measureWatchEvents(fake.libvirt, watchers, 4);
      assert.equal(result.watchers, 3);
      assert.equal(result.changes, 4);
      assert.equal(result.latencyMs.count, 12);
      assert.ok(result.latencyMs.max < 5_000, `max latency ${result.latencyMs.max} ms`);
    } finally {
      watchers.close();
    }
  });

  it("rejects when a watcher misses the probe", async () => {
    const socketPath = join(dir, "agent.sock");
    const fake = await startFakeAgent(socketPath, 1);
    server = fake.server;

    await assert.rejects(
      openWatchers(`unix://${socketPath}`, fake.libvirt, 2, { definition: FakeEventServiceDefinition, probeTimeoutMs: 3_000 }),
      /only 1 of 2 watchers received an event of a probe network within 3 s/,
    );
  });
});
