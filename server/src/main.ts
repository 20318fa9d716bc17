#!/usr/bin/env node
import pino from "pino";

import { AgentConfig, loadConfig, USAGE } from "./config";
import { createEventStream } from "./events";
import { AgentHealth } from "./grpc/health";
import { createAgentServer, listen } from "./grpc/server";
import { LibvirtSession } from "./libvirt/session";
import { NetworkManager } from "./networks/manager";
import { shutDownAgent } from "./shutdown";

async function main(): Promise<void> {
  let config: AgentConfig | "help";
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`netagent: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(64);
  }
  if (config === "help") {
    process.stdout.write(USAGE);
    return;
  }

  const logger = pino({ level: config.logLevel, base: { service: "netagent" } });
  const session = new LibvirtSession({
    socketPath: config.libvirtSocket,
    uri: config.libvirtUri,
    logger: logger.child({ component: "libvirt" }),
  });
  const manager = new NetworkManager(session, { logger: logger.child({ component: "networks" }) });
  const events = createEventStream({ session, sync: manager.sync, logger: logger.child({ component: "events" }) });
  const health = new AgentHealth(session);
  const server = createAgentServer({ manager, logger, events, session, health });

  // The agent serves while libvirtd is unreachable: calls fail with
  // UNAVAILABLE, and the session logs its failures and keeps reconnecting.
  session.on("ready", () => logger.info({ libvirtSocket: config.libvirtSocket, libvirtUri: config.libvirtUri }, "connected to libvirtd"));
  session.start();

  const port = await listen(server, config.listen);
  const where = config.listen.kind === "unix" ? `unix://${config.listen.path}` : `${config.listen.host}:${port}`;
  logger.info({ listen: where, pid: process.pid }, "serving");

  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await shutDownAgent({ server, session, logger, events, health });
    logger.info("stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  process.stderr.write(`netagent: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
