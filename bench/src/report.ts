// The results page: Markdown rendered from one run's results.

import { explainMissedTarget } from "./analysis";
import { AGENT, ECHO_GRPC_JS, ECHO_MIDDLEWARE, ECHO_NICE_GRPC, PYTHON } from "./measurements/get-network";
import { CycleTimes, CYCLES_PER_ROUND } from "./measurements/create-delete";
import { VIRSH_DETAILED, VIRSH_NET_LIST } from "./measurements/list-networks";
import type { BenchOptions } from "./options";
import type { ProfileSummary } from "./profile";
import type { MemorySample } from "./procfs";
import type { BenchResults, Investigation } from "./results";
import { summarize } from "./stats";
import { formatMB, formatMs, formatRate, formatRatio, formatUs, RSS_LIMIT_BYTES, TargetResult } from "./targets";

const GET_CLIENTS = [AGENT, ECHO_GRPC_JS, ECHO_NICE_GRPC, ECHO_MIDDLEWARE, PYTHON];

export function renderReport(results: BenchResults, targets: TargetResult[], options: BenchOptions): string {
  const sections = [
    header(results),
    targetTable(targets),
    machineSection(results),
    methodSection(results, options),
    getNetworkSection(results),
    listSection(results),
    createDeleteSection(results),
    watchSection(results),
    memorySection(results),
    missedSection(results, targets),
  ];
  return sections.join("\n\n") + "\n";
}

function header(results: BenchResults): string {
  const lines = [
    "# Benchmarks",
    "",
    "<!-- Written by `make bench` (bench/src/report.ts); edit the generator, not this page. -->",
    "",
    "`make bench` (as root) measures the agent against python3-libvirt (libvirt's C client), virsh and",
    "two bare gRPC echo servers, all against one sandboxed libvirtd in one run, prints one pass/fail",
    "line per target and rewrites this page. The machine is shared and small, so absolute figures are",
    "noisy; every target is a ratio of figures measured in the same run.",
    "",
    `Run of ${results.startedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC")}, ${Math.round(results.durationSeconds)} s.`,
  ];
  if (results.quick) {
    lines.push("", "**This was a `--quick` run with small counts: its figures only check the harness.**");
  }
  return lines.join("\n");
}

function targetTable(targets: TargetResult[]): string {
  const rows = targets.map((t) => [t.id, t.title, t.requirement, t.measured, statusLabel(t.status)]);
  return ["## Targets", "", table(["#", "measurement", "target", "measured", "result"], rows)].join("\n");
}

function statusLabel(status: TargetResult["status"]): string {
  if (status === "fail") {
    return "**FAIL**";
  }
  return status;
}

function machineSection(results: BenchResults): string {
  const { machine, versions } = results;
  const load = (values: number[] | undefined) => (values === undefined ? "unknown" : values.map((v) => v.toFixed(2)).join(" / "));
  const rows = [
    ["CPU", `${machine.cpuModel}, ${machine.cores} cores`],
    ["memory", `${machine.memoryGiB.toFixed(1)} GiB`],
    ["system", `${machine.os}, Linux ${machine.kernel}`],
    ["load average (1/5/15 min) at start", load(machine.loadAtStart)],
    ["load average at end", load(machine.loadAtEnd)],
    ...Object.entries(versions),
  ];
  return ["## Machine and versions", "", table(["", ""], rows)].join("\n");
}

function methodSection(results: BenchResults, options: BenchOptions): string {
  const { getNetwork, createDelete } = results;
  return [
    "## How it measures",
    "",
    "- One libvirtd runs in a throwaway network namespace (scripts/sandbox.sh). The agent and the three",
    "  echo servers run inside that namespace with the same `node` binary, each serving gRPC on a UNIX",
    "  socket in the sandbox folder. The agent starts through server/bin/netagent, as every deployment",
    "  does, with its Node.js options (`--max-semi-space-size=1`). The agent logs at `info` (one JSON line per call) to a file. The",
    "  benchmark process, python3-libvirt and virsh run outside and reach libvirtd through its socket",
    "  (`qemu:///system?socket=...`). All of them share the machine's cores.",
    "- gRPC clients: the SDK (`@netagent/client`, nice-grpc over grpc-js) on one channel per server.",
    `- **${ECHO_GRPC_JS}**: a plain \`@grpc/grpc-js\` Server that returns the agent's own GetNetworkResponse`,
    `  (${getNetwork.responseBytes} bytes), encoded once: the floor for any gRPC server in Node.js. The targets compare`,
    `  against it. **${ECHO_NICE_GRPC}**: nice-grpc's server without middleware, encoding the same`,
    "  response per call with ts-proto: the floor of the agent's own stack.",
    `  **${ECHO_MIDDLEWARE}**: the same with the agent's middleware (call log, error details, status`,
    "  mapping), logging one line per call to a file as the agent does: the agent without its handler's work.",
    `- **${PYTHON}**: bench/python/*.py run as child processes; each reports its own timings as JSON.`,
    `- GetNetwork: ${getNetwork.rounds} rounds; each round runs every client in rotated order, first one call at a`,
    `  time (at most ${options.sequential.calls} calls or ${options.sequential.seconds} s), then ${getNetwork.inFlight} calls in flight (at most ${options.concurrent.calls} calls or ${options.concurrent.seconds} s),`,
    `  each after unmeasured warm-up calls. python3-libvirt runs ${options.pythonThreads} threads on ${options.pythonConnections} connections, each`,
    `  call doing lookup, XML, autostart, active and persistent. libvirtd holds ${getNetwork.networksDefined} networks meanwhile.`,
    "  Throughput is the median of the rounds; latencies pool every call.",
    "- ListNetworks: `page_size` 1000, one call for all networks. The networks are isolated, with a host",
    "  address, no DHCP and `<dns enable='no'/>` (libvirt 9.0 starts dnsmasq for DNS otherwise), defined",
    "  with autostart and not started: starting 1,000 takes minutes here because each start costs more as",
    "  the firewall rule set grows. python3-libvirt lists all networks, then reads the XML and autostart",
    `  flag of each (1 + 2N calls; it does not ask for active or persistent, which the agent returns too).`,
    `  "${VIRSH_DETAILED}" is a shell script's way: \`virsh net-list --all --name\`, then one virsh`,
    `  process reading \`net-dumpxml\` and \`net-info\` for every network from stdin. "${VIRSH_NET_LIST}" is`,
    `  one process with the summary table only. ${options.listRounds} rounds per size; medians.`,
    `- Create + delete: ${createDelete.cycles} cycles each, in rounds of ${CYCLES_PER_ROUND} alternating agent and python3-libvirt, of a NAT`,
    "  network with DHCP; python3-libvirt defines the XML the agent renders for the same request,",
    "  then starts it and sets autostart, then destroys and undefines it.",
    "- libvirt calls per request are counted by a second agent that reaches libvirtd through a counting",
    "  proxy (bench/src/libvirt-call-counter.ts), outside the timed runs.",
    "- CPU time per call comes from /proc/PID/stat (10 ms ticks) over the measured blocks, memory from",
    "  /proc/PID/status and /proc/PID/smaps of the agent's node process.",
    "- For each missed target the agent's part is rerun under `node --cpu-prof` (or `--heap-prof`",
    "  for memory) in a fresh agent, after the measured runs; the profiles are in docs/benchmarks-raw/.",
  ].join("\n");
}

function getNetworkSection(results: BenchResults): string {
  const { getNetwork } = results;
  const seqRows = GET_CLIENTS.map((label) => {
    const s = getNetwork.sequential[label];
    return [label, formatUs(s.p50), formatUs(s.p90), formatUs(s.p99), formatUs(s.mean), String(s.count), formatRatio(s.p50 / getNetwork.sequential[ECHO_GRPC_JS].p50)];
  });
  const concurrentRows = GET_CLIENTS.map((label) => {
    const c = getNetwork.concurrent[label];
    return [
      label,
      formatRate(c.callsPerSecond),
      c.perRound.map((rate) => Math.round(rate).toLocaleString("en-US")).join(", "),
      formatUs(c.latencyUs.p50),
      formatUs(c.latencyUs.p99),
      formatRatio(c.callsPerSecond / getNetwork.concurrent[ECHO_GRPC_JS].callsPerSecond),
    ];
  });
  const processes = [...new Set(GET_CLIENTS.flatMap((label) => Object.keys(getNetwork.concurrent[label].cpuMsPerCall)))];
  const cpuRows = GET_CLIENTS.map((label) => [
    label,
    ...processes.map((process) => {
      const ms = getNetwork.concurrent[label].cpuMsPerCall[process];
      return ms === undefined ? "" : ms.toFixed(3);
    }),
  ]);

  return [
    "## 1. GetNetwork",
    "",
    `Network \`${getNetwork.network}\`; response ${getNetwork.responseBytes} bytes. The agent makes ${callSummary(getNetwork.libvirtCallsPerRequest)} per GetNetwork.`,
    "",
    "One call at a time:",
    "",
    table(["client", "p50", "p90", "p99", "mean", "calls", "p50 / echo (grpc-js)"], seqRows),
    "",
    `Inside the agent (its call log's durationMs, from the outermost middleware to the response): p50 ${formatUs(getNetwork.agentHandlerUs.sequential.p50)},`,
    `p99 ${formatUs(getNetwork.agentHandlerUs.sequential.p99)} one call at a time; p50 ${formatUs(getNetwork.agentHandlerUs.concurrent.p50)}, p99 ${formatUs(getNetwork.agentHandlerUs.concurrent.p99)} with ${getNetwork.inFlight} in flight.`,
    "",
    `${getNetwork.inFlight} calls in flight:`,
    "",
    table(["client", "throughput (median)", "per round", "latency p50", "latency p99", "throughput / echo (grpc-js)"], concurrentRows),
    "",
    `CPU milliseconds per call with ${getNetwork.inFlight} in flight, by process ("bench client" is the benchmark's own node process):`,
    "",
    table(["client", ...processes], cpuRows),
  ].join("\n");
}

function listSection(results: BenchResults): string {
  const rows = results.listNetworks.map((entry) => [
    String(entry.networks),
    formatMs(entry.agent.medianMs),
    formatMs(entry.python.medianMs),
    formatMs(entry.virshDetailed.medianMs),
    formatMs(entry.virshNetList.medianMs),
    formatRatio(entry.python.medianMs / entry.agent.medianMs),
    formatRatio(entry.virshDetailed.medianMs / entry.agent.medianMs),
    String(Object.values(entry.libvirtCalls).reduce((a, b) => a + b, 0)),
  ]);
  const cpuRows = results.listNetworks.map((entry) => [
    String(entry.networks),
    formatMs(entry.agent.clientCpuMs ?? 0),
    formatMs(entry.agent.libvirtdCpuMs),
    formatMs(entry.python.clientCpuMs ?? 0),
    formatMs(entry.python.libvirtdCpuMs),
    formatMs(entry.virshDetailed.libvirtdCpuMs),
  ]);
  return [
    "## 2. ListNetworks with full details",
    "",
    "Wall time of one complete listing (median):",
    "",
    table(["networks", "agent", PYTHON, VIRSH_DETAILED, VIRSH_NET_LIST, "python / agent", "virsh detailed / agent", "agent's libvirt calls"], rows),
    "",
    "CPU time per listing (10 ms ticks, averaged over the rounds):",
    "",
    table(["networks", "agent process", "libvirtd for the agent", "python process", "libvirtd for python", "libvirtd for virsh detailed"], cpuRows),
  ].join("\n");
}

function createDeleteSection(results: BenchResults): string {
  const { createDelete } = results;
  const row = (label: string, times: CycleTimes) => {
    const cycles = summarize(times.cyclesMs.map((cycle) => cycle.createMs + cycle.deleteMs));
    return [label, formatMs(times.medianCreateMs), formatMs(times.medianDeleteMs), formatMs(times.medianCycleMs), `${formatMs(cycles.p90)} / ${formatMs(cycles.max)}`];
  };
  const rows = [row("agent", createDelete.agent), row(PYTHON, createDelete.python)];
  return [
    "## 3. CreateNetwork + DeleteNetwork",
    "",
    `${createDelete.cycles} cycles each of NAT network \`${createDelete.network}\` with DHCP (medians). The agent makes ${callSummary(createDelete.libvirtCalls.create)} per CreateNetwork and ${callSummary(createDelete.libvirtCalls.delete)} per DeleteNetwork; python3-libvirt makes 3 and 2.`,
    "",
    table(["client", "create", "delete", "cycle", "cycle p90 / max"], rows),
    "",
    `Cycle ratio agent / python3-libvirt: ${formatRatio(createDelete.agent.medianCycleMs / createDelete.python.medianCycleMs)}.`,
  ].join("\n");
}

function watchSection(results: BenchResults): string {
  const { watchEvents } = results;
  if (!watchEvents.available) {
    return ["## 4. WatchEvents", "", `Not available: ${watchEvents.reason}. No figure was measured.`].join("\n");
  }
  const l = watchEvents.latencyMs;
  return [
    "## 4. WatchEvents",
    "",
    `${watchEvents.watchers} watchers, each on its own channel; ${watchEvents.changes} network definitions made through the benchmark's own libvirt connection.`,
    "Latency runs from just before the define call to each watcher's receipt of the first event that names the network.",
    "",
    table(["deliveries", "p50", "p90", "p99", "max"], [[String(l.count), formatMs(l.p50), formatMs(l.p90), formatMs(l.p99), formatMs(l.max)]]),
  ].join("\n");
}

function memorySection(results: BenchResults): string {
  const { memory } = results;
  const row = (label: string, sample: MemorySample) => [
    label,
    mb(sample.vmRssKiB),
    mb(sample.vmHwmKiB),
    mb(sample.rssAnonKiB),
    mb(sample.anonymousMapsKiB),
    mb(sample.mallocHeapKiB),
    mb(sample.rssFileKiB),
  ];
  const rows = [
    row("agent, idle after start-up", memory.idle),
    row(`agent, ${memory.loaded.networks} networks, ${memory.loaded.watchers} watchers`, memory.loaded),
    ...Object.entries(memory.echoIdle).map(([label, sample]) => row(`${label}, idle`, sample)),
  ];
  return [
    "## 5. Agent memory",
    "",
    `From /proc/PID/status and /proc/PID/smaps of the node process, in decimal megabytes like the target (VmRSS <= 120 MB). The loaded reading is taken 2 s after the last ListNetworks at ${memory.loaded.networks} networks.`,
    "",
    table(["process", "VmRSS", "VmHWM (peak)", "RssAnon", "of it: anonymous maps", "of it: malloc heap", "RssFile"], rows),
    ...(memory.loaded.vmHwmKiB * 1024 > RSS_LIMIT_BYTES
      ? ["", `The peak during the listings (VmHWM ${formatMB(memory.loaded.vmHwmKiB * 1024)}) was above 120 MB; the target reads the resident size at rest, which depends on when V8 last collected garbage and so varies from run to run.`]
      : []),
    "",
    "Anonymous maps are unnamed anonymous mappings in /proc/PID/smaps, where V8 keeps its heap pages; the malloc heap is the brk heap (`[heap]`).",
  ].join("\n");
}

function missedSection(results: BenchResults, targets: TargetResult[]): string {
  const missed = targets.filter((target) => target.status === "fail");
  if (missed.length === 0) {
    return "## Missed targets\n\nNone.";
  }
  const parts = ["## Missed targets"];
  // A profile that explains several targets is printed under the first of them only.
  const printed = new Map<Investigation, string>();
  for (const target of missed) {
    const investigation = results.investigations.find((entry) => entry.targets.includes(target.id));
    const explanation = explainMissedTarget(target, results, investigation);
    const firstTarget = investigation === undefined ? undefined : printed.get(investigation);
    if (investigation !== undefined && firstTarget === undefined) {
      printed.set(investigation, target.id);
    }
    parts.push(
      "",
      `### Target ${target.id}: ${target.title}`,
      "",
      `Measured ${target.measured}; the target is ${target.requirement}.`,
      "",
      "**Why.** " + explanation.cause.join(" "),
      "",
      firstTarget === undefined ? profileSection(investigation) : `**Profile.** The one under target ${firstTarget} above.`,
      ...(firstTarget === undefined ? variantSection(investigation) : []),
      "",
      "**What would close it.** " + explanation.remedy.join(" "),
    );
  }
  return parts.join("\n");
}

function profileSection(investigation: Investigation | undefined): string {
  if (investigation === undefined) {
    return "**Profile.** None was taken (run without `--no-profile`).";
  }
  if (investigation.summary === undefined) {
    return `**Profile.** Profiling failed: ${investigation.error ?? "unknown error"}.`;
  }
  return [`**Profile** (${investigation.workload}; raw file docs/benchmarks-raw/${investigation.file}):`, "", profileTables(investigation.summary)].join("\n");
}

function variantSection(investigation: Investigation | undefined): string[] {
  const variants = investigation?.variants ?? [];
  if (variants.length === 0) {
    return [];
  }
  const rows = variants.map((variant) => [variant.nodeOptions, mb(variant.memory.vmRssKiB), mb(variant.memory.vmHwmKiB), mb(variant.memory.anonymousMapsKiB), formatMs(variant.listMs)]);
  return [
    "",
    `**Node.js options compared** (a fresh agent each, without profiler, same work: ${investigation!.workload}):`,
    "",
    table(["node options", "VmRSS after", "VmHWM", "anonymous maps", "ListNetworks median"], rows),
  ];
}

function profileTables(summary: ProfileSummary): string {
  const amount = (value: number) => (summary.kind === "cpu" ? formatMs(value) : formatMB(value));
  const unit = summary.kind === "cpu" ? "self CPU time" : "sampled live bytes";
  const functionsHeading = summary.kind === "cpu" ? "Functions with the most self time:" : "Functions that allocated the most of it:";
  const intro =
    summary.kind === "cpu"
      ? `The agent was busy ${formatMs(summary.busy)} of ${formatMs(summary.total)} profiled; shares are of the busy time.`
      : `${formatMB(summary.total)} of sampled allocations were alive when the profile was written; shares are of that.`;
  const byCaller =
    summary.byCaller.length === 0
      ? []
      : [
          "",
          "The same time with Node.js core and native code charged to the package that called it:",
          "",
          table(["code", unit, "share"], summary.byCaller.map((row) => [row.name, amount(row.amount), percent(row.share)])),
        ];
  return [
    intro,
    "",
    table(["code", unit, "share"], summary.byPackage.map((row) => [row.name, amount(row.amount), percent(row.share)])),
    ...byCaller,
    "",
    functionsHeading,
    "",
    table(["function", unit, "share"], summary.topFunctions.map((row) => [row.name, amount(row.amount), percent(row.share)])),
    ...callerLines(summary),
  ].join("\n");
}

/** Lists the callers of the top runtime functions, "- writeBuffer [(native)]: netagent server/libvirt 99.0%, ...". */
function callerLines(summary: ProfileSummary): string[] {
  const entries = Object.entries(summary.callersOf);
  if (entries.length === 0) {
    return [];
  }
  return [
    "",
    "Callers of the top Node.js core and native functions (the nearest application code on the stack, as shares of each function's time):",
    "",
    ...entries.map(([name, callers]) => `- ${name}: ${callers.slice(0, 3).map((row) => `${row.name} ${percent(row.share)}`).join(", ")}`),
  ];
}

/** Formats a table of libvirt calls by procedure, for example "5 libvirt calls (NETWORK_LOOKUP_BY_NAME 1, ...)". */
export function callSummary(calls: Record<string, number>): string {
  const total = Object.values(calls).reduce((a, b) => a + b, 0);
  if (total === 0) {
    return "no libvirt calls";
  }
  const parts = Object.entries(calls).map(([procedure, count]) => `${procedure} ${Number.isInteger(count) ? count : count.toFixed(2)}`);
  return `${Number.isInteger(total) ? total : total.toFixed(2)} libvirt calls (${parts.join(", ")})`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** Formats KiB from /proc as decimal megabytes, the unit of the memory target. */
function mb(kib: number): string {
  return formatMB(kib * 1024);
}

function table(headers: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replace(/\|/g, "\\|");
  return [`| ${headers.map(escape).join(" | ")} |`, `|${headers.map(() => " --- ").join("|")}|`, ...rows.map((row) => `| ${row.map(escape).join(" | ")} |`)].join("\n");
}
