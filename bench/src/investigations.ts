// Reruns of the agent for missed targets: under a profiler, or with other Node.js options.

import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";

import { createNetAgentClient, NetAgentClient } from "@netagent/client";
import { startAgent } from "@netagent/integration/dist/agent";

import type { BenchContext } from "./context";
import { CpuProfile, HeapProfile, summarizeCpuProfile, summarizeHeapProfile, TimeWindow } from "./profile";
import { MemorySample, nodeProcessOf, readMemory } from "./procfs";
import type { Investigation } from "./results";
import { waitForNetworkCount } from "./settle";

/** Work for a fresh agent; it receives a client of that agent and its address. */
export type Workload = (client: NetAgentClient, address: string) => Promise<void>;

/** Sampling interval of --heap-prof in bytes; node's default of 512 KiB is too coarse for a heap of a few MB. */
const HEAP_SAMPLING_INTERVAL = 16 * 1024;

/** Measurements of a fresh agent after its workload. */
export interface FreshAgentRun {
  /** Memory of the agent's node process right after the workload. */
  memory: MemorySample;
  /** The workload's time on the monotonic clock, in microseconds. */
  window: TimeWindow;
  workloadMs: number;
}

/**
 * Starts a fresh agent in the sandbox with extra Node.js options and waits
 * until it lists the `networks` networks that libvirtd holds. Then runs the
 * workload, reads the agent's memory and stops it with SIGTERM, so that node
 * writes any profile it was asked for.
 */
export async function runFreshAgent(context: BenchContext, name: string, nodeOptions: string[], work: Workload, networks: number): Promise<FreshAgentRun> {
  const agent = await startAgent(context.sandbox, { name, logLevel: "info", logFile: join(context.rawDir, `${name}.log`), nodeOptions });
  const client = createNetAgentClient({ address: agent.address, defaultDeadlineMs: 120_000 });
  try {
    await waitForNetworkCount(client, `agent ${name}`, networks);
    const startUs = Number(process.hrtime.bigint() / 1000n);
    await work(client, agent.address);
    const endUs = Number(process.hrtime.bigint() / 1000n);
    return { memory: readMemory(nodeProcessOf(agent.pid)), window: { startUs, endUs }, workloadMs: (endUs - startUs) / 1000 };
  } finally {
    client.close();
    await agent.stop();
  }
}

/**
 * Runs the workload against a fresh agent under `node --cpu-prof` (or
 * --heap-prof) and summarises the profile. A CPU profile is cut to the
 * workload's time, so the agent's start-up is left out. A heap profile shows
 * what was still alive when the agent stopped.
 */
export async function profileAgent(
  context: BenchContext,
  options: { name: string; kind: "cpu" | "heap"; targets: string[]; workload: string; networks: number },
  work: Workload,
): Promise<Investigation> {
  const profileDir = join(context.rawDir, "profiles");
  await mkdir(profileDir, { recursive: true });
  const file = `${options.name}.${options.kind === "cpu" ? "cpuprofile" : "heapprofile"}`;
  const nodeOptions =
    options.kind === "cpu"
      ? ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", file]
      : ["--heap-prof", `--heap-prof-interval=${HEAP_SAMPLING_INTERVAL}`, "--heap-prof-dir", profileDir, "--heap-prof-name", file];

  context.log(`profiling the agent (${options.kind}) for target ${options.targets.join(", ")}: ${options.workload}`);
  const base: Investigation = { targets: options.targets, workload: options.workload };
  try {
    const run = await runFreshAgent(context, options.name, nodeOptions, work, options.networks);
    const text = await readFile(join(profileDir, file), "utf8");
    if (options.kind === "heap") {
      return { ...base, file: join("profiles", file), summary: summarizeHeapProfile(JSON.parse(text) as HeapProfile) };
    }

    const profile = JSON.parse(text) as CpuProfile;
    // Both clocks are CLOCK_MONOTONIC; a window outside the profile would mean they are not, so the whole profile is used.
    const aligned = run.window.startUs >= profile.startTime && run.window.endUs <= profile.endTime + 1_000_000;
    if (!aligned) {
      context.log(`the workload's time is outside the profile's; summarising the whole profile, start-up included`);
    }
    return {
      ...base,
      workload: aligned ? options.workload : `${options.workload}, with the agent's start-up`,
      file: join("profiles", file),
      summary: summarizeCpuProfile(profile, aligned ? run.window : undefined),
    };
  } catch (error) {
    context.log(`profiling for target ${options.targets.join(", ")} failed: ${(error as Error).message}`);
    return { ...base, error: (error as Error).message };
  }
}
