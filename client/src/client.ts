import { HostServiceClient, HostServiceDefinition, NetworkServiceClient, NetworkServiceDefinition } from "@netagent/proto";
import {
  CallOptions,
  Channel,
  ChannelCredentials,
  ClientError,
  ClientMiddlewareCall,
  createChannel,
  createClientFactory,
} from "nice-grpc";
import { DeadlineOptions, deadlineMiddleware } from "nice-grpc-client-middleware-deadline";
import { errorDetailsClientMiddleware } from "nice-grpc-error-details";

import { fromClientError } from "./errors";

/** The agent's default address: its UNIX socket. */
export const DEFAULT_ADDRESS = "unix:///run/netagent/netagent.sock";

/** Options for createNetAgentClient. */
export interface NetAgentClientOptions {
  /**
   * Where the agent listens: "unix:///absolute/path.sock" or "host:port".
   * Default: unix:///run/netagent/netagent.sock.
   */
  address?: string;
  /**
   * Deadline for each call, in milliseconds, unless the call passes its own
   * `deadline`. Default: 30000.
   */
  defaultDeadlineMs?: number;
}

/** Per-call options every SDK method accepts: `deadline` (Date or ms from now) and `signal` (AbortSignal). */
export type NetAgentCallOptions = CallOptions & DeadlineOptions;

/** A connection to one agent. */
export interface NetAgentClient {
  /** netagent.v1.NetworkService: create, read, update, start, stop and delete networks, and list their DHCP leases. */
  readonly networks: NetworkServiceClient<DeadlineOptions>;
  /** netagent.v1.HostService: the host's interfaces, bridges, subnets in use and which network types it supports. */
  readonly host: HostServiceClient<DeadlineOptions>;
  /** Closes the underlying channel; calls after this fail. */
  close(): void;
}

/**
 * Connects to a netagent agent. The channel connects lazily on the first
 * call. Every call rejects with NetAgentError on a non-OK status.
 *
 * @example
 * const agent = createNetAgentClient({ address: "unix:///run/netagent/netagent.sock" });
 * const { network } = await agent.networks.getNetwork({ name: "lab" });
 */
export function createNetAgentClient(options: NetAgentClientOptions = {}): NetAgentClient {
  const address = options.address ?? DEFAULT_ADDRESS;
  const defaultDeadlineMs = options.defaultDeadlineMs ?? 30_000;
  const channel: Channel = createChannel(address, ChannelCredentials.createInsecure());

  // The middleware added last runs first: NetAgentError conversion sees the
  // rich details and the deadline's DEADLINE_EXCEEDED alike.
  const factory = createClientFactory()
    .use(deadlineMiddleware)
    .use(errorDetailsClientMiddleware)
    .use(netAgentErrorMiddleware);

  // A number is a deadline relative to the start of each call.
  const networks = factory.create(NetworkServiceDefinition, channel, {
    "*": { deadline: defaultDeadlineMs },
  });

  const host = factory.create(HostServiceDefinition, channel, {
    "*": { deadline: defaultDeadlineMs },
  });

  return {
    networks,
    host,
    close: () => channel.close(),
  };
}

async function* netAgentErrorMiddleware<Request, Response>(
  call: ClientMiddlewareCall<Request, Response>,
  options: CallOptions,
) {
  try {
    return yield* call.next(call.request, options);
  } catch (error) {
    if (error instanceof ClientError) {
      throw fromClientError(error);
    }
    throw error;
  }
}
