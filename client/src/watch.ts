import {
  EventServiceClient,
  ResyncReason,
  WatchEventsRequest,
  WatchEventsResponse,
} from "@netagent/proto";
import { Status } from "nice-grpc";

import { NetAgentError } from "./errors";

/** Options for NetAgentClient.watchEvents. */
export interface WatchEventsOptions {
  /** Ends the watch: the iterator then returns without an error. */
  signal?: AbortSignal;
  /** Delay before the first reconnect after a failure, in milliseconds; it doubles per failed attempt. Default: 250. */
  initialBackoffMs?: number;
  /** Maximum delay between reconnect attempts, in milliseconds. Default: 10000. */
  maxBackoffMs?: number;
  /** Reconnect attempts in a row after which the last error is thrown. Default: Infinity. */
  maxAttempts?: number;
  /** Called before each reconnect attempt, for example to log it. */
  onReconnecting?: (info: { error: NetAgentError; attempt: number; delayMs: number }) => void;
}

/**
 * Watches events through EventService.WatchEvents and re-opens the stream
 * whenever it fails with UNAVAILABLE (agent restarting or shutting down,
 * libvirtd unreachable, connection lost), with exponential backoff. After
 * a re-open the first event is a resync marker with reason
 * RESYNC_REASON_CLIENT_RECONNECTED instead of the stream's
 * RESYNC_REASON_WATCH_STARTED, because events in between are lost.
 * Other errors end the iteration by being thrown.
 */
export async function* watchEvents(
  client: EventServiceClient,
  request: Partial<WatchEventsRequest> = {},
  options: WatchEventsOptions = {},
): AsyncGenerator<WatchEventsResponse, void, undefined> {
  const { signal } = options;
  const initialBackoffMs = options.initialBackoffMs ?? 250;
  const maxBackoffMs = options.maxBackoffMs ?? 10_000;
  const maxAttempts = options.maxAttempts ?? Infinity;
  let streamsOpened = 0;
  let failures = 0;

  while (!signal?.aborted) {
    let firstMessage = true;
    try {
      for await (const response of client.watchEvents({ network: "", domain: "", ...request }, { signal })) {
        if (firstMessage) {
          firstMessage = false;
          failures = 0;
          streamsOpened++;
          if (streamsOpened > 1 && isWatchStarted(response)) {
            yield reconnectedMarker();
            continue;
          }
        }
        yield response;
      }
      return;
    } catch (error) {
      if (signal?.aborted) {
        return;
      }
      if (!(error instanceof NetAgentError) || error.code !== Status.UNAVAILABLE || failures + 1 > maxAttempts) {
        throw error;
      }
      failures++;
      const delayMs = Math.min(initialBackoffMs * 2 ** (failures - 1), maxBackoffMs) * (0.8 + Math.random() * 0.4);
      options.onReconnecting?.({ error, attempt: failures, delayMs });
      await sleep(delayMs, signal);
    }
  }
}

function isWatchStarted(response: WatchEventsResponse): boolean {
  return response.event?.$case === "resync" && response.event.value.reason === ResyncReason.RESYNC_REASON_WATCH_STARTED;
}

function reconnectedMarker(): WatchEventsResponse {
  return {
    observeTime: new Date(),
    event: {
      $case: "resync",
      value: {
        reason: ResyncReason.RESYNC_REASON_CLIENT_RECONNECTED,
        message: "the SDK re-opened the watch after it failed; events in between were lost",
      },
    },
  };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
