#!/usr/bin/env node
// `make bench`: measures the agent against python3-libvirt, virsh and bare
// gRPC echo servers, all against one sandboxed libvirtd in one run, prints
// one pass/fail line per target and writes the results page.

import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";

import { createNetAgentClient, NetAgentClient } from "@netagent/client";
import { RunningAgent, startAgent } from "@netagent/integration/dist/agent";
import { Sandbox, startSandbox } from "@netagent/integration/dist/sandbox";
import { LibvirtClient } from "@netagent/server/dist/libvirt";

import type { BenchContext } from "./context";
import { describeMachine, describeVersions } from "./environment";
import { defineListNetworks, listNetworkName } from "./fixtures";
import { investigateMissedTargets } from "./investigate-targets";
import { LibvirtCallCounter } from "./libvirt-call-counter";
import { measureCreateDelete } from "./measurements/create-delete";
import { measureGetNetwork } from "./measurements/get-network";
import { ListSizeResult, measureListNetworks } from "./measurements/list-networks";
import { measureWatchEvents, NotAvailable, openWatchers, WatchEventsResults, watchEventsUnavailable } from "./measurements/watch-events";
import { BenchOptions, parseOptions, USAGE } from "./options";
import { nodeProcessOf, readMemory } from "./procfs";
import { renderReport } from "./report";
import { waitUntilListed } from "./settle";
import type { BenchResults, MemoryResults } from "./results";
import { evaluateTargets, formatMB, targetLine } from "./targets";

const REPOSITORY_ROOT = resolve(__dirname, "../..");

/** A run that takes longer than this is stopped: every block has its own bounds, so it means something hangs. */
const RUN_TIMEOUT_MS = 30 * 60_000;

const started = performance.now();

function log(message: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`bench [${seconds}s] ${message}\n`);
}

/** Processes and connections the run started, so that stop() can end them by PID after a failure or a signal too. */
class Resources {
  sandbox?: Sandbox;
  libvirt?: LibvirtClient;
  counter?: LibvirtCallCounter;
  agents: RunningAgent[] = [];
  clients: NetAgentClient[] = [];
  private stopping?: Promise<void>;

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.clients.forEach((client) => client.close());
      await Promise.all(this.agents.map((agent) => agent.stop().catch(() => undefined)));
      await this.libvirt?.close().catch(() => undefined);
      await this.counter?.stop().catch(() => undefined);
      if (this.sandbox !== undefined) {
        log("stopping the sandbox");
        await this.sandbox.stop();
      }
    })();
    return this.stopping;
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), REPOSITORY_ROOT);
  if (options === "help") {
    process.stdout.write(USAGE);
    return;
  }
  if (process.getuid?.() !== 0) {
    throw new Error("run as root: the benchmark starts libvirtd in a network namespace");
  }
  await prepareRawDir(options.rawDir);

  const resources = new Resources();
  const interrupt = (signal: string) => {
    log(`interrupted by ${signal}; stopping everything this run started`);
    void resources.stop().finally(() => process.exit(130));
  };
  process.once("uncaughtException", (error) => {
    log(`error: ${error.stack ?? error.message}`);
    void resources.stop().finally(() => process.exit(1));
  });
  process.once("SIGINT", () => interrupt("SIGINT"));
  process.once("SIGTERM", () => interrupt("SIGTERM"));
  const watchdog = setTimeout(() => {
    log(`the run exceeded ${RUN_TIMEOUT_MS / 60_000} minutes; stopping it`);
    void resources.stop().finally(() => process.exit(1));
  }, RUN_TIMEOUT_MS);

  let results: BenchResults;
  try {
    results = await run(options, resources);
  } finally {
    await resources.stop();
    clearTimeout(watchdog);
  }

  const targets = evaluateTargets(results);
  await writeFile(join(options.rawDir, "results.json"), JSON.stringify({ ...results, targets }, null, 2) + "\n");
  await mkdir(resolve(options.output, ".."), { recursive: true });
  await writeFile(options.output, renderReport(results, targets, options));
  log(`wrote ${options.output} and ${join(options.rawDir, "results.json")}`);
  for (const target of targets) {
    process.stdout.write(`${targetLine(target)}\n`);
  }
}

async function run(options: BenchOptions, resources: Resources): Promise<BenchResults> {
  const startedAt = new Date();
  const machine = describeMachine();
  const versions = await describeVersions();
  log(`${machine.cpuModel}, ${machine.cores} cores, load average ${machine.loadAtStart.map((load) => load.toFixed(2)).join(" ")}`);

  const sandbox = await startSandbox({ name: "bench" });
  resources.sandbox = sandbox;
  log(`sandbox ${sandbox.netns} in ${sandbox.dir}`);
  const libvirtdPid = Number((await readFile(join(sandbox.dir, "libvirtd.pid"), "utf8")).trim());
  const libvirt = await LibvirtClient.connect({ socketPath: sandbox.libvirtSocket });
  resources.libvirt = libvirt;

  const agentLogFile = join(options.rawDir, "agent.log");
  const agent = await startAgent(sandbox, { logLevel: "info", logFile: agentLogFile });
  resources.agents.push(agent);
  const agentPid = nodeProcessOf(agent.pid);
  const agentClient = createNetAgentClient({ address: agent.address, defaultDeadlineMs: 120_000 });
  resources.clients.push(agentClient);

  const counter = new LibvirtCallCounter(join(sandbox.dir, "counted-libvirt-sock"), sandbox.libvirtSocket);
  await counter.start();
  resources.counter = counter;
  const countedAgent = await startAgent(sandbox, {
    name: "agent-counted",
    libvirtSocket: counter.socketPath,
    logLevel: "info",
    logFile: join(options.rawDir, "agent-counted.log"),
  });
  resources.agents.push(countedAgent);
  const countedClient = createNetAgentClient({ address: countedAgent.address, defaultDeadlineMs: 120_000 });
  resources.clients.push(countedClient);

  const context: BenchContext = {
    options,
    sandbox,
    libvirtUri: `qemu:///system?socket=${sandbox.libvirtSocket}`,
    libvirtdPid,
    libvirt,
    agent,
    agentLogFile,
    agentPid,
    agentClient,
    countedClient,
    counter,
    rawDir: options.rawDir,
    log,
  };

  await new Promise((resolveWait) => setTimeout(resolveWait, 1_000));
  const idle = readMemory(agentPid);
  log(`agent (pid ${agentPid}) idle VmRSS ${formatMB(idle.vmRssKiB * 1024)}`);

  const createDelete = await measureCreateDelete(context);
  const watchEvents = await measureEvents(context);

  const sizes = options.listSizes;
  await defineListNetworks(libvirt, 0, sizes[0]);
  await waitUntilListed(context, sizes[0]);
  const getNetwork = await measureGetNetwork(context, listNetworkName(0), sizes[0]);

  const listNetworks: ListSizeResult[] = [];
  let defined = sizes[0];
  for (const size of sizes) {
    if (size > defined) {
      log(`defining networks ${defined}-${size - 1}`);
      await defineListNetworks(libvirt, defined, size);
    }
    defined = size;
    listNetworks.push(await measureListNetworks(context, size));
  }

  const loaded = await measureLoadedMemory(context, defined);
  countedClient.close();
  agentClient.close();
  await Promise.all([agent.stop(), countedAgent.stop()]);

  const partial: BenchResults = {
    startedAt: startedAt.toISOString(),
    durationSeconds: 0,
    quick: options.quick,
    machine,
    versions,
    getNetwork,
    listNetworks,
    createDelete,
    watchEvents,
    memory: { idle, loaded, echoIdle: getNetwork.echoIdleMemory },
    investigations: [],
  };
  const investigations = options.profile ? await investigateMissedTargets(context, partial, evaluateTargets(partial), defined) : [];

  machine.loadAtEnd = loadavg();
  return { ...partial, investigations, durationSeconds: (performance.now() - started) / 1000 };
}

async function measureEvents(context: BenchContext): Promise<WatchEventsResults | NotAvailable> {
  const unavailable = watchEventsUnavailable();
  if (unavailable !== undefined) {
    context.log(`WatchEvents: not available: ${unavailable.reason}`);
    return unavailable;
  }
  context.log(`WatchEvents: opening ${context.options.watchers} watchers`);
  try {
    const watchers = await openWatchers(context.agent.address, context.libvirt, context.options.watchers);
    try {
      return await measureWatchEvents(context.libvirt, watchers, context.options.eventChanges);
    } finally {
      watchers.close();
    }
  } catch (error) {
    context.log(`WatchEvents: failed: ${(error as Error).message}`);
    return { available: false, reason: `WatchEvents failed: ${(error as Error).message}` };
  }
}

/** Reads the agent's memory with `networks` networks defined and, when WatchEvents exists, the watchers open. */
async function measureLoadedMemory(context: BenchContext, networks: number): Promise<MemoryResults["loaded"]> {
  let watchers: { count: number; close(): void } | undefined;
  if (watchEventsUnavailable() === undefined) {
    try {
      watchers = await openWatchers(context.agent.address, context.libvirt, context.options.watchers);
    } catch (error) {
      context.log(`memory: could not open watchers, measuring without them: ${(error as Error).message}`);
    }
  }
  // Settles the agent after the last calls, so the reading is of an agent at rest.
  await new Promise((resolveWait) => setTimeout(resolveWait, 2_000));
  const memory = readMemory(context.agentPid);
  watchers?.close();
  context.log(`agent VmRSS ${formatMB(memory.vmRssKiB * 1024)} with ${networks} networks and ${watchers?.count ?? 0} watchers`);
  return { ...memory, networks, watchers: watchers?.count ?? 0 };
}

/** Deletes what an earlier run wrote to the raw folder: server logs and profiles. */
async function prepareRawDir(rawDir: string): Promise<void> {
  await mkdir(rawDir, { recursive: true });
  await rm(join(rawDir, "profiles"), { recursive: true, force: true });
  for (const name of await readdir(rawDir)) {
    if (/^(agent|echo).*\.log$/.test(name)) {
      await rm(join(rawDir, name));
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: error: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
