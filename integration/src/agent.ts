import { ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
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
}

const MAIN = resolve(__dirname, "../../server/dist/main.js");

/** Options of startAgent. */
export interface AgentOptions {
  libvirtSocket?: string;
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
}

/**
 * Starts the agent inside the sandbox's network namespace, as a real
 * deployment runs it next to its libvirtd, serving on a UNIX socket in the
 * sandbox folder. Resolves once the agent logs that it serves.
 */
export async function startAgent(sandbox: Sandbox, options: AgentOptions = {}): Promise<RunningAgent> {
  const socketPath = join(sandbox.dir, `${options.name ?? "agent"}.sock`);
  const listen = options.listen ?? `unix://${socketPath}`;
  const agentCommand = [process.execPath, MAIN, "--listen", listen, "--libvirt-socket", options.libvirtSocket ?? sandbox.libvirtSocket, "--log-level", "debug", ...(options.args ?? [])];
  const [command, ...args] = options.hostNamespace ? agentCommand : ["ip", "netns", "exec", sandbox.netns, ...agentCommand];
  // NETAGENT_* variables of the test run would change the agent's configuration.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("NETAGENT_")));
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = "";
  collectJsonLines(child, lines);
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));

  const agent: RunningAgent = {
    address: listen,
    pid: child.pid!,
    logLines: () => lines,
    waitForLogLine: (matches) => waitForLine(lines, matches),
    stop: () => stopChild(child),
  };

  try {
    const serving = await waitUntilServing(child, lines, () => stderr);
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

async function waitForLine(
  lines: Array<Record<string, unknown>>,
  matches: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5_000;
  for (;;) {
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

async function waitUntilServing(child: ChildProcess, lines: Array<Record<string, unknown>>, stderr: () => string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const serving = lines.find((line) => line.msg === "serving");
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
