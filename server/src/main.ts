#!/usr/bin/env node
import pino from "pino";

import { ProtectedNetworks } from "./auth/protection";
import { AgentConfig, loadConfig, USAGE } from "./config";
import { createEventStream } from "./events";
import { AgentHealth } from "./grpc/health";
import { createAgentServer, listen } from "./grpc/server";
import { KernelHostProbe } from "./host/facts";
import { InterfaceManager } from "./interfaces/manager";
import { LibvirtSession } from "./libvirt/session";
import { isLoopback } from "./grpc/listen-address";
import { serveMetrics } from "./metrics/endpoint";
import { createMetricsRegistry } from "./metrics/registry";
import { NetworkManager } from "./networks/manager";
import { shutDownAgent } from "./shutdown";

async function main(): Promise<void> {
  let config: AgentConfig | "help";
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`netagent: ${(error as Error).message}\nRun 'netagent --help' for the options.\n`);
    process.exit(64);
  }
  if (config === "help") {
    process.stdout.write(USAGE);
    return;
  }

  const logger = pino({ level: config.logLevel, base: { service: "netagent" } });
  const auditDestination = config.auditLog === undefined ? undefined : pino.destination({ dest: config.auditLog, append: true, mkdir: true, sync: true });
  const auditLogger = auditDestination === undefined ? logger.child({ log: "audit" }) : pino({ base: { service: "netagent", log: "audit" } }, auditDestination);

  const session = new LibvirtSession({
    socketPath: config.libvirtSocket,
    uri: config.libvirtUri,
    logger: logger.child({ component: "libvirt" }),
  });
  const manager = new NetworkManager(session, {
    logger: logger.child({ component: "networks" }),
    hostProbe: new KernelHostProbe(),
    subnetPool: config.subnetPool,
    resyncPeriodMs: config.networkResyncPeriodMs,
  });
  const interfaces = new InterfaceManager(session, logger.child({ component: "interfaces" }));
  const events = createEventStream({ session, sync: manager.sync, logger: logger.child({ component: "events" }) });
  const health = new AgentHealth(session);
  const server = createAgentServer({
    manager,
    interfaces,
    logger,
    identities: config.identities,
    protectedNetworks: new ProtectedNetworks(config.protectedNetworks),
    auditLogger,
    health,
    events,
    session,
  });

  // The agent serves while libvirtd is unreachable: calls fail with
  // UNAVAILABLE, and the session logs its failures and keeps reconnecting.
  session.on("ready", () => logger.info({ libvirtSocket: config.libvirtSocket, libvirtUri: config.libvirtUri }, "connected to libvirtd"));
  session.start();

  const listening = config.listen.kind === "unix" ? `unix://${config.listen.path}` : `${config.listen.host}:${config.listen.port}`;
  const port = await listen(server, config.listen, { socketMode: config.socketMode, socketGroup: config.socketGroup, tls: config.tls }).catch((error: unknown) =>
    exitWithError(`cannot serve gRPC on ${listening}: ${(error as Error).message}`),
  );
  const where = config.listen.kind === "unix" ? listening : `${config.listen.host}:${port}`;
  const security = config.listen.kind === "unix" ? "unix-socket" : config.tls ? "mutual-tls" : "insecure-loopback";
  logger.info({ listen: where, port, security, configFile: config.configFile, pid: process.pid }, "serving");

  const metricsListen = config.metricsListen;
  const metrics = metricsListen === undefined
    ? undefined
    : await serveMetrics(createMetricsRegistry({ manager, libvirtConnected: () => session.connected, logger }), metricsListen, logger).catch((error: unknown) =>
        exitWithError(`cannot serve metrics on ${metricsListen.host}:${metricsListen.port}: ${(error as Error).message}`),
      );
  if (metrics !== undefined) {
    logger.info({ metricsListen: `${config.metricsListen!.host}:${metrics.port}`, metricsPort: metrics.port }, "serving metrics at /metrics");
    if (!isLoopback(config.metricsListen!.host)) {
      logger.warn({ metricsListen: config.metricsListen!.host }, "metrics are plain HTTP without authentication on a non-loopback address; restrict access with a firewall or serve them on 127.0.0.1");
    }
  }

  // logrotate moves the audit file away and sends SIGHUP, so that new records go to a new file.
  process.on("SIGHUP", () => {
    auditDestination?.reopen();
    logger.info({ auditLog: config.auditLog }, "SIGHUP: reopened the audit log");
  });

  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    metrics?.server.close();
    await shutDownAgent({ server, session, logger, events, health });
    logger.info("stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}

/** Reports a start-up failure that the operator can fix, without a stack trace. */
function exitWithError(message: string): never {
  process.stderr.write(`netagent: ${message}\n`);
  process.exit(1);
}

main().catch((error: unknown) => {
  process.stderr.write(`netagent: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
