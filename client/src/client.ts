import {
  EventServiceClient,
  EventServiceDefinition,
  HostServiceClient,
  HostServiceDefinition,
  InterfaceServiceClient,
  InterfaceServiceDefinition,
  NetworkServiceClient,
  NetworkServiceDefinition,
  WatchEventsRequest,
  WatchEventsResponse,
} from "@netagent/proto";
import {
  CallOptions,
  Channel,
  ChannelCredentials,
  ClientError,
  ClientMiddlewareCall,
  createChannel,
  createClientFactory,
  Status,
} from "nice-grpc";
import { DeadlineOptions, deadlineMiddleware } from "nice-grpc-client-middleware-deadline";
import { RetryOptions, retryMiddleware } from "nice-grpc-client-middleware-retry";
import { errorDetailsClientMiddleware } from "nice-grpc-error-details";

import { fromClientError, NetAgentError } from "./errors";
import { watchEvents, WatchEventsOptions } from "./watch";

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
  /**
   * Mutual TLS, for an agent that listens on TCP with --tls-cert. Without
   * it the channel is plaintext, as on the agent's UNIX socket.
   */
  tls?: NetAgentTlsOptions;
  /**
   * Retries of calls that the contract marks free of side effects (Get and
   * List, `idempotency_level = NO_SIDE_EFFECTS`) after UNAVAILABLE, with
   * exponential backoff and jitter, within the call's deadline. Other calls
   * are never retried. `false` turns retries off.
   */
  retry?: NetAgentRetryOptions | false;
}

/** Certificates for mutual TLS; each is PEM text or a Buffer holding it. */
export interface NetAgentTlsOptions {
  /** CA certificates that the agent's certificate must chain to. */
  ca: string | Buffer;
  /** The client certificate chain that the agent maps to a role. */
  cert: string | Buffer;
  /** The private key of `cert`. */
  key: string | Buffer;
  /**
   * Name to check the agent's certificate against, when it differs from the
   * host in `address` (for example when connecting by IP address).
   */
  serverName?: string;
}

/** Retry settings for idempotent calls. */
export interface NetAgentRetryOptions {
  /** Retries after the first attempt. Default: 3. */
  maxRetries?: number;
  /**
   * Delay before the first retry, in milliseconds. It doubles for each later
   * retry, and each delay is drawn at random between half and all of it.
   * Default: 200.
   */
  baseDelayMs?: number;
  /** Upper bound of one delay, in milliseconds. Default: 5000. */
  maxDelayMs?: number;
  /** Called before each retry, for example to log it. */
  onRetry?(error: NetAgentError, retry: number, delayMs: number): void;
}

/** Per-call options every SDK method accepts: `deadline` (Date or ms from now) and `signal` (AbortSignal). */
export type NetAgentCallOptions = CallOptions & DeadlineOptions;

/** A connection to one agent. */
export interface NetAgentClient {
  /** netagent.v1.NetworkService: create, read, update, start, stop and delete networks, and list their DHCP leases. */
  readonly networks: NetworkServiceClient<DeadlineOptions>;
  /** netagent.v1.InterfaceService: attach, detach, list and update guest interfaces. */
  readonly interfaces: InterfaceServiceClient<DeadlineOptions>;
  /** netagent.v1.EventService as generated, without a default deadline, since its stream has no end. */
  readonly events: EventServiceClient<DeadlineOptions>;
  /**
   * Watches network and interface events, re-opening the stream after
   * UNAVAILABLE with backoff; see WatchEventsOptions. Events may have been
   * missed after each resync marker: list again, then apply what follows.
   *
   * @example
   * const stop = new AbortController();
   * for await (const { event } of agent.watchEvents({ network: "lab" }, { signal: stop.signal })) {
   *   if (event?.$case === "resync") relist();
   *   else if (event?.$case === "network") apply(event.value);
   * }
   */
  watchEvents(request?: Partial<WatchEventsRequest>, options?: WatchEventsOptions): AsyncGenerator<WatchEventsResponse, void, undefined>;
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
  const channel: Channel = createChannel(address, ...channelSecurity(options.tls));

  // The middleware added last runs first. NetAgentError conversion gets the
  // rich details and the deadline's DEADLINE_EXCEEDED alike, and the
  // deadline, outside the retries, bounds all attempts together.
  const factory = createClientFactory()
    .use(retryMiddleware)
    .use(deadlineMiddleware)
    .use(errorDetailsClientMiddleware)
    .use(netAgentErrorMiddleware);

  // A number is a deadline relative to the start of each call.
  const networks = factory.create(NetworkServiceDefinition, channel, {
    "*": { deadline: defaultDeadlineMs, ...retryDefaults(options.retry) },
  });

  const host = factory.create(HostServiceDefinition, channel, {
    "*": { deadline: defaultDeadlineMs, ...retryDefaults(options.retry) },
  });

  const interfaces = factory.create(InterfaceServiceDefinition, channel, {
    "*": { deadline: defaultDeadlineMs },
  });
  const events = factory.create(EventServiceDefinition, channel);

  return {
    networks,
    interfaces,
    events,
    watchEvents: (request, watchOptions) => watchEvents(events, request, watchOptions),
    host,
    close: () => channel.close(),
  };
}

function channelSecurity(tls: NetAgentTlsOptions | undefined): [ChannelCredentials, Record<string, string>?] {
  if (tls === undefined) {
    return [ChannelCredentials.createInsecure()];
  }
  const credentials = ChannelCredentials.createSsl(Buffer.from(tls.ca), Buffer.from(tls.key), Buffer.from(tls.cert));
  if (tls.serverName === undefined) {
    return [credentials];
  }
  return [credentials, { "grpc.ssl_target_name_override": tls.serverName, "grpc.default_authority": tls.serverName }];
}

function retryDefaults(retry: NetAgentRetryOptions | false | undefined): RetryOptions {
  if (retry === false) {
    return { retry: false };
  }
  // No `retry: true` here: the retry middleware then retries exactly the
  // methods whose proto options mark them NO_SIDE_EFFECTS or IDEMPOTENT.
  return {
    retryMaxAttempts: retry?.maxRetries ?? 3,
    retryBaseDelayMs: retry?.baseDelayMs ?? 200,
    retryMaxDelayMs: retry?.maxDelayMs ?? 5_000,
    retryableStatuses: [Status.UNAVAILABLE],
    onRetryableError: retry?.onRetry === undefined ? undefined : (error, attempt, delayMs) => retry.onRetry!(fromClientError(error), attempt + 1, delayMs),
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
