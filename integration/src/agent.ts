import { ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { createNetAgentClient, NetAgentClient } from "@netagent/client";

import type { Sandbox } from "./sandbox";

/** A netagent process started for a test. */
export interface RunningAgent {
  /** Address for createNetAgentClient, for example "unix:///tmp/.../agent.sock" or "127.0.0.1:40123". */
  address: string;
  pid: number;
  /** Every JSON log line the agent wrote so far. */
  logLines(): Array<Record<string, unknown>>;
  /** Resolves with the first log line that matches, waiting up to 5 s for the agent's output to arrive. */
  waitForLogLine(matches: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Stops the agent by PID (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Resolves with the agent's exit code once it exited, or null when a signal ended it. */
  exited: Promise<number | null>;
}

// The launcher that every deployment starts the agent with; it sets the agent's Node.js options.
const LAUNCHER = resolve(__dirname, "../../server/bin/netagent");

/** Options of startAgent. */
export interface AgentOptions {
  /** libvirtd socket the agent connects to; default: the sandbox's. */
  libvirtSocket?: string;
  /** Name of the agent's socket in the sandbox folder, without ".sock"; default "agent". */
  name?: string;
  /** --listen; default: a UNIX socket in the sandbox folder. */
  listen?: string;
  /** More command-line options, for example ["--config", path]. */
  args?: string[];
  /**
   * Run in the machine's network namespace instead of the sandbox's, so that
   * a loopback TCP listener is reachable from the test process. libvirtd
   * still runs in the sandbox, and so do its bridges.
   */
  hostNamespace?: boolean;
  /** More Node.js options, placed after the launcher's own so that they win, for example ["--cpu-prof"]; none may contain a space. */
  nodeOptions?: string[];
  /** The agent's --log-level; default "debug". */
  logLevel?: string;
  /**
   * File that receives the agent's stdout (its JSON log), so that this
   * process spends no time reading it; logLines() then parses the file.
   */
  logFile?: string;
}

/**
 * Starts the agent inside the sandbox's network namespace, as a real
 * deployment runs it next to its libvirtd, serving on a UNIX socket in the
 * sandbox folder. Resolves once the agent logs that it serves.
 */
export async function startAgent(sandbox: Sandbox, options: AgentOptions = {}): Promise<RunningAgent> {
  const socketPath = join(sandbox.dir, `${options.name ?? "agent"}.sock`);
  const listen = options.listen ?? `unix://${socketPath}`;
  const agentCommand = [
    LAUNCHER,
    "--listen",
    listen,
    "--libvirt-socket",
    options.libvirtSocket ?? sandbox.libvirtSocket,
    "--log-level",
    options.logLevel ?? "debug",
    ...(options.args ?? []),
  ];
  const [command, ...args] = options.hostNamespace ? agentCommand : ["ip", "netns", "exec", sandbox.netns, ...agentCommand];
  // NETAGENT_* variables of the test run would change the agent's configuration.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("NETAGENT_")));
  // The test's own node binary, and its Node.js options for the launcher.
  env.NODE = process.execPath;
  env.NETAGENT_NODE_OPTIONS = (options.nodeOptions ?? []).join(" ");
  const logFd = options.logFile === undefined ? undefined : openSync(options.logFile, "a");
  const child = spawn(command, args, { stdio: ["ignore", logFd ?? "pipe", "pipe"], env });
  if (logFd !== undefined) {
    closeSync(logFd);
  }

  const lines: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let stderr = "";
  if (options.logFile === undefined) {
    collectJsonLines(child, lines);
  }
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const logLines = options.logFile === undefined ? () => lines : () => parseJsonLines(readFileSync(options.logFile!, "utf8"));

  const agent: RunningAgent = {
    address: listen,
    pid: child.pid!,
    logLines,
    waitForLogLine: (matches) => waitForLine(logLines, matches),
    stop: () => stopChild(child),
    exited,
  };

  try {
    const serving = await waitUntilServing(child, logLines, () => stderr);
    if (!listen.startsWith("unix://")) {
      agent.address = String(serving.listen);
    }
  } catch (error) {
    await agent.stop();
    throw error;
  }
  return agent;
}

/** Creates an SDK client for a running agent. */
export function clientFor(agent: RunningAgent): NetAgentClient {
  return createNetAgentClient({ address: agent.address, defaultDeadlineMs: 60_000 });
}

function collectJsonLines(child: ChildProcess, lines: Array<Record<string, unknown>>): void {
  let pending = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const complete = pending.split("\n");
    pending = complete.pop() ?? "";
    for (const line of complete) {
      if (line.trim() !== "") {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
    }
  });
}

/** Parses complete JSON lines; a last line without its newline is still being written and is skipped. */
function parseJsonLines(text: string): Array<Record<string, unknown>> {
  const complete = text.split("\n").slice(0, -1);
  return complete.filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function waitForLine(
  logLines: () => Array<Record<string, unknown>>,
  matches: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const lines = logLines();
    const found = lines.find(matches);
    if (found !== undefined) {
      return found;
    }
    if (Date.now() > deadline) {
      throw new Error(`no matching log line among ${lines.length} lines within 5 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitUntilServing(
  child: ChildProcess,
  logLines: () => Array<Record<string, unknown>>,
  stderr: () => string,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const serving = logLines().find((line) => line.msg === "serving");
    if (serving !== undefined) {
      return serving;
    }
    if (child.exitCode !== null) {
      throw new Error(`netagent exited with code ${child.exitCode}: ${stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`netagent did not log "serving" within 20 s: ${stderr()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
