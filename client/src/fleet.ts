import { Status } from "nice-grpc";

import { createNetAgentClient, NetAgentClient, NetAgentClientOptions } from "./client";
import { NetAgentError } from "./errors";

/** The number of calls in flight at once when a run sets no `concurrency`. */
export const DEFAULT_FLEET_CONCURRENCY = 8;

/** One agent of a fleet: the name its results carry and the client that reaches it. */
export interface FleetHost {
  name: string;
  client: NetAgentClient;
}

/** The name and address of one agent, for createNetAgentFleet. */
export interface FleetTarget {
  /** The host's name in results, for example its hostname; unique within the fleet. */
  name: string;
  /** The agent's address, as for createNetAgentClient. */
  address: string;
}

/** Context that runOnFleet passes to the call for each host. */
export interface FleetCallContext {
  /** The host's name. */
  host: string;
  /** Aborted when the run's signal aborts; pass it on as the call's `signal`. */
  signal: AbortSignal;
}

/** A call that succeeded on one host. */
export interface FleetSuccess<T> {
  host: string;
  ok: true;
  /** The call's resolved value. */
  value: T;
}

/** A call that failed on one host. */
export interface FleetFailure {
  host: string;
  ok: false;
  /**
   * The gRPC status code: the agent's own status, UNAVAILABLE when the agent
   * cannot be reached, CANCELLED when the run was aborted, UNKNOWN when the call
   * threw something that is not a gRPC error.
   */
  code: Status;
  /** The status message, or the thrown error's message for UNKNOWN. */
  message: string;
  /** The thrown error: a NetAgentError for a gRPC status, otherwise whatever the call threw. */
  error: unknown;
}

/** The outcome of a fleet call on one host, a success when `ok` is true. */
export type FleetResult<T> = FleetSuccess<T> | FleetFailure;

/** Options of one fleet run. */
export interface FleetRunOptions {
  /** Maximum calls in flight at once, a whole number of at least 1. Default 8. */
  concurrency?: number;
  /**
   * Aborts the run: calls in flight receive the abort through their context's
   * signal, and hosts whose call has not started report CANCELLED without a call.
   */
  signal?: AbortSignal;
}

/**
 * Makes the same call on many agents, at most `concurrency` at a time, and
 * resolves with one result per host, in the order of `hosts`. It never rejects
 * because of a host: a failed call becomes that host's FleetFailure.
 *
 * Rejects with RangeError when `concurrency` is not a whole number of at least 1.
 * @example
 * const results = await runOnFleet(hosts, (agent, { signal }) =>
 *   agent.networks.createNetwork({ network }, { signal }), { concurrency: 16 });
 * const failed = results.filter((result) => !result.ok);
 */
export async function runOnFleet<T>(
  hosts: readonly FleetHost[],
  call: (client: NetAgentClient, context: FleetCallContext) => Promise<T>,
  options: FleetRunOptions = {},
): Promise<Array<FleetResult<T>>> {
  const concurrency = options.concurrency ?? DEFAULT_FLEET_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`invalid concurrency ${concurrency}: use a whole number of at least 1`);
  }
  const signal = options.signal ?? new AbortController().signal;
  const results = new Array<FleetResult<T>>(hosts.length);

  // Each worker takes the next host until none is left, so at most `concurrency` calls run at once.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < hosts.length) {
      const index = next;
      next += 1;
      results[index] = await callOneHost(hosts[index], call, signal);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, hosts.length) }, worker));
  return results;
}

async function callOneHost<T>(
  host: FleetHost,
  call: (client: NetAgentClient, context: FleetCallContext) => Promise<T>,
  signal: AbortSignal,
): Promise<FleetResult<T>> {
  if (signal.aborted) {
    return { host: host.name, ok: false, code: Status.CANCELLED, message: "the fleet run was aborted before this host's call started", error: signal.reason };
  }
  try {
    const value = await call(host.client, { host: host.name, signal });
    return { host: host.name, ok: true, value };
  } catch (error) {
    return { host: host.name, ok: false, ...statusOf(error), error };
  }
}

function statusOf(error: unknown): { code: Status; message: string } {
  if (error instanceof NetAgentError) {
    return { code: error.code, message: error.details };
  }
  const message = error instanceof Error ? error.message : String(error);
  // nice-grpc rejects an aborted call with an AbortError instead of a status.
  if (error instanceof Error && error.name === "AbortError") {
    return { code: Status.CANCELLED, message };
  }
  return { code: Status.UNKNOWN, message };
}

/** Clients for a set of agents, with runOnFleet bound to them. */
export interface NetAgentFleet {
  /** The fleet's hosts, in the order they were given. */
  readonly hosts: readonly FleetHost[];
  /** Runs `call` on every host; see runOnFleet. `concurrency` defaults to the fleet's. */
  run<T>(call: (client: NetAgentClient, context: FleetCallContext) => Promise<T>, options?: FleetRunOptions): Promise<Array<FleetResult<T>>>;
  /** Closes every host's client. */
  close(): void;
}

/**
 * Creates a client for each target. Clients connect lazily, so an agent that
 * is down only shows up as UNAVAILABLE in the results of a run.
 *
 * @param options.concurrency the default for each run (default 8); the other
 *   options are passed to createNetAgentClient for every host.
 * @throws Error when two targets have the same name.
 * @example
 * const fleet = createNetAgentFleet([
 *   { name: "kvm-01", address: "unix:///run/netagent/kvm-01.sock" },
 *   { name: "kvm-02", address: "unix:///run/netagent/kvm-02.sock" },
 * ]);
 * const results = await fleet.run((agent, { signal }) => agent.networks.listNetworks({}, { signal }));
 * fleet.close();
 */
export function createNetAgentFleet(
  targets: readonly FleetTarget[],
  options: Omit<NetAgentClientOptions, "address"> & { concurrency?: number } = {},
): NetAgentFleet {
  const names = new Set<string>();
  for (const target of targets) {
    if (names.has(target.name)) {
      throw new Error(`duplicate host name ${JSON.stringify(target.name)} in the fleet: give each target its own name`);
    }
    names.add(target.name);
  }

  const { concurrency, ...clientOptions } = options;
  const hosts = targets.map((target) => ({ name: target.name, client: createNetAgentClient({ ...clientOptions, address: target.address }) }));
  return {
    hosts,
    run: (call, runOptions = {}) => runOnFleet(hosts, call, { concurrency, ...runOptions }),
    close: () => hosts.forEach((host) => host.client.close()),
  };
}
