import {
  EventSource,
  InterfaceEventType,
  NetAgentClient,
  NetworkEventType,
  ResyncReason,
  WatchEventsRequest,
  WatchEventsResponse,
} from "@netagent/client";
import { createChannel, createClient } from "nice-grpc";
import { HealthDefinition } from "nice-grpc-server-health";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "nice-grpc-server-health/lib/proto/grpc/health/v1/health";

export { ServingStatus };

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function pollUntil<T>(find: () => T | undefined, timeoutMs: number, description: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) {
      return found;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description()}`);
    }
    await delay(20);
  }
}

/** Short text for one event, for example "network started lab libvirt" or "resync libvirt-reconnected". */
export function describeEvent(response: WatchEventsResponse): string {
  const event = response.event;
  switch (event?.$case) {
    case "network":
      return [
        "network",
        NetworkEventType[event.value.type].replace("NETWORK_EVENT_TYPE_", "").toLowerCase(),
        event.value.name,
        EventSource[event.value.source].replace("EVENT_SOURCE_", "").toLowerCase(),
      ].join(" ");
    case "interface":
      return [
        "interface",
        InterfaceEventType[event.value.type].replace("INTERFACE_EVENT_TYPE_", "").toLowerCase(),
        event.value.domain,
        event.value.alias,
        event.value.macAddress,
        event.value.network,
      ].join(" ");
    case "resync":
      return `resync ${ResyncReason[event.value.reason].replace("RESYNC_REASON_", "").toLowerCase().replace(/_/g, "-")}`;
    default:
      return "unknown";
  }
}

/** Watches an agent's events through the SDK and keeps every event it received. */
export class EventRecorder {
  readonly events: WatchEventsResponse[] = [];
  error: unknown;
  private readonly stop = new AbortController();
  private readonly done: Promise<void>;

  constructor(client: NetAgentClient, request: Partial<WatchEventsRequest> = {}) {
    this.done = (async () => {
      try {
        const stream = client.watchEvents(request, { signal: this.stop.signal, initialBackoffMs: 50, maxBackoffMs: 500 });
        for await (const response of stream) {
          this.events.push(response);
        }
      } catch (error) {
        this.error = error;
      }
    })();
  }

  /** Returns the events so far as describeEvent() lines. */
  lines(): string[] {
    return this.events.map(describeEvent);
  }

  /** Waits for an event whose describeEvent() line equals `line`, at or after index `from`, and returns its index. */
  waitFor(line: string, from = 0, timeoutMs = 30_000): Promise<number> {
    return pollUntil(
      () => {
        const index = this.lines().indexOf(line, from);
        return index < 0 ? undefined : index;
      },
      timeoutMs,
      () => `event "${line}" after index ${from}; received:\n${this.lines().join("\n")}`,
    );
  }

  /** Waits for the first marker of the stream, after which no change is missed. */
  started(): Promise<number> {
    return this.waitFor("resync watch-started");
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.done;
  }
}

/** Follows grpc.health.v1 Watch of the whole server ("") and keeps every status it received. */
export class HealthRecorder {
  readonly statuses: ServingStatus[] = [];
  private readonly stop = new AbortController();
  private readonly channel;
  private readonly done: Promise<void>;

  constructor(address: string) {
    this.channel = createChannel(address);
    const health = createClient(HealthDefinition, this.channel);
    this.done = (async () => {
      try {
        for await (const { status } of health.watch({ service: "" }, { signal: this.stop.signal })) {
          this.statuses.push(status);
        }
      } catch {
        // The watch ends when the agent stops or the recorder is closed.
      }
    })();
  }

  /** Waits until `status` was received at or after index `from`, and returns its index. */
  waitFor(status: ServingStatus, from = 0, timeoutMs = 30_000): Promise<number> {
    return pollUntil(
      () => {
        const index = this.statuses.indexOf(status, from);
        return index < 0 ? undefined : index;
      },
      timeoutMs,
      () => `health ${ServingStatus[status]} after index ${from}; received ${this.statuses.map((s) => ServingStatus[s]).join(", ")}`,
    );
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.done;
    this.channel.close();
  }
}
