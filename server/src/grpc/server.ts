import { mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";

import { HostServiceDefinition, NetworkServiceDefinition } from "@netagent/proto";
import { createServer, Server } from "nice-grpc";
import { errorDetailsServerMiddleware } from "nice-grpc-error-details";
import type { Logger } from "pino";

import type { HostProbe } from "../host/facts";
import type { LibvirtSession } from "../libvirt/session";
import type { NetworkManager } from "../networks/manager";
import type { SubnetPool } from "../networks/subnet-pool";
import { callLogMiddleware } from "./call-log";
import { hostService } from "./host-service";
import { formatForGrpc, ListenAddress } from "./listen-address";
import { networkService } from "./network-service";
import { statusMiddleware } from "./status";

/** Builds the agent's gRPC server with its services and middleware; it does not listen yet. */
export function createAgentServer(options: {
  manager: NetworkManager;
  logger: Logger;
  /** What HostService reads; without it the server offers no HostService. */
  host?: { session: LibvirtSession; hostProbe: HostProbe; subnetPool: SubnetPool };
}): Server {
  // The middleware added first runs first. Status mapping is innermost so that
  // errorDetailsServerMiddleware sees the RichServerError it produces and puts
  // the BadRequest in the trailers; the call log is outermost and sees the
  // final status of every call.
  const server = createServer()
    .use(callLogMiddleware(options.logger))
    .use(errorDetailsServerMiddleware)
    .use(statusMiddleware);
  server.add(NetworkServiceDefinition, networkService(options.manager));
  if (options.host !== undefined) {
    server.add(HostServiceDefinition, hostService(options.host));
  }
  return server;
}

/**
 * Starts listening. A UNIX socket left behind by an earlier agent is removed
 * first, since binding fails on an existing path.
 * @returns the bound TCP port, or 0 for a UNIX socket.
 */
export async function listen(server: Server, address: ListenAddress): Promise<number> {
  if (address.kind === "unix") {
    await mkdir(dirname(address.path), { recursive: true });
    await rm(address.path, { force: true });
  }
  return server.listen(formatForGrpc(address));
}
