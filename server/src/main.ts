#!/usr/bin/env node
import pino from "pino";

import { AgentConfig, loadConfig, USAGE } from "./config";
import { createAgentServer, listen } from "./grpc/server";
import { LibvirtSession } from "./libvirt/session";
import { NetworkManager } from "./networks/manager";

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
  const server = createAgentServer({ manager, logger });

  // The agent serves while libvirtd is unreachable: calls fail with
  // UNAVAILABLE, and the session keeps reconnecting in the background.
  session.on("ready", () => logger.info({ libvirtSocket: config.libvirtSocket, libvirtUri: config.libvirtUri }, "connected to libvirtd"));
  session.on("unavailable", (cause) =>
    logger.warn({ libvirtSocket: config.libvirtSocket, err: cause }, "libvirtd is unreachable; calls fail with UNAVAILABLE until the agent reconnects"),
  );
  session.start();

  const port = await listen(server, config.listen);
  const where = config.listen.kind === "unix" ? `unix://${config.listen.path}` : `${config.listen.host}:${port}`;
  logger.info({ listen: where, pid: process.pid }, "serving");

  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await server.shutdown();
    await session.close().catch(() => undefined);
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
