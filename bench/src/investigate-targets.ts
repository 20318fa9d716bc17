// The reruns of the agent that explain each missed target.

import type { NetAgentClient } from "@netagent/client";

import type { BenchContext } from "./context";
import { defineListNetworks, listNetworkName, undefineListNetworks } from "./fixtures";
import { profileAgent, runFreshAgent } from "./investigations";
import { runConcurrent, runSequential } from "./load";
import { CREATE_REQUEST } from "./measurements/create-delete";
import { measureWatchEvents, openWatchers, watchEventsUnavailable } from "./measurements/watch-events";
import { BenchResults, Investigation, V8_DEFAULT_SEMI_SPACE } from "./results";
import { median } from "./stats";
import { listTargetSize, TargetResult } from "./targets";

/**
 * Node.js options to compare agent memory under, each added to those of
 * server/bin/netagent. Under fast allocation V8 grows the young generation to
 * two semi-spaces of 16 MiB each (its new_space reached 32 MiB in Node.js
 * 20.20 on x86-64) and keeps them; --max-semi-space-size caps each
 * semi-space, in MiB, and the launcher sets 1.
 */
const MEMORY_VARIANTS: Array<{ label: string; nodeOptions: string[] }> = [
  { label: V8_DEFAULT_SEMI_SPACE, nodeOptions: ["--max-semi-space-size=16"] },
  { label: "server/bin/netagent's --max-semi-space-size=1", nodeOptions: [] },
];

/** CreateNetwork + DeleteNetwork cycles that the profiled agent runs. */
export const PROFILED_CYCLES = 5;

/**
 * Reruns the agent's part of each missed target under a profiler: a heap
 * profile for memory, a CPU profile for the others. `defined` is the number
 * of list networks defined now; the reruns change it to what each
 * measurement had.
 */
export async function investigateMissedTargets(
  context: BenchContext,
  results: BenchResults,
  targets: TargetResult[],
  defined: number,
): Promise<Investigation[]> {
  const missed = new Set(targets.filter((target) => target.status === "fail").map((target) => target.id));
  const investigations: Investigation[] = [];
  const { options } = context;
  let networks = defined;
  const resize = async (size: number) => {
    if (size < networks) {
      await undefineListNetworks(context.libvirt, size, networks);
    } else if (size > networks) {
      await defineListNetworks(context.libvirt, networks, size);
    }
    networks = size;
  };

  if (missed.has("5")) {
    const { networks: largest, watchers: watcherCount } = results.memory.loaded;
    await resize(largest);
    const listTimes: number[] = [];
    const memoryWorkload = async (client: NetAgentClient, address: string) => {
      for (let i = 0; i < options.listRounds; i++) {
        const started = performance.now();
        await client.networks.listNetworks({ pageSize: 1000 });
        listTimes.push(performance.now() - started);
      }
      const watchers = watcherCount > 0 ? await openWatchers(address, context.libvirt, watcherCount) : undefined;
      await new Promise((resolveWait) => setTimeout(resolveWait, 2_000));
      watchers?.close();
    };

    const investigation = await profileAgent(
      context,
      { name: "agent-memory", kind: "heap", targets: ["5"], networks, workload: `${options.listRounds} ListNetworks at ${largest} networks, then ${watcherCount} watchers, 2 s at rest` },
      memoryWorkload,
    );
    investigation.variants = [];
    for (const { label, nodeOptions } of MEMORY_VARIANTS) {
      context.log(`agent memory with Node.js options ${label}`);
      listTimes.length = 0;
      const run = await runFreshAgent(context, `agent-memory-${investigation.variants.length}`, nodeOptions, memoryWorkload, networks);
      investigation.variants.push({ nodeOptions: label, memory: run.memory, listMs: median(listTimes) });
    }
    investigations.push(investigation);
  }

  if (missed.has("2")) {
    const size = listTargetSize(results);
    await resize(size);
    const calls = options.listRounds * 4;
    investigations.push(
      await profileAgent(context, { name: "agent-list", kind: "cpu", targets: ["2"], networks, workload: `${calls} ListNetworks at ${size} networks, one at a time` }, async (client) => {
        for (let i = 0; i < calls; i++) {
          await client.networks.listNetworks({ pageSize: 1000 });
        }
      }),
    );
  }

  const getTargets = ["1a", "1b"].filter((id) => missed.has(id));
  if (getTargets.length > 0) {
    await resize(results.getNetwork.networksDefined);
    const { sequential, concurrent } = options;
    investigations.push(
      await profileAgent(
        context,
        {
          name: "agent-get",
          kind: "cpu",
          targets: getTargets,
          networks,
          workload: `GetNetwork one at a time for ${sequential.seconds} s, then with ${concurrent.inFlight} in flight for ${concurrent.seconds} s`,
        },
        async (client) => {
          const call = () => client.networks.getNetwork({ name: listNetworkName(0) });
          await runSequential(call, sequential);
          await runConcurrent(call, concurrent.inFlight, concurrent);
        },
      ),
    );
  }

  if (missed.has("3")) {
    const cycles = PROFILED_CYCLES;
    const network = results.createDelete.network;
    investigations.push(
      await profileAgent(context, { name: "agent-create", kind: "cpu", targets: ["3"], networks, workload: `${cycles} CreateNetwork + DeleteNetwork cycles` }, async (client) => {
        for (let i = 0; i < cycles; i++) {
          await client.networks.createNetwork(CREATE_REQUEST);
          await client.networks.deleteNetwork({ name: network });
        }
      }),
    );
  }

  if (missed.has("4") && watchEventsUnavailable() === undefined) {
    investigations.push(
      await profileAgent(
        context,
        { name: "agent-events", kind: "cpu", targets: ["4"], networks, workload: `${options.watchers} watchers, ${options.eventChanges} network definitions` },
        async (_client, address) => {
          const watchers = await openWatchers(address, context.libvirt, options.watchers);
          try {
            await measureWatchEvents(context.libvirt, watchers, options.eventChanges);
          } finally {
            watchers.close();
          }
        },
      ),
    );
  }
  return investigations;
}
