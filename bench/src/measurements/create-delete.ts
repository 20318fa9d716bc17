// CreateNetwork and DeleteNetwork of a NAT network with DHCP: the agent against python3-libvirt.

import { NetworkType } from "@netagent/client";
import type { NetworkSpecInput } from "@netagent/server/dist/networks/model";
import { validateSpec } from "@netagent/server/dist/networks/validate";
import { renderNetworkXml } from "@netagent/server/dist/networks/xml";

import type { BenchContext } from "../context";
import { totalCalls } from "../libvirt-call-counter";
import { runPython } from "../processes";
import { median } from "../stats";

/** Cycle times of one client, in milliseconds. */
export interface CycleTimes {
  /** Median of create + delete. */
  medianCycleMs: number;
  medianCreateMs: number;
  medianDeleteMs: number;
  cyclesMs: Array<{ createMs: number; deleteMs: number }>;
}

export interface CreateDeleteResults {
  network: string;
  cycles: number;
  agent: CycleTimes;
  python: CycleTimes;
  /** libvirt calls of one agent CreateNetwork and one DeleteNetwork, by procedure. */
  libvirtCalls: { create: Record<string, number>; delete: Record<string, number> };
}

const NETWORK: NetworkSpecInput = {
  name: "bench-nat",
  type: "nat",
  ipv4: { address: "10.250.0.1/24", dhcpRanges: [{ start: "10.250.0.2", end: "10.250.0.254" }] },
};

/** The CreateNetwork request for NETWORK. */
export const CREATE_REQUEST = {
  network: {
    name: NETWORK.name,
    type: NetworkType.NETWORK_TYPE_NAT,
    bridge: "",
    ipv4: { address: NETWORK.ipv4!.address, dhcpRanges: NETWORK.ipv4!.dhcpRanges },
  },
};

/** Cycles per round of each client; rounds alternate between the agent and python3-libvirt. */
export const CYCLES_PER_ROUND = 5;

/**
 * Creates and deletes one NAT network with DHCP options.cycles times with
 * each client. python3-libvirt defines the XML that the agent renders for the
 * same request, so both make libvirt build the same network.
 */
export async function measureCreateDelete(context: BenchContext): Promise<CreateDeleteResults> {
  const xml = renderNetworkXml(validateSpec(NETWORK, "network.").spec);
  const request = CREATE_REQUEST;
  const agentCycle = async () => {
    const started = performance.now();
    await context.agentClient.networks.createNetwork(request);
    const created = performance.now();
    await context.agentClient.networks.deleteNetwork({ name: NETWORK.name });
    return { createMs: created - started, deleteMs: performance.now() - created };
  };

  // One unmeasured cycle each warms up both clients and libvirtd.
  await agentCycle();
  await runPython("create_delete.py", [context.libvirtUri, "1"], { input: xml, timeoutMs: 60_000 });

  const agent: CycleTimes["cyclesMs"] = [];
  const python: CycleTimes["cyclesMs"] = [];
  for (let done = 0; done < context.options.cycles; done += CYCLES_PER_ROUND) {
    const count = Math.min(CYCLES_PER_ROUND, context.options.cycles - done);
    context.log(`CreateNetwork + DeleteNetwork cycles ${done + 1}-${done + count} of ${context.options.cycles}: agent, then python3-libvirt`);
    for (let i = 0; i < count; i++) {
      agent.push(await agentCycle());
    }
    const result = await runPython<{ cycles: CycleTimes["cyclesMs"] }>("create_delete.py", [context.libvirtUri, String(count)], {
      input: xml,
      timeoutMs: 60_000 + count * 30_000,
    });
    python.push(...result.cycles);
  }

  context.counter.take();
  await context.countedClient.networks.createNetwork(request);
  const create = context.counter.take();
  await context.countedClient.networks.deleteNetwork({ name: NETWORK.name });
  const deleted = context.counter.take();
  context.log(`CreateNetwork makes ${totalCalls(create)} libvirt calls, DeleteNetwork ${totalCalls(deleted)}`);

  return { network: NETWORK.name, cycles: context.options.cycles, agent: cycleTimes(agent), python: cycleTimes(python), libvirtCalls: { create, delete: deleted } };
}

function cycleTimes(cycles: CycleTimes["cyclesMs"]): CycleTimes {
  return {
    medianCycleMs: median(cycles.map((c) => c.createMs + c.deleteMs)),
    medianCreateMs: median(cycles.map((c) => c.createMs)),
    medianDeleteMs: median(cycles.map((c) => c.deleteMs)),
    cyclesMs: cycles,
  };
}
