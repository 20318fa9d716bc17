#!/usr/bin/env node
import pino from "pino";

import { AgentConfig, loadConfig, USAGE } from "./config";
import { createAgentServer, listen } from "./grpc/server";
import { KernelHostProbe } from "./host/facts";
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
  const hostProbe = new KernelHostProbe();
  const manager = new NetworkManager(session, { hostProbe, subnetPool: config.subnetPool });
  const server = createAgentServer({ manager, logger, host: { session, hostProbe, subnetPool: config.subnetPool } });

  // Connecting early reports a wrong socket or URI at start-up; the agent
  // still serves, and calls fail with UNAVAILABLE until libvirtd answers.
  try {
    await session.client();
    logger.info({ libvirtSocket: config.libvirtSocket, libvirtUri: config.libvirtUri }, "connected to libvirtd");
  } catch (error) {
    logger.warn({ libvirtSocket: config.libvirtSocket, err: error }, "libvirtd not reachable yet; calls fail with UNAVAILABLE until it is");
  }

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
