import { NetworkServiceDefinition } from "@netagent/proto";
import { ChannelCredentials, ClientError, createChannel, createClient, Status } from "nice-grpc";
import { HealthDefinition } from "nice-grpc-server-health";

/** Options for waitForAgentServing. */
export interface WaitForServingOptions {
  /** How long to wait in total, in milliseconds. Default 60000. */
  timeoutMs?: number;
  /** Pause between two probes, in milliseconds. Default 200. */
  intervalMs?: number;
  /** Deadline of each probe call, in milliseconds. Default 5000. */
  probeDeadlineMs?: number;
  /** Stops the wait: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Names of grpc.health.v1's HealthCheckResponse.ServingStatus values. */
const SERVING_STATUS_NAMES = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];
const SERVING = 1;

/**
 * Waits until the agent at `address` serves calls. It probes grpc.health.v1's
 * Check for the whole server (service ""), and is done when the status is
 * SERVING. An agent without the health service (UNIMPLEMENTED) is done
 * instead when ListNetworks succeeds, which needs a working libvirtd too.
 * Every other outcome, such as UNAVAILABLE before the socket exists or
 * NOT_SERVING while libvirtd is unreachable, is retried.
 *
 * Rejects when `timeoutMs` passes, with the last probe's outcome, or with the
 * reason of `signal` when it aborts.
 */
export async function waitForAgentServing(address: string, options: WaitForServingOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const intervalMs = options.intervalMs ?? 200;
  const probeDeadlineMs = options.probeDeadlineMs ?? 5_000;
  const channel = createChannel(address, ChannelCredentials.createInsecure());
  const health = createClient(HealthDefinition, channel);
  const networks = createClient(NetworkServiceDefinition, channel);
  const deadline = Date.now() + timeoutMs;
  let lastOutcome = "no probe finished";

  const probe = async (): Promise<boolean> => {
    // A plain nice-grpc client has no deadline option; aborting the call after the probe's time does the same.
    const probeTimeout = AbortSignal.timeout(Math.min(probeDeadlineMs, Math.max(deadline - Date.now(), 1)));
    const callOptions = { signal: options.signal ? AbortSignal.any([probeTimeout, options.signal]) : probeTimeout };
    try {
      const { status } = await health.check({ service: "" }, callOptions);
      lastOutcome = `health status ${SERVING_STATUS_NAMES[status] ?? status}`;
      return status === SERVING;
    } catch (error) {
      if (!(error instanceof ClientError) || error.code !== Status.UNIMPLEMENTED) {
        lastOutcome = `health check failed: ${describe(error)}`;
        return false;
      }
    }
    try {
      await networks.listNetworks({ pageSize: 1 }, callOptions);
      return true;
    } catch (error) {
      lastOutcome = `no health service, and ListNetworks failed: ${describe(error)}`;
      return false;
    }
  };

  try {
    for (;;) {
      options.signal?.throwIfAborted();
      if (await probe()) {
        return;
      }
      options.signal?.throwIfAborted();
      if (Date.now() + intervalMs >= deadline) {
        throw new Error(`the agent at ${address} did not serve within ${timeoutMs} ms; last probe: ${lastOutcome}`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  } finally {
    channel.close();
  }
}

function describe(error: unknown): string {
  if (error instanceof ClientError) {
    return `${Status[error.code]}: ${error.details}`;
  }
  return error instanceof Error ? error.message : String(error);
}
