import type { Machine } from "./environment";
import type { CreateDeleteResults } from "./measurements/create-delete";
import type { GetNetworkResults } from "./measurements/get-network";
import type { ListSizeResult } from "./measurements/list-networks";
import type { NotAvailable, WatchEventsResults } from "./measurements/watch-events";
import type { ProfileSummary } from "./profile";
import type { MemorySample } from "./procfs";

/** Agent memory at the two points the targets name. */
export interface MemoryResults {
  /** After start-up, connected to libvirtd, before any call. */
  idle: MemorySample;
  /** After the ListNetworks runs at the largest size, with the watchers open. */
  loaded: MemorySample & { networks: number; watchers: number };
  /** The bare echo servers after start-up, for comparison: what Node.js and gRPC alone take. */
  echoIdle: Record<string, MemorySample>;
}

/** A profiled rerun of the agent for one missed target. */
export interface Investigation {
  /** Target ids it explains, for example ["1a", "1b"]. */
  targets: string[];
  /** Description of the work the profiled agent did. */
  workload: string;
  /** Profile file, relative to the raw folder. */
  file?: string;
  summary?: ProfileSummary;
  /** Error that kept the profile from being taken. */
  error?: string;
  /** The same workload without a profiler, with the launcher's Node.js options and with V8's defaults. */
  variants?: MemoryVariant[];
}

/** Label of the memory variant with V8's own semi-space size instead of the launcher's. */
export const V8_DEFAULT_SEMI_SPACE = "--max-semi-space-size=16 (V8's default)";

/** Agent memory after the memory workload, with some Node.js options. */
export interface MemoryVariant {
  /** The Node.js options, as the report shows them. */
  nodeOptions: string;
  memory: MemorySample;
  /** Median ListNetworks wall time in the workload, in milliseconds. */
  listMs: number;
}

export interface BenchResults {
  startedAt: string;
  durationSeconds: number;
  quick: boolean;
  machine: Machine;
  versions: Record<string, string>;
  getNetwork: GetNetworkResults;
  listNetworks: ListSizeResult[];
  createDelete: CreateDeleteResults;
  watchEvents: WatchEventsResults | NotAvailable;
  memory: MemoryResults;
  investigations: Investigation[];
}
