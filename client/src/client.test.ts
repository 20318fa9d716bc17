import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { NetworkServiceDefinition, NetworkServiceImplementation } from "@netagent/proto";
import { createServer, Server, ServerError, Status } from "nice-grpc";
import { BadRequest, errorDetailsServerMiddleware, RichServerError } from "nice-grpc-error-details";

import { createNetAgentClient, NetAgentClient, NetAgentClientOptions } from "./client";
import { NetAgentError } from "./errors";

/** A stand-in agent whose handlers each test replaces; it counts calls per method. */
class FakeAgent {
  calls = new Map<string, number>();
  handlers: Partial<NetworkServiceImplementation> = {};

  implementation(): NetworkServiceImplementation {
    const method = <K extends keyof NetworkServiceImplementation>(name: K) =>
      (async (request: never, context: never) => {
        this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
        const handler = this.handlers[name] as ((request: never, context: never) => Promise<unknown>) | undefined;
        if (handler === undefined) {
          throw new ServerError(Status.UNIMPLEMENTED, `${name} is not scripted`);
        }
        return handler(request, context);
      }) as NetworkServiceImplementation[K];
    return {
      createNetwork: method("createNetwork"),
      getNetwork: method("getNetwork"),
      listNetworks: method("listNetworks"),
      deleteNetwork: method("deleteNetwork"),
      startNetwork: method("startNetwork"),
      stopNetwork: method("stopNetwork"),
      updateNetwork: method("updateNetwork"),
      listDhcpLeases: method("listDhcpLeases"),
    };
  }
}

describe("createNetAgentClient", () => {
  let dir: string;
  let server: Server;
  let agent: FakeAgent;
  let client: NetAgentClient | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "netagent-sdk-"));
    agent = new FakeAgent();
    server = createServer().use(errorDetailsServerMiddleware);
    server.add(NetworkServiceDefinition, agent.implementation());
    await server.listen(`unix://${join(dir, "agent.sock")}`);
  });

  afterEach(async () => {
    client?.close();
    client = undefined;
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  function connect(options: NetAgentClientOptions = {}): NetAgentClient {
    client = createNetAgentClient({ address: `unix://${join(dir, "agent.sock")}`, retry: { baseDelayMs: 10 }, ...options });
    return client;
  }

  /** Awaits a call that must fail and returns its NetAgentError. */
  async function failure(call: Promise<unknown>): Promise<NetAgentError> {
    try {
      await call;
    } catch (error) {
      assert.ok(error instanceof NetAgentError, `expected NetAgentError, got ${String(error)}`);
      return error;
    }
    assert.fail("expected the call to fail");
  }

  describe("retries", () => {
    it("retries a Get after UNAVAILABLE", async () => {
      let attempts = 0;
      agent.handlers.getNetwork = async () => {
        attempts++;
        if (attempts < 3) {
          throw new ServerError(Status.UNAVAILABLE, "libvirtd is unavailable");
        }
        return { network: { name: "lab" } as never };
      };
      const retries: number[] = [];

      const response = await connect({ retry: { baseDelayMs: 10, onRetry: (_error, retry) => retries.push(retry) } }).networks.getNetwork({ name: "lab" });

      assert.equal(response.network?.name, "lab");
      assert.equal(agent.calls.get("getNetwork"), 3);
      assert.deepEqual(retries, [1, 2]);
    });

    it("gives up after maxRetries", async () => {
      agent.handlers.listNetworks = async () => {
        throw new ServerError(Status.UNAVAILABLE, "down");
      };

      const error = await failure(connect({ retry: { maxRetries: 2, baseDelayMs: 5 } }).networks.listNetworks({}));

      assert.equal(error.code, Status.UNAVAILABLE);
      assert.equal(agent.calls.get("listNetworks"), 3);
    });

    it("never retries a Create", async () => {
      agent.handlers.createNetwork = async () => {
        throw new ServerError(Status.UNAVAILABLE, "down");
      };

      const error = await failure(connect().networks.createNetwork({ network: { name: "lab" } as never }));

      assert.equal(error.code, Status.UNAVAILABLE);
      assert.equal(agent.calls.get("createNetwork"), 1);
    });

    it("never retries a Delete", async () => {
      agent.handlers.deleteNetwork = async () => {
        throw new ServerError(Status.UNAVAILABLE, "down");
      };

      await failure(connect().networks.deleteNetwork({ name: "lab" }));

      assert.equal(agent.calls.get("deleteNetwork"), 1);
    });

    it("does not retry other codes", async () => {
      agent.handlers.getNetwork = async () => {
        throw new ServerError(Status.NOT_FOUND, "network 'lab' not found");
      };

      await failure(connect().networks.getNetwork({ name: "lab" }));

      assert.equal(agent.calls.get("getNetwork"), 1);
    });

    it("can be turned off", async () => {
      agent.handlers.getNetwork = async () => {
        throw new ServerError(Status.UNAVAILABLE, "down");
      };

      await failure(connect({ retry: false }).networks.getNetwork({ name: "lab" }));

      assert.equal(agent.calls.get("getNetwork"), 1);
    });
  });

  describe("deadlines", () => {
    it("applies the default deadline to every call", async () => {
      agent.handlers.createNetwork = (_request, context: { signal: AbortSignal }) => new Promise((_, reject) => context.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
      const started = Date.now();

      const error = await failure(connect({ defaultDeadlineMs: 200 }).networks.createNetwork({ network: { name: "lab" } as never }));

      assert.equal(error.code, Status.DEADLINE_EXCEEDED);
      assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
    });

    it("takes a per-call deadline over the default", async () => {
      agent.handlers.getNetwork = () => new Promise(() => undefined);

      const error = await failure(connect({ defaultDeadlineMs: 60_000, retry: false }).networks.getNetwork({ name: "lab" }, { deadline: 100 }));

      assert.equal(error.code, Status.DEADLINE_EXCEEDED);
    });

    it("bounds all retries together", async () => {
      agent.handlers.getNetwork = async () => {
        throw new ServerError(Status.UNAVAILABLE, "down");
      };
      const started = Date.now();

      const error = await failure(connect({ defaultDeadlineMs: 300, retry: { maxRetries: 100, baseDelayMs: 50 } }).networks.getNetwork({ name: "lab" }));

      assert.equal(error.code, Status.DEADLINE_EXCEEDED);
      assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
    });
  });

  describe("cancellation", () => {
    it("rejects with an AbortError when the signal aborts", async () => {
      let cancelled!: () => void;
      const serverSawCancel = new Promise<void>((resolve) => (cancelled = resolve));
      agent.handlers.createNetwork = (_request, context: { signal: AbortSignal }) =>
        new Promise((_, reject) =>
          context.signal.addEventListener("abort", () => {
            cancelled();
            reject(new DOMException("aborted", "AbortError"));
          }),
        );
      const controller = new AbortController();

      const call = connect().networks.createNetwork({ network: { name: "lab" } as never }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);

      await assert.rejects(call, { name: "AbortError" });
      await serverSawCancel;
    });
  });

  describe("errors", () => {
    it("carries the code, message, method and field violations", async () => {
      agent.handlers.createNetwork = async () => {
        const details = BadRequest.fromPartial({ fieldViolations: [{ field: "network.name", description: "invalid value" }] });
        throw new RichServerError(Status.INVALID_ARGUMENT, "network.name: invalid value", [details]);
      };

      const error = await failure(connect().networks.createNetwork({ network: { name: "" } as never }));

      assert.equal(error.code, Status.INVALID_ARGUMENT);
      assert.equal(error.codeName, "INVALID_ARGUMENT");
      assert.equal(error.details, "network.name: invalid value");
      assert.equal(error.method, "/netagent.v1.NetworkService/CreateNetwork");
      assert.deepEqual(error.violations, [{ field: "network.name", description: "invalid value" }]);
    });
  });
});
