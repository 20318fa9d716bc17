import { join } from "node:path";
import { parseArgs } from "node:util";

/** Sizes and bounds of one benchmark run. */
export interface BenchOptions {
  /** Rounds of each GetNetwork measurement; the targets of each round run in rotated order. */
  rounds: number;
  /** Bounds of one sequential GetNetwork block. */
  sequential: { calls: number; seconds: number };
  /** Bounds of one GetNetwork block with `inFlight` calls in flight. */
  concurrent: { calls: number; seconds: number; inFlight: number };
  /** python3-libvirt threads and connections for the concurrent block. */
  pythonThreads: number;
  pythonConnections: number;
  /** Network counts for ListNetworks, ascending; the target uses 500. */
  listSizes: number[];
  /** ListNetworks calls per size and client. */
  listRounds: number;
  /** Create and delete cycles per client. */
  cycles: number;
  watchers: number;
  /** Network changes whose events are timed. */
  eventChanges: number;
  /** Profiled reruns of the agent for each missed target. */
  profile: boolean;
  /** Markdown results page. */
  output: string;
  /** Raw results, logs and profiles. */
  rawDir: string;
  /** A smoke run with small counts, whose page goes to rawDir unless --output is given. */
  quick: boolean;
}

export const USAGE = `usage: node bench/dist/main.js [options]   (as root; make bench runs it)

  --quick            small counts (networks 20/50/100, 4 cycles, 1 round) to check the harness;
                     writes its page to RAW_DIR/quick.md unless --output is given
  --no-profile       skip the profiled reruns of the agent for missed targets
  --output FILE      results page (default docs/benchmarks.md)
  --raw-dir DIR      raw results, agent logs and profiles (default docs/benchmarks-raw)
  --help             print this help
`;

/** Parses the command line; returns "help" for --help. Throws on unknown options. */
export function parseOptions(argv: string[], repositoryRoot: string): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      "no-profile": { type: "boolean", default: false },
      output: { type: "string" },
      "raw-dir": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    return "help";
  }

  const rawDir = values["raw-dir"] ?? join(repositoryRoot, "docs", "benchmarks-raw");
  const quick = values.quick === true;
  const output = values.output ?? (quick ? join(rawDir, "quick.md") : join(repositoryRoot, "docs", "benchmarks.md"));
  const full: BenchOptions = {
    rounds: 3,
    sequential: { calls: 2_000, seconds: 4 },
    concurrent: { calls: 40_000, seconds: 4, inFlight: 64 },
    pythonThreads: 64,
    pythonConnections: 8,
    listSizes: [100, 500, 1000],
    listRounds: 5,
    cycles: 20,
    watchers: 100,
    eventChanges: 50,
    profile: !values["no-profile"],
    output,
    rawDir,
    quick,
  };
  if (!quick) {
    return full;
  }
  return {
    ...full,
    rounds: 1,
    sequential: { calls: 300, seconds: 1 },
    concurrent: { ...full.concurrent, calls: 3_000, seconds: 1 },
    listSizes: [20, 50, 100],
    listRounds: 2,
    cycles: 4,
    eventChanges: 10,
  };
}
