// Summaries of V8 profiles written by `node --cpu-prof` and `node --heap-prof`.

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** The parts of a .cpuprofile file (Chrome DevTools' Profile) that the summary reads. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }>;
  /** Microseconds on the monotonic clock (CLOCK_MONOTONIC), like process.hrtime. */
  startTime: number;
  endTime: number;
  samples?: number[];
  /** Microseconds from the previous sample (the first: from startTime) to each sample. */
  timeDeltas?: number[];
}

/** A part of a profile's time, in microseconds on the monotonic clock. */
export interface TimeWindow {
  startUs: number;
  endUs: number;
}

/** The parts of a .heapprofile file (SamplingHeapProfile) that the summary reads. */
export interface HeapProfile {
  head: HeapNode;
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** One row of a summary: a package or a function, with its share. */
export interface ProfileRow {
  name: string;
  /** Milliseconds of CPU for a CPU profile, bytes for a heap profile. */
  amount: number;
  /** Share of the busy total (CPU without idle time) or of all sampled bytes, from 0 to 1. */
  share: number;
}

export interface ProfileSummary {
  kind: "cpu" | "heap";
  /** Profiled wall time in ms (CPU profile) or sampled live bytes (heap profile). */
  total: number;
  /** CPU ms the process was busy: everything except "(idle)". Equals total for a heap profile. */
  busy: number;
  byPackage: ProfileRow[];
  /**
   * Self time of Node.js core, native code and V8's pseudo-nodes charged to
   * the nearest calling package, so that socket writes count for the code
   * that wrote. Time with no application code on its stack stays under its
   * own name. Empty for a heap profile.
   */
  byCaller: ProfileRow[];
  topFunctions: ProfileRow[];
  /**
   * For the top functions of Node.js core and native code, the packages that
   * called them (the nearest application code on the stack), with shares of
   * each function's time. Empty for a heap profile.
   */
  callersOf: Record<string, ProfileRow[]>;
}

/** Tells whether a name from packageOf() is the runtime (Node.js core, V8) rather than application code. */
export function isRuntime(name: string): boolean {
  return name === "node: (Node.js core)" || name.startsWith("(");
}

const TOP_ROWS = 12;

/**
 * Names the code a profile node belongs to: an npm package, a folder of the
 * agent (server/dist/libvirt ...), Node.js's own modules, or V8's
 * pseudo-nodes such as "(garbage collector)".
 */
export function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === "") {
    return functionName.startsWith("(") ? functionName : "(native)";
  }
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const parts = url.slice(modules + "/node_modules/".length).split("/");
    return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.startsWith("node:")) {
    return "node: (Node.js core)";
  }
  const agent = /\/(server|proto|client)\/dist\/(.+)$/.exec(url);
  if (agent !== null) {
    const [workspace, path] = [agent[1], agent[2]];
    const folder = path.includes("/") ? path.slice(0, path.indexOf("/")) : undefined;
    return folder === undefined ? `netagent ${workspace}` : `netagent ${workspace}/${folder}`;
  }
  return url;
}

function functionLabel(frame: CallFrame): string {
  const file = frame.url === "" ? "" : ` ${frame.url.slice(frame.url.lastIndexOf("/") + 1)}:${frame.lineNumber + 1}`;
  return `${frame.functionName || "(anonymous)"}${file} [${packageOf(frame)}]`;
}

/**
 * Summarises a CPU profile by self time: which packages and functions kept
 * the process busy. With a window, only the samples taken inside it count,
 * for example to leave the process's start-up out.
 */
export function summarizeCpuProfile(profile: CpuProfile, window?: TimeWindow): ProfileSummary {
  const startUs = window === undefined ? profile.startTime : Math.max(window.startUs, profile.startTime);
  const endUs = window === undefined ? profile.endTime : Math.min(window.endUs, profile.endTime);
  const totalMs = Math.max(0, endUs - startUs) / 1000;
  const hits = new Map<number, number>();
  if (profile.samples !== undefined && profile.samples.length > 0) {
    let timestamp = profile.startTime;
    profile.samples.forEach((id, index) => {
      timestamp += profile.timeDeltas?.[index] ?? 0;
      if (timestamp >= startUs && timestamp <= endUs) {
        hits.set(id, (hits.get(id) ?? 0) + 1);
      }
    });
  } else {
    for (const node of profile.nodes) {
      hits.set(node.id, node.hitCount ?? 0);
    }
  }
  const sampleCount = [...hits.values()].reduce((total, count) => total + count, 0);
  const msPerSample = sampleCount === 0 ? 0 : totalMs / sampleCount;

  const parents = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parents.set(child, node.id);
    }
  }
  const nodesById = new Map(profile.nodes.map((node) => [node.id, node]));
  const callerOf = (id: number): string => {
    const own = packageOf(nodesById.get(id)!.callFrame);
    for (let current: number | undefined = id; current !== undefined; current = parents.get(current)) {
      const name = packageOf(nodesById.get(current)!.callFrame);
      if (!isRuntime(name)) {
        return name;
      }
    }
    return own;
  };

  const byPackage = new Map<string, number>();
  const byCaller = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const functionCallers = new Map<string, Map<string, number>>();
  let idleMs = 0;
  for (const node of profile.nodes) {
    const ms = (hits.get(node.id) ?? 0) * msPerSample;
    if (ms === 0) {
      continue;
    }
    if (node.callFrame.functionName === "(idle)") {
      idleMs += ms;
      continue;
    }
    add(byPackage, packageOf(node.callFrame), ms);
    const caller = callerOf(node.id);
    const label = functionLabel(node.callFrame);
    add(byCaller, caller, ms);
    add(byFunction, label, ms);
    const callers = functionCallers.get(label) ?? new Map<string, number>();
    add(callers, caller, ms);
    functionCallers.set(label, callers);
  }
  const busy = totalMs - idleMs;
  const topFunctions = rows(byFunction, busy);
  const runtimeFunctions = topFunctions.filter((row) => row.name.endsWith(" [(native)]") || row.name.endsWith(" [node: (Node.js core)]"));
  const callersOf = Object.fromEntries(runtimeFunctions.slice(0, 3).map((row) => [row.name, rows(functionCallers.get(row.name)!, row.amount)]));
  return { kind: "cpu", total: totalMs, busy, byPackage: rows(byPackage, busy), byCaller: rows(byCaller, busy), topFunctions, callersOf };
}

/** Summarises a sampling heap profile by the allocation sites of the sampled bytes still alive when it was written. */
export function summarizeHeapProfile(profile: HeapProfile): ProfileSummary {
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  const pending: HeapNode[] = [profile.head];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (node.selfSize > 0) {
      total += node.selfSize;
      add(byPackage, packageOf(node.callFrame), node.selfSize);
      add(byFunction, functionLabel(node.callFrame), node.selfSize);
    }
    pending.push(...node.children);
  }
  return { kind: "heap", total, busy: total, byPackage: rows(byPackage, total), byCaller: [], topFunctions: rows(byFunction, total), callersOf: {} };
}

function add(map: Map<string, number>, key: string, amount: number): void {
  map.set(key, (map.get(key) ?? 0) + amount);
}

function rows(map: Map<string, number>, whole: number): ProfileRow[] {
  return [...map]
    .sort(([, a], [, b]) => b - a)
    .slice(0, TOP_ROWS)
    .map(([name, amount]) => ({ name, amount, share: whole > 0 ? amount / whole : 0 }));
}
