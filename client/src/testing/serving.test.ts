import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { NetworkServiceDefinition } from "@netagent/proto";
import { createServer, Server, ServerError, Status } from "nice-grpc";
import { HealthDefinition, HealthServiceImpl, HealthState } from "nice-grpc-server-health";

import { waitForAgentServing } from "./serving";

const unimplemented = async (): Promise<never> => {
  throw new ServerError(Status.UNIMPLEMENTED, "not part of this test server");
};

/** NetworkService with only ListNetworks, which succeeds with no networks. */
const networkService = {
  createNetwork: unimplemented,
  getNetwork: unimplemented,
  listNetworks: async () => ({ networks: [], nextPageToken: "" }),
  deleteNetwork: unimplemented,
  startNetwork: unimplemented,
  stopNetwork: unimplemented,
  updateNetwork: unimplemented,
  listDhcpLeases: unimplemented,
};

describe("waitForAgentServing", () => {
  let dir: string;
  let address: string;
  let server: Server | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "netagent-serving-"));
    address = `unix://${join(dir, "agent.sock")}`;
  });

  afterEach(async () => {
    server?.forceShutdown();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it("waits for health SERVING", async () => {
    const health = HealthState();
    health.setStatus("unhealthy");
    server = createServer();
    server.add(HealthDefinition, HealthServiceImpl(health));
    server.add(NetworkServiceDefinition, networkService);
    await server.listen(address);
    const started = Date.now();
    setTimeout(() => health.setStatus("healthy"), 300);

    await waitForAgentServing(address, { timeoutMs: 5_000, intervalMs: 50 });

    assert.ok(Date.now() - started >= 250, `resolved after ${Date.now() - started} ms, before the status was SERVING`);
  });

  it("uses ListNetworks without a health service", async () => {
    server = createServer();
    server.add(NetworkServiceDefinition, networkService);
    await server.listen(address);

    await waitForAgentServing(address, { timeoutMs: 5_000, intervalMs: 50 });
  });

  it("retries until the socket exists", async () => {
    server = createServer();
    server.add(NetworkServiceDefinition, networkService);
    const listening = new Promise((resolve) => setTimeout(resolve, 300)).then(() => server!.listen(address));

    await waitForAgentServing(address, { timeoutMs: 5_000, intervalMs: 50 });
    await listening;
  });

  it("rejects with the last status on timeout", async () => {
    const health = HealthState();
    health.setStatus("unhealthy");
    server = createServer();
    server.add(HealthDefinition, HealthServiceImpl(health));
    await server.listen(address);

    await assert.rejects(waitForAgentServing(address, { timeoutMs: 500, intervalMs: 50 }), /did not serve within 500 ms; last probe: health status NOT_SERVING/);
  });

  it("rejects when ListNetworks keeps failing", async () => {
    server = createServer();
    server.add(NetworkServiceDefinition, {
      ...networkService,
      listNetworks: async () => {
        throw new ServerError(Status.UNAVAILABLE, "libvirtd is not reachable");
      },
    });
    await server.listen(address);

    await assert.rejects(
      waitForAgentServing(address, { timeoutMs: 500, intervalMs: 50 }),
      /no health service, and ListNetworks failed: UNAVAILABLE: libvirtd is not reachable/,
    );
  });
});
