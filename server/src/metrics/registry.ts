import { registry as grpcRegistry } from "nice-grpc-prometheus";
import type { Logger } from "pino";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";

import type { NetworkManager } from "../networks/manager";

/** Upper bound for reading the networks during one scrape, in milliseconds. */
const NETWORK_SCRAPE_TIMEOUT_MS = 5_000;

/**
 * Builds the registry that /metrics serves: gRPC call counts and latency by
 * method and code (grpc_server_*, from nice-grpc-prometheus), the libvirt
 * connection state, networks by type and state, and Node's process metrics.
 */
export function createMetricsRegistry(options: { manager: NetworkManager; libvirtConnected: () => boolean; logger: Logger }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: "netagent_libvirt_connected",
    help: "1 while the agent holds a connection to libvirtd, 0 otherwise.",
    registers: [registry],
    collect() {
      this.set(options.libvirtConnected() ? 1 : 0);
    },
  });

  new Gauge({
    name: "netagent_networks",
    help: "libvirt networks by type and state (active or inactive), read at scrape time; no series while libvirtd is unreachable.",
    labelNames: ["type", "state"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const networks = await withTimeout(options.manager.list(), NETWORK_SCRAPE_TIMEOUT_MS);
        for (const network of networks) {
          this.inc({ type: network.type, state: network.active ? "active" : "inactive" });
        }
      } catch (error) {
        options.logger.debug({ err: error }, "metrics: reading the networks failed");
      }
    },
  });

  return Registry.merge([registry, grpcRegistry]);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
