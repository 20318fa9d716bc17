// The five targets, each evaluated from one run's figures.

import { AGENT, ECHO_GRPC_JS } from "./measurements/get-network";
import type { BenchResults } from "./results";

export type TargetStatus = "pass" | "fail" | "not available";

export interface TargetResult {
  /** "1a", "1b", "2" ... */
  id: string;
  title: string;
  requirement: string;
  /** The measured figures and ratio in words. */
  measured: string;
  status: TargetStatus;
}

/** 120 MB as the target states it, in bytes (decimal megabytes). */
export const RSS_LIMIT_BYTES = 120e6;

/** Returns the network count of target 2: 500 in a full run, the middle size in a quick one. */
export function listTargetSize(results: BenchResults): number {
  const sizes = results.listNetworks.map((size) => size.networks);
  return sizes.includes(500) ? 500 : sizes[Math.floor(sizes.length / 2)];
}

export function evaluateTargets(results: BenchResults): TargetResult[] {
  const { getNetwork, createDelete, watchEvents, memory } = results;
  const targets: TargetResult[] = [];

  const agentThroughput = getNetwork.concurrent[AGENT].callsPerSecond;
  const echoThroughput = getNetwork.concurrent[ECHO_GRPC_JS].callsPerSecond;
  const throughputRatio = agentThroughput / echoThroughput;
  targets.push({
    id: "1a",
    title: `GetNetwork throughput, ${getNetwork.inFlight} calls in flight`,
    requirement: `agent >= 0.9x ${ECHO_GRPC_JS}`,
    measured: `agent ${formatRate(agentThroughput)}, ${ECHO_GRPC_JS} ${formatRate(echoThroughput)}: ${formatRatio(throughputRatio)}`,
    status: throughputRatio >= 0.9 ? "pass" : "fail",
  });

  const agentLatency = getNetwork.sequential[AGENT].p50;
  const echoLatency = getNetwork.sequential[ECHO_GRPC_JS].p50;
  const latencyRatio = agentLatency / echoLatency;
  targets.push({
    id: "1b",
    title: "GetNetwork latency, one call at a time (p50)",
    requirement: `agent <= 1.2x ${ECHO_GRPC_JS}`,
    measured: `agent ${formatUs(agentLatency)}, ${ECHO_GRPC_JS} ${formatUs(echoLatency)}: ${formatRatio(latencyRatio)}`,
    status: latencyRatio <= 1.2 ? "pass" : "fail",
  });

  const size = listTargetSize(results);
  const list = results.listNetworks.find((entry) => entry.networks === size)!;
  const speedup = list.python.medianMs / list.agent.medianMs;
  targets.push({
    id: "2",
    title: `ListNetworks with details at ${size} networks (median)`,
    requirement: "agent >= 10x faster than python3-libvirt",
    measured: `agent ${formatMs(list.agent.medianMs)}, python3-libvirt ${formatMs(list.python.medianMs)}: agent ${formatRatio(speedup)} faster`,
    status: speedup >= 10 ? "pass" : "fail",
  });

  const cycleRatio = createDelete.agent.medianCycleMs / createDelete.python.medianCycleMs;
  targets.push({
    id: "3",
    title: "CreateNetwork + DeleteNetwork cycle, NAT with DHCP (median)",
    requirement: "agent <= 1.05x python3-libvirt",
    measured: `agent ${formatMs(createDelete.agent.medianCycleMs)}, python3-libvirt ${formatMs(createDelete.python.medianCycleMs)}: ${formatRatio(cycleRatio)}`,
    status: cycleRatio <= 1.05 ? "pass" : "fail",
  });

  if (watchEvents.available) {
    targets.push({
      id: "4",
      title: `WatchEvents delivery latency, ${watchEvents.watchers} watchers (p99)`,
      requirement: "p99 <= 20 ms",
      measured: `p50 ${formatMs(watchEvents.latencyMs.p50)}, p99 ${formatMs(watchEvents.latencyMs.p99)}`,
      status: watchEvents.latencyMs.p99 <= 20 ? "pass" : "fail",
    });
  } else {
    targets.push({
      id: "4",
      title: "WatchEvents delivery latency, 100 watchers (p99)",
      requirement: "p99 <= 20 ms",
      measured: `not available: ${watchEvents.reason}`,
      status: "not available",
    });
  }

  const rssBytes = memory.loaded.vmRssKiB * 1024;
  const watchersNote = memory.loaded.watchers === 0 ? ` and no watchers (WatchEvents not available)` : ` and ${memory.loaded.watchers} watchers`;
  targets.push({
    id: "5",
    title: `Agent RSS with ${memory.loaded.networks} networks${watchersNote}`,
    requirement: "VmRSS <= 120 MB",
    measured: `VmRSS ${formatMB(rssBytes)} (idle ${formatMB(memory.idle.vmRssKiB * 1024)})`,
    status: rssBytes <= RSS_LIMIT_BYTES ? "pass" : "fail",
  });

  return targets;
}

/** Formats a target as one line for the terminal, "target 1a: ... PASS". */
export function targetLine(target: TargetResult): string {
  return `target ${target.id}: ${target.title}: ${target.measured}; requirement ${target.requirement}: ${target.status.toUpperCase()}`;
}

export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}x`;
}

export function formatRate(callsPerSecond: number): string {
  return `${Math.round(callsPerSecond).toLocaleString("en-US")} calls/s`;
}

export function formatUs(us: number): string {
  return `${Math.round(us).toLocaleString("en-US")} µs`;
}

export function formatMs(ms: number): string {
  return ms >= 100 ? `${Math.round(ms).toLocaleString("en-US")} ms` : `${ms.toFixed(1)} ms`;
}

export function formatMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
