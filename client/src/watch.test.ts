import assert from "node:assert/strict";

import {
  EventServiceDefinition,
  EventServiceImplementation,
  NetworkEventType,
  ResyncReason,
  WatchEventsRequest,
  WatchEventsResponse,
} from "@netagent/proto";
import { createServer, Server, ServerError, Status } from "nice-grpc";

import { createNetAgentClient, NetAgentClient } from "./client";
import { NetAgentError } from "./errors";

function marker(reason: ResyncReason): WatchEventsResponse {
  return { observeTime: new Date(), event: { $case: "resync", value: { reason, message: "" } } };
}

function started(name: string): WatchEventsResponse {
  return {
    observeTime: new Date(),
    event: { $case: "network", value: { type: NetworkEventType.NETWORK_EVENT_TYPE_STARTED, name, uuid: "", network: undefined, source: 1 } },
  };
}

function label(response: WatchEventsResponse): string {
  const event = response.event;
  if (event?.$case === "resync") {
    return `resync ${ResyncReason[event.value.reason]}`;
  }
  if (event?.$case === "network") {
    return `network ${event.value.name}`;
  }
  return "other";
}

/** One scripted stream: the messages to send, then how it ends. */
interface Script {
  messages: WatchEventsResponse[];
  end: ServerError | "hang";
}

describe("watchEvents", () => {
  let server: Server;
  let agent: NetAgentClient;
  let scripts: Script[];
  let requests: WatchEventsRequest[];

  beforeEach(async () => {
    scripts = [];
    requests = [];
    const implementation: EventServiceImplementation = {
      async *watchEvents(request, context) {
        requests.push(request);
        const script = scripts.shift() ?? { messages: [], end: new ServerError(Status.UNAVAILABLE, "no more scripts") };
        for (const message of script.messages) {
          yield message;
        }
        if (script.end === "hang") {
          await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
          return;
        }
        throw script.end;
      },
    };
    server = createServer();
    server.add(EventServiceDefinition, implementation);
    const port = await server.listen("127.0.0.1:0");
    agent = createNetAgentClient({ address: `127.0.0.1:${port}` });
  });

  afterEach(async () => {
    agent.close();
    server.forceShutdown();
  });

  async function collect(count: number, options: Parameters<NetAgentClient["watchEvents"]>[1] = {}, request = {}): Promise<string[]> {
    const labels: string[] = [];
    const stop = new AbortController();
    for await (const response of agent.watchEvents(request, { initialBackoffMs: 5, signal: stop.signal, ...options })) {
      labels.push(label(response));
      if (labels.length === count) {
        stop.abort();
      }
    }
    return labels;
  }

  it("reopens after UNAVAILABLE and marks the gap", async () => {
    scripts = [
      { messages: [marker(ResyncReason.RESYNC_REASON_WATCH_STARTED), started("a")], end: new ServerError(Status.UNAVAILABLE, "the agent is shutting down") },
      { messages: [], end: new ServerError(Status.UNAVAILABLE, "still down") },
      { messages: [marker(ResyncReason.RESYNC_REASON_WATCH_STARTED), started("b")], end: "hang" },
    ];
    const attempts: number[] = [];

    const labels = await collect(4, { onReconnecting: ({ attempt }) => attempts.push(attempt) });

    assert.deepEqual(labels, [
      "resync RESYNC_REASON_WATCH_STARTED",
      "network a",
      "resync RESYNC_REASON_CLIENT_RECONNECTED",
      "network b",
    ]);
    assert.deepEqual(attempts, [1, 2]);
    assert.equal(requests.length, 3);
  });

  it("passes the filter on every attempt", async () => {
    scripts = [
      { messages: [], end: new ServerError(Status.UNAVAILABLE, "down") },
      { messages: [marker(ResyncReason.RESYNC_REASON_WATCH_STARTED)], end: "hang" },
    ];

    await collect(1, {}, { network: "lab" });

    assert.deepEqual(requests.map((r) => r.network), ["lab", "lab"]);
    assert.deepEqual(requests.map((r) => r.domain), ["", ""]);
  });

  it("throws errors other than UNAVAILABLE", async () => {
    scripts = [{ messages: [], end: new ServerError(Status.INVALID_ARGUMENT, "network: invalid value") }];

    const error = await collect(1).then(
      () => assert.fail("the watch succeeded"),
      (rejection: unknown) => rejection,
    );

    assert.ok(error instanceof NetAgentError, `expected NetAgentError, got ${String(error)}`);
    assert.equal(error.code, Status.INVALID_ARGUMENT);
    assert.equal(requests.length, 1);
  });

  it("gives up after maxAttempts", async () => {
    scripts = [1, 2, 3].map(() => ({ messages: [], end: new ServerError(Status.UNAVAILABLE, "down") }));

    const error = await collect(1, { maxAttempts: 2 }).then(
      () => assert.fail("the watch succeeded"),
      (rejection: unknown) => rejection,
    );

    assert.ok(error instanceof NetAgentError);
    assert.equal(error.code, Status.UNAVAILABLE);
    assert.equal(requests.length, 3);
  });

  it("returns when the signal aborts", async () => {
    scripts = [{ messages: [marker(ResyncReason.RESYNC_REASON_WATCH_STARTED)], end: "hang" }];

    const labels = await collect(1);

    assert.deepEqual(labels, ["resync RESYNC_REASON_WATCH_STARTED"]);
  });
});
