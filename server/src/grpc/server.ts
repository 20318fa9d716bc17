import { chmod, chown, mkdir, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";

import { ServerCredentials } from "@grpc/grpc-js";
import {
  EventServiceDefinition,
  HostServiceDefinition,
  InterfaceServiceDefinition,
  NetworkServiceDefinition,
  readDescriptorSet,
} from "@netagent/proto";
import { createServer, Server } from "nice-grpc";
import { errorDetailsServerMiddleware } from "nice-grpc-error-details";
import { prometheusServerMiddleware } from "nice-grpc-prometheus";
import { HealthDefinition, HealthServiceImpl } from "nice-grpc-server-health";
import { ServerReflection, ServerReflectionService } from "nice-grpc-server-reflection";
import type { Logger } from "pino";

import { ProtectedNetworks } from "../auth/protection";
import { DEFAULT_IDENTITY_RULES, IdentityRule } from "../auth/roles";
import type { EventHub } from "../events";
import type { InterfaceManager } from "../interfaces/manager";
import type { LibvirtSession } from "../libvirt/session";
import type { NetworkManager } from "../networks/manager";
import { auditMiddleware } from "./audit";
import { authorizationMiddleware } from "./authorization";
import { callLogMiddleware } from "./call-log";
import { callerMiddleware } from "./caller";
import { decodeGuardMiddleware, withDecodeGuard } from "./decode-guard";
import { withEncodeOnce } from "./encode-once";
import { eventService } from "./event-service";
import type { AgentHealth } from "./health";
import { hostService } from "./host-service";
import { interfaceService } from "./interface-service";
import { formatForGrpc, ListenAddress } from "./listen-address";
import { networkService } from "./network-service";
import { peerIdentityInterceptor } from "./peer-identity";
import { netagentServiceDefinitions } from "./services";
import { statusMiddleware } from "./status";

/** Dependencies and settings of createAgentServer. */
export interface AgentServerOptions {
  manager: NetworkManager;
  interfaces: InterfaceManager;
  logger: Logger;
  /** Rules that give callers their roles. Default: root is admin. */
  identities?: readonly IdentityRule[];
  /** Networks that Stop, Update and Delete refuse. Default: none. */
  protectedNetworks?: ProtectedNetworks;
  /** Receives one record per mutating call. Default: `logger`. */
  auditLogger?: Logger;
  /** What grpc.health.v1 reports. Default: SERVING, whatever libvirtd's state. */
  health?: AgentHealth;
  /** The event stream that EventService serves; EventService is left out without it and `session`. */
  events?: EventHub;
  /** The libvirt session, which EventService checks before it opens a stream. */
  session?: LibvirtSession;
}

/** Settings of the middleware that every call passes through; a subset of AgentServerOptions. */
export type AgentMiddlewareOptions = Pick<AgentServerOptions, "logger" | "identities" | "protectedNetworks" | "auditLogger">;

/**
 * Creates a server with the agent's interceptor and middleware and no
 * services, so that benchmarks can measure the same stack around a bare
 * handler.
 */
export function createAgentServerBase(options: AgentMiddlewareOptions) {
  // The interceptor must be the first, so that it gets grpc-js's own call
  // object (peer-identity.ts). The middleware added first runs first. The
  // caller's identity comes before everything that logs or checks it.
  // Metrics, the call log and the audit record the final status. Status
  // mapping sits inside errorDetailsServerMiddleware, which puts the
  // BadRequest in the trailers. Authorization and the decode guard are
  // innermost, so that their errors go through the status mapping too.
  return createServer({ interceptors: [peerIdentityInterceptor()] })
    .use(callerMiddleware(options.identities ?? DEFAULT_IDENTITY_RULES))
    .use(prometheusServerMiddleware())
    .use(callLogMiddleware(options.logger))
    .use(auditMiddleware(options.auditLogger ?? options.logger.child({ log: "audit" })))
    .use(errorDetailsServerMiddleware)
    .use(statusMiddleware)
    .use(authorizationMiddleware(options.protectedNetworks ?? new ProtectedNetworks([])))
    .use(decodeGuardMiddleware);
}

/** Builds the agent's gRPC server with its services and middleware; it does not listen yet. */
export function createAgentServer(options: AgentServerOptions): Server {
  const server = createAgentServerBase(options);

  server.add(withDecodeGuard(NetworkServiceDefinition), networkService(options.manager));
  server.add(withDecodeGuard(HostServiceDefinition), hostService(options.manager));
  server.add(withDecodeGuard(InterfaceServiceDefinition), interfaceService(options.interfaces));
  if (options.events !== undefined && options.session !== undefined) {
    server.add(withEncodeOnce(withDecodeGuard(EventServiceDefinition)), eventService(options.events, options.session));
  }
  if (options.health === undefined) {
    server.add(withDecodeGuard(HealthDefinition), HealthServiceImpl());
  } else {
    options.health.addService(NetworkServiceDefinition.fullName);
    options.health.addService(InterfaceServiceDefinition.fullName);
    if (options.events !== undefined) {
      options.health.addService(EventServiceDefinition.fullName);
    }
    server.add(withDecodeGuard(HealthDefinition), options.health.implementation());
  }
  server.add(
    ServerReflectionService,
    ServerReflection(readDescriptorSet(), netagentServiceDefinitions().map((definition) => definition.fullName)),
  );
  return server;
}

/** Security settings of the listener, as in AgentConfig. */
export interface ListenOptions {
  /** Permission bits of a UNIX socket. Default: 0o660. */
  socketMode?: number;
  /** Group that owns a UNIX socket. Default: the agent's group. */
  socketGroup?: number;
  /** Mutual TLS files for TCP; without them TCP is plaintext (the configuration allows that on loopback only). */
  tls?: { certFile: string; keyFile: string; clientCaFile: string };
}

/**
 * Starts listening. A UNIX socket left behind by an earlier agent is removed
 * first, since binding fails on an existing path. A new UNIX socket is
 * created private to the agent's user and then gets its group and mode.
 * @returns the bound TCP port, or 0 for a UNIX socket.
 */
export async function listen(server: Server, address: ListenAddress, options: ListenOptions = {}): Promise<number> {
  if (address.kind === "unix") {
    return listenOnUnixSocket(server, address.path, options);
  }
  const credentials = options.tls === undefined ? ServerCredentials.createInsecure() : await tlsCredentials(options.tls);
  return server.listen(formatForGrpc(address), credentials);
}

async function listenOnUnixSocket(server: Server, path: string, options: ListenOptions): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  await rm(path, { force: true });

  // grpc-js creates the socket with the process umask; a umask that denies
  // group and others everything keeps the socket closed until chmod below.
  const previousUmask = process.umask(0o177);
  try {
    await server.listen(formatForGrpc({ kind: "unix", path }));
  } finally {
    process.umask(previousUmask);
  }
  await chown(path, process.getuid?.() ?? 0, options.socketGroup ?? process.getgid?.() ?? 0);
  await chmod(path, options.socketMode ?? 0o660);
  return 0;
}

async function tlsCredentials(tls: NonNullable<ListenOptions["tls"]>): Promise<ServerCredentials> {
  const read = async (path: string, what: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new Error(`cannot read the ${what} ${path}: ${(error as Error).message}`);
    }
  };
  const [cert, key, clientCa] = await Promise.all([
    read(tls.certFile, "TLS certificate (--tls-cert)"),
    read(tls.keyFile, "TLS key (--tls-key)"),
    read(tls.clientCaFile, "client CA (--tls-client-ca)"),
  ]);
  // The last argument makes grpc-js require and verify a client certificate.
  return ServerCredentials.createSsl(clientCa, [{ cert_chain: cert, private_key: key }], true);
}
