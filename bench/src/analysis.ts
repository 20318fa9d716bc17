// Explanations of missed targets (cause and remedy), written from the run's own measurements.

import { AGENT, ECHO_GRPC_JS, ECHO_MIDDLEWARE, ECHO_NICE_GRPC, PYTHON } from "./measurements/get-network";
import { PROFILED_CYCLES } from "./investigate-targets";
import { isRuntime, ProfileSummary } from "./profile";
import { BenchResults, Investigation, V8_DEFAULT_SEMI_SPACE } from "./results";
import { quantile } from "./stats";
import { formatMB, formatMs, formatRatio, formatUs, listTargetSize, RSS_LIMIT_BYTES, TargetResult } from "./targets";

/** Sentences for the page: the measured cause of a miss and what would remove it. */
export interface Explanation {
  cause: string[];
  remedy: string[];
}

/** libvirt calls that python3-libvirt makes per create (define, start, autostart) plus per delete (destroy, undefine). */
const PYTHON_CYCLE_CALLS = 5;

export function explainMissedTarget(target: TargetResult, results: BenchResults, investigation: Investigation | undefined): Explanation {
  const profile = investigation?.summary;
  switch (target.id) {
    case "1a":
      return explainThroughput(results, profile);
    case "1b":
      return explainLatency(results);
    case "2":
      return explainList(results, profile);
    case "3":
      return explainCreateDelete(results, profile);
    case "4":
      return explainEvents(profile);
    case "5":
      return explainMemory(results, investigation);
    default:
      return { cause: [], remedy: [] };
  }
}

function explainThroughput(results: BenchResults, profile: ProfileSummary | undefined): Explanation {
  const { getNetwork, machine } = results;
  const rate = (label: string) => getNetwork.concurrent[label].callsPerSecond;
  const cpu = (label: string) => getNetwork.concurrent[label].cpuMsPerCall;
  const agentCpu = cpu(AGENT);
  const echoCpu = cpu(ECHO_GRPC_JS);
  const agentTotal = sum(agentCpu);
  const echoTotal = sum(echoCpu);
  const libvirtCalls = sum(getNetwork.libvirtCallsPerRequest);
  const versusEcho = (label: string) => formatRatio(rate(label) / rate(ECHO_GRPC_JS));
  // Within 25% of each other, the CPU costs explain the throughput ratio on a saturated machine.
  const costTracksThroughput = Math.abs(Math.log((echoTotal / agentTotal) / (rate(AGENT) / rate(ECHO_GRPC_JS)))) < Math.log(1.25);

  const cause = [
    `With ${getNetwork.inFlight} calls in flight, one agent GetNetwork cost ${ms3(agentTotal)} of CPU over all processes`,
    `(agent ${ms3(agentCpu[AGENT])}, libvirtd ${ms3(agentCpu.libvirtd)}, bench client ${ms3(agentCpu["bench client"])});`,
    `one call to the plain grpc-js echo cost ${ms3(echoTotal)} (server ${ms3(echoCpu[ECHO_GRPC_JS])}, bench client ${ms3(echoCpu["bench client"])}).`,
    `All of them share the machine's ${machine.cores} cores with other work (load average ${machine.loadAtStart[0].toFixed(1)} at the start).`,
    costTracksThroughput
      ? `Throughput follows CPU cost: the inverse ratio of the costs is ${formatRatio(echoTotal / agentTotal)}, the measured throughput ratio ${versusEcho(AGENT)}.`
      : `The inverse ratio of the costs is ${formatRatio(echoTotal / agentTotal)} and the measured throughput ratio ${versusEcho(AGENT)}; the gap shows how much the other work on the machine moved the rounds.`,
    `Step by step against the plain grpc-js echo: the nice-grpc echo reached ${versusEcho(ECHO_NICE_GRPC)}, the same with the agent's middleware and call log ${versusEcho(ECHO_MIDDLEWARE)},`,
    libvirtCalls > 0
      ? `and the agent, whose handler adds ${libvirtCalls} libvirt calls and an XML parse to every GetNetwork, ${versusEcho(AGENT)}.`
      : `and the agent, whose handler makes no libvirt call, ${versusEcho(AGENT)}.`,
  ];
  if (profile !== undefined) {
    cause.push(`In the profile, ${profileLeaders(profile)}.`);
    const writes = profile.topFunctions.find((row) => row.name.startsWith("writeBuffer "));
    const writer = writes === undefined ? undefined : profile.callersOf[writes.name]?.[0];
    if (writes !== undefined && writes.share > 0.05 && writer !== undefined) {
      cause.push(
        `The native socket write (writeBuffer) alone takes ${percent(writes.share)}, ${percent(writer.share)} of it called from ${writer.name}` +
          (writer.name === "netagent server/libvirt" ? ", which writes each libvirt call's packet with its own socket write." : "."),
      );
    }
  }

  const remedy: string[] = [];
  if (libvirtCalls > 0) {
    const libvirtShare = profile === undefined ? undefined : callerShare(profile, "netagent server/libvirt") + callerShare(profile, "fast-xml-parser");
    remedy.push(
      `Serve GetNetwork from the event-driven network cache: a cache hit makes no libvirt call, which takes libvirtd's ${ms3(agentCpu.libvirtd)} per call off the machine`,
      libvirtShare === undefined ? "and the libvirt client and XML parsing off the agent." : `and the libvirt client and XML parsing (${percent(libvirtShare)} of the agent's busy time) off the agent.`,
    );
  }
  const middlewareRatio = rate(ECHO_MIDDLEWARE) / rate(ECHO_GRPC_JS);
  if (middlewareRatio < 0.9) {
    remedy.push(
      `That alone is not enough: with a handler that does no work, the agent's stack (nice-grpc, its middleware and call log) reached ${formatRatio(middlewareRatio)} here,`,
      `so the target against plain grpc-js also needs a cheaper per-call path, or the target judged against that stack.`,
    );
  }
  const logging = profile === undefined ? 0 : callerShare(profile, "pino") + callerShare(profile, "sonic-boom");
  if (logging >= 0.03) {
    remedy.push(`Writing each call's log line (pino and sonic-boom) takes ${percent(logging)} of the agent's busy time.`);
  }
  return { cause, remedy };
}

function explainLatency(results: BenchResults): Explanation {
  const { getNetwork } = results;
  const p50 = (label: string) => getNetwork.sequential[label].p50;
  const handler = getNetwork.agentHandlerUs.sequential.p50;
  const libvirtCalls = sum(getNetwork.libvirtCallsPerRequest);

  const cause = [
    `One call at a time (p50): plain grpc-js echo ${formatUs(p50(ECHO_GRPC_JS))}, nice-grpc echo ${formatUs(p50(ECHO_NICE_GRPC))},`,
    `nice-grpc echo with the agent's middleware and call log ${formatUs(p50(ECHO_MIDDLEWARE))}, agent ${formatUs(p50(AGENT))}.`,
    `The agent's call log puts ${formatUs(handler)} of its time inside the middleware chain, where the handler runs`,
    libvirtCalls > 0
      ? `its ${libvirtCalls} libvirt calls and the XML parsing; python3-libvirt needs ${formatUs(p50(PYTHON))} for the same five calls one after the other.`
      : "without any libvirt call.",
    `Outside that chain its calls spent about ${formatUs(Math.max(0, p50(AGENT) - handler))}, against ${formatUs(p50(ECHO_MIDDLEWARE))} for the whole of an echo call through the same middleware;`,
    `this run does not break that difference down further.`,
  ];
  const middlewareRatio = p50(ECHO_MIDDLEWARE) / p50(ECHO_GRPC_JS);
  const remedy = [
    libvirtCalls > 0
      ? `Serve GetNetwork from the event-driven network cache, which removes the libvirt round trips and the XML parsing from the handler.`
      : "Trim the handler and the middleware.",
    middlewareRatio > 1.2
      ? `Even a handler that takes no time stays at ${formatRatio(middlewareRatio)} the plain grpc-js echo with the agent's stack (nice-grpc, middleware, call log) in this run, so the target against plain grpc-js also needs a cheaper per-call path, or the target judged against that stack.`
      : `With the agent's stack alone at ${formatRatio(middlewareRatio)} the plain grpc-js echo, a cached handler has ${formatUs(1.2 * p50(ECHO_GRPC_JS) - p50(ECHO_MIDDLEWARE))} left within the target.`,
  ];
  return { cause, remedy };
}

function explainList(results: BenchResults, profile: ProfileSummary | undefined): Explanation {
  const size = listTargetSize(results);
  const entry = results.listNetworks.find((candidate) => candidate.networks === size)!;
  const calls = sum(entry.libvirtCalls);
  const goal = entry.python.medianMs / 10;

  const cause = [
    `At ${size} networks the agent made ${calls} libvirt calls per listing (flag-filtered lists for state, then one XML read per network, pipelined on one connection),`,
    `python3-libvirt ${1 + 2 * size} one after the other. libvirtd spent ${formatMs(entry.agent.libvirtdCpuMs)} of CPU per agent listing and ${formatMs(entry.python.libvirtdCpuMs)} per python3-libvirt listing;`,
    `the agent process ${formatMs(entry.agent.clientCpuMs ?? 0)}.`,
    `Ten times faster than python3-libvirt means ${formatMs(goal)} per listing,`,
    entry.agent.libvirtdCpuMs > goal
      ? `less than the ${formatMs(entry.agent.libvirtdCpuMs)} of CPU libvirtd alone needs to answer the agent's calls, so no client that reads every network's XML from libvirtd for each listing can reach it.`
      : `which the agent misses by ${formatMs(entry.agent.medianMs - goal)}.`,
  ];
  if (profile !== undefined) {
    cause.push(`In the profile, ${profileLeaders(profile)}.`);
  }

  const libvirtShare = profile === undefined ? undefined : callerShare(profile, "netagent server/libvirt") + callerShare(profile, "fast-xml-parser");
  const remedy = [
    `Answer ListNetworks from the event-driven cache of parsed networks, kept current by libvirt's network events and the agent's own writes.`,
    libvirtShare === undefined
      ? "A listing then makes no libvirt call and parses no XML; what remains is converting and encoding the networks."
      : `A listing then makes no libvirt call and parses no XML, which together took ${percent(libvirtShare)} of the agent's busy time here; what remains is converting and encoding ${size} networks.`,
  ];
  return { cause, remedy };
}

function explainCreateDelete(results: BenchResults, profile: ProfileSummary | undefined): Explanation {
  const { createDelete, getNetwork } = results;
  const agentCycles = createDelete.agent.cyclesMs.map((cycle) => cycle.createMs + cycle.deleteMs);
  const pythonCycles = createDelete.python.cyclesMs.map((cycle) => cycle.createMs + cycle.deleteMs);
  const difference = createDelete.agent.medianCycleMs - createDelete.python.medianCycleMs;
  const agentCalls = sum(createDelete.libvirtCalls.create) + sum(createDelete.libvirtCalls.delete);
  const perCallUs = getNetwork.sequential[PYTHON].p50 / 5;
  const extraMs = ((agentCalls - PYTHON_CYCLE_CALLS) * perCallUs) / 1000;
  const noisy = Math.max(spreadWidth(agentCycles), spreadWidth(pythonCycles)) >= Math.abs(difference);

  const cause = [
    `Median cycle: agent ${formatMs(createDelete.agent.medianCycleMs)} (create ${formatMs(createDelete.agent.medianCreateMs)}, delete ${formatMs(createDelete.agent.medianDeleteMs)}),`,
    `python3-libvirt ${formatMs(createDelete.python.medianCycleMs)} (create ${formatMs(createDelete.python.medianCreateMs)}, delete ${formatMs(createDelete.python.medianDeleteMs)}), a difference of ${formatMs(difference)}.`,
    `The middle half of the cycles spans ${formatSpread(agentCycles)} for the agent and ${formatSpread(pythonCycles)} for python3-libvirt.`,
    noisy
      ? `That spread is wider than the difference, because most of a cycle is libvirtd building and removing the bridge, dnsmasq and firewall rules, which varies from cycle to cycle on a shared machine.`
      : `The difference is wider than either spread, so it is not noise between cycles.`,
    `The agent makes ${agentCalls} libvirt calls per cycle against python3-libvirt's ${PYTHON_CYCLE_CALLS};`,
    `at python3-libvirt's ${formatUs(perCallUs)} per call (its sequential GetNetwork divided by five calls) the extra calls cost an estimated ${formatMs(extraMs)}.`,
  ];
  if (profile !== undefined) {
    cause.push(`The profiled agent was busy ${formatMs(profile.busy / PROFILED_CYCLES)} per cycle (${profileLeaders(profile)}).`);
  }
  const remedy = [
    `Take the agent's extra steps off the cycle: the lookup before define, the four calls and XML parse that describe the network after it starts (the agent can answer from the spec it just defined), and the state checks before delete.`,
  ];
  if (noisy) {
    remedy.push(`Because the cycles spread this much, a difference of a few percent needs more cycles on a quieter machine to be told from noise.`);
  }
  return { cause, remedy };
}

function explainEvents(profile: ProfileSummary | undefined): Explanation {
  if (profile === undefined) {
    return { cause: ["No profile was taken."], remedy: ["Rerun without --no-profile to see where the agent spends its time while it delivers events."] };
  }
  return {
    cause: [
      `While delivering events to the watchers the agent was busy ${formatMs(profile.busy)} of ${formatMs(profile.total)}; ${profileLeaders(profile)}.`,
      `Each event is encoded once and shared, but every watcher's copy still passes through the HTTP/2 write of grpc-js and each yield of nice-grpc's server middleware chain (metrics, call log, audit, status mapping), one stream after another on the agent's event loop, while the bench decodes all streams on the same two cores.`,
    ],
    remedy: [
      `Serve WatchEvents outside the per-message middleware (a handler on grpc-js's own server stream that keeps the call-level log and authorization), and send the events of one libvirt notification to a stream as one write.`,
      `Measure the watchers from another machine or at least other cores, so that the clients' decoding does not compete with the agent for the same two cores.`,
    ],
  };
}

function explainMemory(results: BenchResults, investigation: Investigation | undefined): Explanation {
  const { idle, loaded, echoIdle } = results.memory;
  const echo = Object.values(echoIdle)[0];
  const cause = [
    `Idle, the agent's VmRSS was ${kibMB(idle.vmRssKiB)}, of which ${kibMB(idle.rssFileKiB)} are file mappings (the node binary and libraries);`,
    echo === undefined ? "" : `a bare echo server idles at ${kibMB(echo.vmRssKiB)}, so Node.js and grpc-js make up most of the idle figure.`,
    `After the listings at ${loaded.networks} networks it was ${kibMB(loaded.vmRssKiB)} (peak ${kibMB(loaded.vmHwmKiB)}), and the growth is anonymous memory:`,
    `unnamed anonymous mappings, where V8 keeps its heap pages, went from ${kibMB(idle.anonymousMapsKiB)} to ${kibMB(loaded.anonymousMapsKiB)}, malloc's heap from ${kibMB(idle.mallocHeapKiB)} to ${kibMB(loaded.mallocHeapKiB)}.`,
  ];
  const heap = investigation?.summary;
  if (heap !== undefined) {
    cause.push(
      `The heap profile found ${formatMB(heap.total)} of sampled objects still alive when the agent stopped after the same work, so the growth is not data the agent keeps but heap space V8 grew to while it listed and did not return.`,
    );
  }

  const remedy: string[] = [];
  const variants = investigation?.variants ?? [];
  const defaults = variants.find((variant) => variant.nodeOptions === V8_DEFAULT_SEMI_SPACE);
  const capped = variants.find((variant) => variant.nodeOptions !== V8_DEFAULT_SEMI_SPACE);
  if (defaults !== undefined && capped !== undefined) {
    const cappedBytes = capped.memory.vmRssKiB * 1024;
    remedy.push(
      `Rerun with the same work and no profiler, a fresh agent reached ${kibMB(defaults.memory.vmRssKiB)} with V8's default semi-space size and ${kibMB(capped.memory.vmRssKiB)} with ${capped.nodeOptions}`,
      `(ListNetworks median ${formatMs(defaults.listMs)} against ${formatMs(capped.listMs)}).`,
      cappedBytes <= RSS_LIMIT_BYTES
        ? `Starting the agent with ${capped.nodeOptions} keeps it under the target at that ListNetworks cost.`
        : `Capping the young generation is not enough on its own here: ${kibMB(capped.memory.anonymousMapsKiB)} of anonymous maps remained, and that part needs a heap snapshot of the listing to explain.`,
    );
  } else {
    remedy.push("Rerun without --no-profile to compare the agent's memory under other Node.js options.");
  }
  return { cause: cause.filter(Boolean), remedy };
}

/** Formats the three largest shares of application code, "X takes 37% of the agent's busy time, Y 11%, Z 8%". */
function profileLeaders(profile: ProfileSummary): string {
  const rows = (profile.byCaller.length > 0 ? profile.byCaller : profile.byPackage).filter((row) => !isRuntime(row.name)).slice(0, 3);
  return rows.map((row, index) => (index === 0 ? `${row.name} takes ${percent(row.share)} of the agent's busy time` : `${row.name} ${percent(row.share)}`)).join(", ");
}

function callerShare(profile: ProfileSummary, name: string): number {
  return (profile.byCaller.length > 0 ? profile.byCaller : profile.byPackage).find((row) => row.name === name)?.share ?? 0;
}

/** Returns the 25th and 75th percentile of cycle times in milliseconds. */
function quartiles(values: number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  return [quantile(sorted, 0.25), quantile(sorted, 0.75)];
}

/** Formats the 25th to 75th percentile of cycle times, for example "412-470 ms". */
function formatSpread(values: number[]): string {
  const [low, high] = quartiles(values);
  return `${Math.round(low)}-${Math.round(high)} ms`;
}

function spreadWidth(values: number[]): number {
  const [low, high] = quartiles(values);
  return high - low;
}

function sum(values: Record<string, number>): number {
  return Object.values(values).reduce((total, value) => total + value, 0);
}

function ms3(ms: number | undefined): string {
  return `${(ms ?? 0).toFixed(3)} ms`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(0)}%`;
}

function kibMB(kib: number): string {
  return formatMB(kib * 1024);
}
