import type { Server } from "nice-grpc";
import type { Logger } from "pino";

import { UnavailableError } from "./errors";
import type { EventHub } from "./events";
import type { AgentHealth } from "./grpc/health";
import type { LibvirtSession } from "./libvirt/session";

/** Default time in ms that in-flight calls get to finish once shutdown begins. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/**
 * Shuts the agent down gracefully. Health turns NOT_SERVING and watch
 * streams end with UNAVAILABLE. The server stops accepting calls and waits
 * up to `graceMs` for calls in flight, then cancels the rest. Last, the
 * libvirt connection is closed. Resolves once everything has stopped.
 */
export async function shutDownAgent(options: {
  server: Server;
  session: LibvirtSession;
  logger: Logger;
  events?: EventHub;
  health?: AgentHealth;
  graceMs?: number;
}): Promise<void> {
  const { server, session, logger } = options;
  const graceMs = options.graceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;

  options.health?.beginShutdown();
  const watchers = options.events?.size ?? 0;
  options.events?.close(new UnavailableError("the agent is shutting down; watch again once it is back, or watch another agent"));
  logger.info({ graceMs, watchers }, "stopped accepting calls; waiting for calls in flight");

  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), graceMs)));
  const result = await Promise.race([server.shutdown().then(() => "done" as const), graceOver]);
  clearTimeout(timer);
  if (result === "timeout") {
    logger.warn({ graceMs }, "calls still in flight after the grace period; cancelling them");
    server.forceShutdown();
  }

  await session.close().catch((error: unknown) => logger.warn({ err: error }, "closing the libvirt connection failed"));
}
