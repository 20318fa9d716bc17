// ListNetworks with full details: the agent against python3-libvirt and virsh.

import type { BenchContext } from "../context";
import { waitUntilListed } from "../settle";
import { totalCalls } from "../libvirt-call-counter";
import { runPython, virshListDetailed, virshNetList } from "../processes";
import { readCpuSeconds } from "../procfs";
import { median } from "../stats";

export const VIRSH_DETAILED = "virsh net-dumpxml + net-info";
export const VIRSH_NET_LIST = "virsh net-list --all";

/** Wall times of one client at one size. */
export interface ListTimes {
  /** Median over the rounds, in milliseconds. */
  medianMs: number;
  runsMs: number[];
  /** libvirtd CPU milliseconds per list, averaged over the rounds. */
  libvirtdCpuMs: number;
  /** CPU milliseconds per list of the agent or of the python process; absent for virsh. */
  clientCpuMs?: number;
}

export interface ListSizeResult {
  networks: number;
  agent: ListTimes;
  python: ListTimes;
  virshDetailed: ListTimes;
  virshNetList: ListTimes;
  /** libvirt calls of one agent ListNetworks, by procedure. */
  libvirtCalls: Record<string, number>;
}

interface PythonList {
  runs: Array<{ networks: number; ms: number }>;
  cpuSeconds: number;
}

/** Page size that returns up to 1,000 networks in one response, the agent's maximum. */
const PAGE_SIZE = 1000;

/**
 * Lists `size` networks with each client, options.listRounds times, one
 * client after the other in each round. Every client must see exactly
 * `size` networks.
 */
export async function measureListNetworks(context: BenchContext, size: number): Promise<ListSizeResult> {
  const { listRounds } = context.options;
  const timeoutMs = 120_000;
  const samples = { agent: new Samples(), python: new Samples(), virshDetailed: new Samples(), virshNetList: new Samples() };

  // Also warms up the agent's code paths for this size.
  await waitUntilListed(context, size);

  for (let round = 0; round < listRounds; round++) {
    context.log(`ListNetworks at ${size} networks, round ${round + 1}/${listRounds}`);

    let libvirtd = readCpuSeconds(context.libvirtdPid);
    const agentCpu = readCpuSeconds(context.agentPid);
    const started = performance.now();
    const response = await context.agentClient.networks.listNetworks({ pageSize: PAGE_SIZE });
    samples.agent.add(performance.now() - started, readCpuSeconds(context.libvirtdPid) - libvirtd, readCpuSeconds(context.agentPid) - agentCpu);
    expectCount("the agent", response.networks.length, size);

    libvirtd = readCpuSeconds(context.libvirtdPid);
    const python = await runPython<PythonList>("list_networks.py", [context.libvirtUri, "1", "1"], { timeoutMs });
    // The script lists twice (one warm-up), so libvirtd's CPU time is halved.
    samples.python.add(python.runs[0].ms, (readCpuSeconds(context.libvirtdPid) - libvirtd) / 2, python.cpuSeconds);
    expectCount("python3-libvirt", python.runs[0].networks, size);

    libvirtd = readCpuSeconds(context.libvirtdPid);
    const detailed = await virshListDetailed(context.libvirtUri, timeoutMs);
    samples.virshDetailed.add(detailed.ms, readCpuSeconds(context.libvirtdPid) - libvirtd);
    expectCount("virsh net-list --name", detailed.networks, size);

    libvirtd = readCpuSeconds(context.libvirtdPid);
    const brief = await virshNetList(context.libvirtUri, timeoutMs);
    samples.virshNetList.add(brief.ms, readCpuSeconds(context.libvirtdPid) - libvirtd);
    expectCount("virsh net-list --all", brief.networks, size);
  }

  context.counter.take();
  await context.countedClient.networks.listNetworks({ pageSize: PAGE_SIZE });
  const libvirtCalls = context.counter.take();
  context.log(`ListNetworks at ${size} networks makes ${totalCalls(libvirtCalls)} libvirt calls`);

  return {
    networks: size,
    agent: samples.agent.result(),
    python: samples.python.result(),
    virshDetailed: samples.virshDetailed.result(),
    virshNetList: samples.virshNetList.result(),
    libvirtCalls,
  };
}

function expectCount(client: string, seen: number, expected: number): void {
  if (seen !== expected) {
    throw new Error(`${client} listed ${seen} networks, expected ${expected}: another process changed the sandbox's networks`);
  }
}

class Samples {
  private readonly ms: number[] = [];
  private libvirtdSeconds = 0;
  private clientSeconds: number | undefined;

  add(ms: number, libvirtdSeconds: number, clientSeconds?: number): void {
    this.ms.push(ms);
    this.libvirtdSeconds += libvirtdSeconds;
    if (clientSeconds !== undefined) {
      this.clientSeconds = (this.clientSeconds ?? 0) + clientSeconds;
    }
  }

  result(): ListTimes {
    const count = this.ms.length;
    return {
      medianMs: median(this.ms),
      runsMs: this.ms,
      libvirtdCpuMs: (this.libvirtdSeconds * 1000) / count,
      clientCpuMs: this.clientSeconds === undefined ? undefined : (this.clientSeconds * 1000) / count,
    };
  }
}
