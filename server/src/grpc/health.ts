import { once } from "node:events";

import { ServerError, ServiceImplementation, Status } from "nice-grpc";
import { HealthDefinition, HealthServiceImpl, HealthState } from "nice-grpc-server-health";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "nice-grpc-server-health/lib/proto/grpc/health/v1/health";

import type { LibvirtSession } from "../libvirt/session";

/**
 * grpc.health.v1 for the agent: SERVING while the libvirt session is ready,
 * NOT_SERVING while libvirtd is unreachable and once shutdown has begun. The
 * status is the same for the whole server ("") and for each service added.
 */
export class AgentHealth {
  private readonly state = HealthState();
  private readonly services = new Set<string>([""]);
  private readonly shutdown = new AbortController();

  constructor(private readonly session: LibvirtSession) {
    this.update();
    session.on("ready", () => this.update());
    session.on("unavailable", () => this.update());
  }

  /** Reports health for a service too, by its full name, for example "netagent.v1.NetworkService". */
  addService(fullName: string): void {
    this.services.add(fullName);
    this.update();
  }

  /** True while every service reports SERVING. */
  get serving(): boolean {
    return this.state.getStatus("") === "healthy";
  }

  /** Turns every status to NOT_SERVING for good, and ends Watch streams with UNAVAILABLE. */
  beginShutdown(): void {
    this.shutdown.abort();
    this.update();
  }

  /** The implementation to add with server.add(HealthDefinition, ...). */
  implementation(): ServiceImplementation<HealthDefinition> {
    const { check } = HealthServiceImpl(this.state);
    const state = this.state;
    const shutdown = this.shutdown.signal;

    return {
      check,

      // The package's own Watch waits until the client leaves, which would
      // hold up a graceful shutdown; this one ends when shutdown begins.
      async *watch(request, context) {
        const signal = AbortSignal.any([context.signal, shutdown]);
        let last: ServingStatus | undefined;
        for (;;) {
          const status = servingStatus(state.getStatus(request.service));
          if (status !== last) {
            yield { status };
            last = status;
          }
          if (shutdown.aborted) {
            throw new ServerError(Status.UNAVAILABLE, "the agent is shutting down");
          }
          try {
            await once(state, "change", { signal });
          } catch (error) {
            if (!shutdown.aborted) {
              return; // The client cancelled.
            }
          }
        }
      },
    };
  }

  private update(): void {
    const status = this.session.ready && !this.shutdown.signal.aborted ? "healthy" : "unhealthy";
    for (const service of this.services) {
      if (this.state.getStatus(service) !== status) {
        this.state.setStatus(status, service);
      }
    }
  }
}

function servingStatus(status: "healthy" | "unhealthy" | "unknown"): ServingStatus {
  switch (status) {
    case "healthy":
      return ServingStatus.SERVING;
    case "unhealthy":
      return ServingStatus.NOT_SERVING;
    default:
      return ServingStatus.SERVICE_UNKNOWN;
  }
}
