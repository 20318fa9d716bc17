import { once } from "node:events";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";

import type { Logger } from "pino";
import type { Registry } from "prom-client";

import type { TcpAddress } from "../grpc/listen-address";

/**
 * Serves the registry in Prometheus' text format at GET /metrics on its own
 * HTTP listener, apart from gRPC. Other paths get 404.
 * @returns the server and the bound port.
 */
export async function serveMetrics(registry: Registry, address: TcpAddress, logger: Logger): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (request.method !== "GET" || path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: metrics are at GET /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: unknown) => {
        logger.error({ err: error }, "metrics: collecting failed");
        response.writeHead(500, { "content-type": "text/plain" }).end("collecting metrics failed; the agent's log has the cause\n");
      },
    );
  });
  server.listen(address.port, address.host);
  await Promise.race([once(server, "listening"), once(server, "error").then(([error]) => Promise.reject(error))]);
  return { server, port: (server.address() as AddressInfo).port };
}
