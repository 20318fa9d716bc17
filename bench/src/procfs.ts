// Memory and CPU time of processes, read from /proc.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Resident memory of a process from /proc/PID/status, in KiB. */
export interface MemorySample {
  /** VmRSS: resident set size now. */
  vmRssKiB: number;
  /** VmHWM: the highest VmRSS so far. */
  vmHwmKiB: number;
  /** RssAnon: resident anonymous memory (heaps, stacks). */
  rssAnonKiB: number;
  /** RssFile: resident file mappings (the node binary, shared libraries). */
  rssFileKiB: number;
  /** Resident part of the brk heap ("[heap]" in smaps): glibc malloc's main arena. */
  mallocHeapKiB: number;
  /**
   * Resident anonymous mappings without a name: V8's heap pages, thread
   * stacks and large malloc blocks, which glibc maps on their own.
   */
  anonymousMapsKiB: number;
}

/** Reads the resident memory of PID. */
export function readMemory(pid: number): MemorySample {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status);
    if (match === null) {
      throw new Error(`/proc/${pid}/status has no ${name} line`);
    }
    return Number(match[1]);
  };
  return { vmRssKiB: field("VmRSS"), vmHwmKiB: field("VmHWM"), rssAnonKiB: field("RssAnon"), rssFileKiB: field("RssFile"), ...readMappings(pid) };
}

/** Sums the Rss of PID's brk heap and of its unnamed anonymous mappings from /proc/PID/smaps. */
function readMappings(pid: number): { mallocHeapKiB: number; anonymousMapsKiB: number } {
  let mallocHeapKiB = 0;
  let anonymousMapsKiB = 0;
  let kind: "heap" | "anonymous" | "other" = "other";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    // A mapping's header line: address range, permissions, offset, device, inode and an optional name.
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header !== null) {
      const [, inode, name] = header;
      kind = "other";
      if (name === "[heap]") {
        kind = "heap";
      } else if (name === "" && inode === "0") {
        kind = "anonymous";
      }
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss !== null && kind === "heap") {
      mallocHeapKiB += Number(rss[1]);
    } else if (rss !== null && kind === "anonymous") {
      anonymousMapsKiB += Number(rss[1]);
    }
  }
  return { mallocHeapKiB, anonymousMapsKiB };
}

let clockTicksPerSecond: number | undefined;

/** Returns the user plus system CPU time that PID and all its threads used so far, in seconds. */
export function readCpuSeconds(pid: number): number {
  clockTicksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name is in parentheses and may contain spaces, so fields are counted after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

/** Returns the command name of PID (/proc/PID/comm), or undefined when it exited. */
export function commandName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/**
 * Returns the PID of the node process that `ip netns exec NETNS node ...`
 * started with the given PID. iproute2 execs the command in place, so this
 * is normally PID itself; a forking `ip` leaves node as its only child.
 */
export function nodeProcessOf(pid: number): number {
  if (commandName(pid) === "node") {
    return pid;
  }
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  const node = children.find((child) => commandName(child) === "node");
  if (node === undefined) {
    throw new Error(`process ${pid} (${commandName(pid) ?? "exited"}) is not node and has no node child`);
  }
  return node;
}

/** CPU seconds that each watched process used between start() and stop(). */
export class CpuMeter {
  private readonly before = new Map<string, number>();
  private ownBefore = process.cpuUsage();

  /** @param pids processes to watch, by a label such as "agent" or "libvirtd". */
  constructor(private readonly pids: Record<string, number>) {}

  start(): void {
    for (const [label, pid] of Object.entries(this.pids)) {
      this.before.set(label, readCpuSeconds(pid));
    }
    this.ownBefore = process.cpuUsage();
  }

  /** Returns CPU seconds per label, plus "bench client" for this process. */
  stop(): Record<string, number> {
    const used: Record<string, number> = {};
    for (const [label, pid] of Object.entries(this.pids)) {
      used[label] = readCpuSeconds(pid) - (this.before.get(label) ?? 0);
    }
    const own = process.cpuUsage(this.ownBefore);
    used["bench client"] = (own.user + own.system) / 1e6;
    return used;
  }
}
