// WatchEvents: latency from a network change in libvirt to its delivery to each watcher.

import * as proto from "@netagent/proto";
import type { LibvirtClient } from "@netagent/server/dist/libvirt";
import { Channel, ChannelCredentials, createChannel, createClient } from "nice-grpc";

import { LatencySummary, summarize } from "../stats";

/** Result when the agent has no WatchEvents to measure. */
export interface NotAvailable {
  available: false;
  reason: string;
}

export interface WatchEventsResults {
  available: true;
  watchers: number;
  changes: number;
  /** Delay from the start of each change to its arrival at each watcher, in milliseconds. */
  latencyMs: LatencySummary;
}

/** Streams open against the agent; close() cancels them and closes their channels. */
export interface Watchers {
  count: number;
  close(): void;
}

/** Bounds the wait for every watcher to receive one change. */
const DELIVERY_TIMEOUT_MS = 10_000;

/** Bounds the wait until every new watcher has received a probe network's event, by default. */
const PROBE_TIMEOUT_MS = 30_000;

/** Time between probe networks while watchers subscribe. */
const PROBE_INTERVAL_MS = 500;

/** The libvirt calls that make the changes: the benchmark's LibvirtClient, or a stand-in in tests. */
export type NetworkChanger = Pick<LibvirtClient, "networkDefineXml" | "networkUndefine">;

/**
 * Returns why WatchEvents cannot be measured, or undefined when
 * @netagent/proto defines the EventService.
 */
export function watchEventsUnavailable(): NotAvailable | undefined {
  return eventServiceDefinition() === undefined ? { available: false, reason: "EventService missing from @netagent/proto" } : undefined;
}

function eventServiceDefinition(): unknown {
  return (proto as Record<string, unknown>).EventServiceDefinition;
}

type EventListener = (text: string, receivedAt: number) => void;

/** Watchers with a listener that receives each event as JSON text. */
export interface OpenWatchers extends Watchers {
  setListener(listener: EventListener | undefined): void;
  failures(): Error[];
}

/**
 * Opens `count` WatchEvents streams, each on its own channel as separate
 * clients would, and waits until each one delivered an event of a probe
 * network, so that every subscription is in place before anything is timed.
 */
export async function openWatchers(
  address: string,
  libvirt: NetworkChanger,
  count: number,
  options: { definition?: unknown; probeTimeoutMs?: number } = {},
): Promise<OpenWatchers> {
  const definition = options.definition ?? eventServiceDefinition();
  if (definition === undefined) {
    throw new Error("EventService missing from @netagent/proto");
  }

  const channels: Channel[] = [];
  const abort = new AbortController();
  const errors: Error[] = [];
  let listener: EventListener | undefined;

  for (let watcher = 0; watcher < count; watcher++) {
    const channel = createChannel(address, ChannelCredentials.createInsecure());
    channels.push(channel);
    // NOTE: the EventService's messages are unknown when this compiles. So the
    // request is left empty (watch everything), and an event counts for the
    // network whose name appears anywhere in it.
    const client = createClient(definition as never, channel) as unknown as {
      watchEvents(request: object, options: { signal: AbortSignal }): AsyncIterable<unknown>;
    };
    void (async () => {
      try {
        for await (const event of client.watchEvents({}, { signal: abort.signal })) {
          listener?.(`${watcher}:${JSON.stringify(event, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value))}`, performance.now());
        }
      } catch (error) {
        if (!abort.signal.aborted) {
          errors.push(error as Error);
        }
      }
    })();
  }

  const watchers: OpenWatchers = {
    count,
    setListener: (next) => (listener = next),
    failures: () => errors,
    close() {
      abort.abort();
      channels.forEach((channel) => channel.close());
    },
  };
  try {
    await waitForSubscriptions(libvirt, watchers, options.probeTimeoutMs ?? PROBE_TIMEOUT_MS);
  } catch (error) {
    watchers.close();
    throw error;
  }
  return watchers;
}

/**
 * Times `changes` network definitions: from just before the
 * bench's own libvirt connection sends NETWORK_DEFINE_XML to the arrival of
 * the first event naming the network at each watcher. So each sample includes
 * one libvirt call, libvirtd's event dispatch, the agent and gRPC delivery.
 */
export async function measureWatchEvents(libvirt: NetworkChanger, watchers: OpenWatchers, changes: number): Promise<WatchEventsResults> {
  const samples: number[] = [];
  for (let change = 0; change < changes; change++) {
    samples.push(...(await timeChange(libvirt, watchers, `bench-watch-${change}`, DELIVERY_TIMEOUT_MS)));
  }
  return { available: true, watchers: watchers.count, changes, latencyMs: summarize(samples) };
}

/**
 * Defines probe networks, one after the other, until every watcher has
 * received an event of one: a stream that the agent has not subscribed yet
 * misses the events before its subscription.
 * @throws Error when a watcher failed or not all received a probe within timeoutMs.
 */
async function waitForSubscriptions(libvirt: NetworkChanger, watchers: OpenWatchers, timeoutMs: number): Promise<void> {
  const ready = new Set<string>();
  const deadline = performance.now() + timeoutMs;
  for (let probe = 0; ready.size < watchers.count; probe++) {
    const remainingMs = deadline - performance.now();
    if (remainingMs <= 0) {
      throw new Error(`only ${ready.size} of ${watchers.count} watchers received an event of a probe network within ${timeoutMs / 1000} s`);
    }
    const arrivals = await deliverChange(libvirt, watchers, `bench-watch-probe-${probe}`, Math.min(PROBE_INTERVAL_MS, remainingMs));
    arrivals.forEach((_, watcher) => ready.add(watcher));
  }
}

/**
 * Defines network `name` and returns the delay in milliseconds until each
 * watcher received an event naming it.
 * @throws Error when a watcher failed or not all received it within timeoutMs.
 */
async function timeChange(libvirt: NetworkChanger, watchers: OpenWatchers, name: string, timeoutMs: number): Promise<number[]> {
  const arrivals = await deliverChange(libvirt, watchers, name, timeoutMs);
  if (arrivals.size < watchers.count) {
    throw new Error(`only ${arrivals.size} of ${watchers.count} watchers received an event for network ${name} within ${timeoutMs / 1000} s`);
  }
  return [...arrivals.values()];
}

/**
 * Defines network `name`, waits up to timeoutMs until every watcher received
 * an event naming it, then undefines it. Returns the delay in milliseconds
 * from the define call to each arrival, by watcher.
 * @throws Error when a watcher's stream failed.
 */
async function deliverChange(libvirt: NetworkChanger, watchers: OpenWatchers, name: string, timeoutMs: number): Promise<Map<string, number>> {
  const arrivals = new Map<string, number>();
  const quotedName = JSON.stringify(name);
  let started = 0;
  let done: () => void = () => undefined;
  const allArrived = new Promise<void>((resolve) => (done = resolve));
  watchers.setListener((text, receivedAt) => {
    const watcher = text.slice(0, text.indexOf(":"));
    if (!arrivals.has(watcher) && text.includes(quotedName)) {
      arrivals.set(watcher, receivedAt - started);
      if (arrivals.size === watchers.count) {
        done();
      }
    }
  });

  started = performance.now();
  const ref = await libvirt.networkDefineXml(`<network><name>${name}</name><bridge name='nbw-probe' stp='off' delay='0'/></network>`);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([allArrived, timedOut]);
  clearTimeout(timer);
  watchers.setListener(undefined);
  await libvirt.networkUndefine(ref);

  const failures = watchers.failures();
  if (failures.length > 0) {
    throw new Error(`${failures.length} of ${watchers.count} WatchEvents streams failed: ${failures[0].message}`);
  }
  return arrivals;
}
