// GetNetwork: the agent against two bare echo servers and python3-libvirt.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import { createNetAgentClient, GetNetworkResponse, NetAgentClient } from "@netagent/client";

import { handlerDurationsUs, logOffset } from "../agent-log";
import type { BenchContext } from "../context";
import { totalCalls } from "../libvirt-call-counter";
import { LoadResult, runConcurrent, runSequential } from "../load";
import { EchoStack, runPython, ServerProcess, startEchoServer } from "../processes";
import { CpuMeter, MemorySample, readMemory } from "../procfs";
import { LatencySummary, median, summarize } from "../stats";

export const AGENT = "agent";
export const ECHO_GRPC_JS = "echo (grpc-js)";
export const ECHO_NICE_GRPC = "echo (nice-grpc)";
export const ECHO_MIDDLEWARE = "echo (agent middleware)";
export const PYTHON = "python3-libvirt";

const GET_NETWORK_METHOD = "/netagent.v1.NetworkService/GetNetwork";

/** Calls before each gRPC block that are not measured, so that the JIT and the channel are warm. */
const WARMUP_CALLS = 200;

/** Throughput of one client with many calls in flight. */
export interface ThroughputResult {
  /** Median over the rounds. */
  callsPerSecond: number;
  perRound: number[];
  /** Latency of every call in the concurrent blocks, in microseconds. */
  latencyUs: LatencySummary;
  /** CPU milliseconds per call of each process, over all concurrent blocks. */
  cpuMsPerCall: Record<string, number>;
}

export interface GetNetworkResults {
  network: string;
  /** Networks defined in libvirtd while GetNetwork ran. */
  networksDefined: number;
  responseBytes: number;
  rounds: number;
  inFlight: number;
  /** Latency of one call at a time, in microseconds, over all rounds. */
  sequential: Record<string, LatencySummary>;
  concurrent: Record<string, ThroughputResult>;
  /**
   * Time inside the agent per call from its call log (middleware to
   * response), in microseconds, over the measured blocks.
   */
  agentHandlerUs: { sequential: LatencySummary; concurrent: LatencySummary };
  /** libvirt calls per agent GetNetwork, by procedure. */
  libvirtCallsPerRequest: Record<string, number>;
  /** Memory of each echo server just after it started. */
  echoIdleMemory: Record<string, MemorySample>;
}

interface PythonLoad extends LoadResult {
  warmupCalls: number;
  cpuSeconds: number;
}

/** One measured block: the calls, the CPU each process used, and the agent's own view of each call. */
interface Block {
  load: LoadResult;
  cpu: Record<string, number>;
  handlerUs: number[];
}

interface Client {
  label: string;
  sequential(): Promise<Block>;
  concurrent(): Promise<Block>;
}

/** Samples gathered for one client over all rounds. */
class ClientSamples {
  readonly sequential: number[] = [];
  readonly throughput: number[] = [];
  readonly concurrentLatency: number[] = [];
  readonly handlerSequential: number[] = [];
  readonly handlerConcurrent: number[] = [];
  private calls = 0;
  private readonly cpuSeconds: Record<string, number> = {};

  addCpu(calls: number, used: Record<string, number>): void {
    this.calls += calls;
    for (const [process, seconds] of Object.entries(used)) {
      this.cpuSeconds[process] = (this.cpuSeconds[process] ?? 0) + seconds;
    }
  }

  throughputResult(): ThroughputResult {
    return {
      callsPerSecond: median(this.throughput),
      perRound: this.throughput,
      latencyUs: summarize(this.concurrentLatency),
      cpuMsPerCall: Object.fromEntries(Object.entries(this.cpuSeconds).map(([process, seconds]) => [process, (seconds * 1000) / this.calls])),
    };
  }
}

/**
 * Measures GetNetwork of `network` sequentially and with options.concurrent.inFlight
 * calls in flight, in rounds that rotate the order of the clients so that
 * load from elsewhere on the machine falls on all of them alike.
 */
export async function measureGetNetwork(context: BenchContext, network: string, networksDefined: number): Promise<GetNetworkResults> {
  const { options } = context;
  const response = await context.agentClient.networks.getNetwork({ name: network });
  const responseFile = join(context.sandbox.dir, "echo-response.json");
  await writeFile(responseFile, JSON.stringify(GetNetworkResponse.toJSON(response)));
  const responseBytes = GetNetworkResponse.encode(response).finish().length;

  const echoServers: ServerProcess[] = [];
  const echoClients: NetAgentClient[] = [];
  const echoIdleMemory: Record<string, MemorySample> = {};
  try {
    const clients: Client[] = [grpcClient(context, AGENT, context.agentClient, context.agentPid, network, context.agentLogFile)];
    const stacks: Array<[string, EchoStack]> = [
      [ECHO_GRPC_JS, "grpc-js"],
      [ECHO_NICE_GRPC, "nice-grpc"],
      [ECHO_MIDDLEWARE, "agent-middleware"],
    ];
    for (const [label, stack] of stacks) {
      const server = await startEchoServer(context.sandbox, stack, responseFile, join(context.rawDir, `echo-${stack}.log`));
      echoServers.push(server);
      echoIdleMemory[label] = readMemory(server.pid);
      const client = createNetAgentClient({ address: server.address, defaultDeadlineMs: 60_000 });
      echoClients.push(client);
      clients.push(grpcClient(context, label, client, server.pid, network));
    }
    clients.push(pythonClient(context, network));

    const samples = new Map(clients.map((client) => [client.label, new ClientSamples()]));
    for (let round = 0; round < options.rounds; round++) {
      const order = clients.map((_, i) => clients[(i + round) % clients.length]);
      for (const client of order) {
        const entry = samples.get(client.label)!;
        context.log(`GetNetwork round ${round + 1}/${options.rounds}: ${client.label}, one call at a time`);
        const seq = await client.sequential();
        entry.sequential.push(...seq.load.latenciesUs);
        entry.handlerSequential.push(...seq.handlerUs);

        context.log(`GetNetwork round ${round + 1}/${options.rounds}: ${client.label}, ${options.concurrent.inFlight} calls in flight`);
        const con = await client.concurrent();
        entry.throughput.push(con.load.calls / con.load.seconds);
        entry.concurrentLatency.push(...con.load.latenciesUs);
        entry.handlerConcurrent.push(...con.handlerUs);
        entry.addCpu(con.load.calls, con.cpu);
      }
    }

    const agent = samples.get(AGENT)!;
    return {
      network,
      networksDefined,
      responseBytes,
      rounds: options.rounds,
      inFlight: options.concurrent.inFlight,
      sequential: Object.fromEntries([...samples].map(([label, entry]) => [label, summarize(entry.sequential)])),
      concurrent: Object.fromEntries([...samples].map(([label, entry]) => [label, entry.throughputResult()])),
      agentHandlerUs: { sequential: summarize(agent.handlerSequential), concurrent: summarize(agent.handlerConcurrent) },
      libvirtCallsPerRequest: await countLibvirtCalls(context, network),
      echoIdleMemory,
    };
  } finally {
    echoClients.forEach((client) => client.close());
    await Promise.all(echoServers.map((server) => server.stop()));
  }
}

function grpcClient(context: BenchContext, label: string, client: NetAgentClient, serverPid: number, network: string, logFile?: string): Client {
  const { sequential, concurrent } = context.options;
  const call = () => client.networks.getNetwork({ name: network });

  // Runs one block after its warm-up, metering CPU and reading the server's call log around the measured calls only.
  const measure = async (warmup: () => Promise<unknown>, block: () => Promise<LoadResult>): Promise<Block> => {
    await warmup();
    const meter = new CpuMeter({ libvirtd: context.libvirtdPid, [label]: serverPid });
    const from = logFile === undefined ? 0 : await logOffset(logFile);
    meter.start();
    const load = await block();
    const cpu = meter.stop();
    const handlerUs = logFile === undefined ? [] : await handlerDurationsUs(logFile, from, await logOffset(logFile), GET_NETWORK_METHOD);
    return { load, cpu, handlerUs };
  };

  return {
    label,
    sequential: () =>
      measure(
        () => runSequential(call, { calls: WARMUP_CALLS, seconds: sequential.seconds }),
        () => runSequential(call, sequential),
      ),
    concurrent: () =>
      measure(
        () => runConcurrent(call, concurrent.inFlight, { calls: WARMUP_CALLS * 5, seconds: concurrent.seconds }),
        () => runConcurrent(call, concurrent.inFlight, concurrent),
      ),
  };
}

function pythonClient(context: BenchContext, network: string): Client {
  const { sequential, concurrent, pythonThreads, pythonConnections } = context.options;
  const timeoutMs = (Math.max(sequential.seconds, concurrent.seconds) * 2 + 60) * 1000;

  const measure = async (args: string[]): Promise<Block> => {
    const meter = new CpuMeter({ libvirtd: context.libvirtdPid });
    meter.start();
    const load = await runPython<PythonLoad>("get_network.py", [context.libvirtUri, network, ...args], { timeoutMs });
    const used = meter.stop();
    // libvirtd was metered over the whole script, warm-up calls included, so
    // its share is scaled to the measured calls. The bench client only waited.
    const measuredShare = load.calls / (load.calls + load.warmupCalls);
    return { load, cpu: { libvirtd: used.libvirtd * measuredShare, [PYTHON]: load.cpuSeconds }, handlerUs: [] };
  };

  return {
    label: PYTHON,
    sequential: () => measure(["sequential", String(sequential.calls), String(sequential.seconds), String(WARMUP_CALLS)]),
    concurrent: () =>
      measure(["concurrent", String(concurrent.calls), String(concurrent.seconds), String(WARMUP_CALLS * 5), String(pythonThreads), String(pythonConnections)]),
  };
}

/** Counts the libvirt calls of GetNetwork through the counted agent. */
async function countLibvirtCalls(context: BenchContext, network: string): Promise<Record<string, number>> {
  const calls = 20;
  await context.countedClient.networks.getNetwork({ name: network });
  context.counter.take();
  for (let i = 0; i < calls; i++) {
    await context.countedClient.networks.getNetwork({ name: network });
  }
  const counts = context.counter.take();
  const perRequest = Object.fromEntries(Object.entries(counts).map(([procedure, count]) => [procedure, count / calls]));
  context.log(`GetNetwork makes ${totalCalls(perRequest)} libvirt calls per request`);
  return perRequest;
}
