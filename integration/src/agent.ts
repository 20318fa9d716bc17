import { ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { access } from "node:fs/promises";
import { join, resolve } from "node:path";

import { createNetAgentClient, NetAgentClient } from "@netagent/client";

import type { Sandbox } from "./sandbox";

/** A netagent process started for a test. */
export interface RunningAgent {
  /** Address for createNetAgentClient, for example "unix:///tmp/.../agent.sock". */
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

/**
 * Starts the agent inside the sandbox's network namespace, as a real
 * deployment runs it next to its libvirtd, serving on a UNIX socket in the
 * sandbox folder. Resolves once the socket accepts calls.
 */
export async function startAgent(sandbox: Sandbox, options: { libvirtSocket?: string; name?: string; args?: string[] } = {}): Promise<RunningAgent> {
  const socketPath = join(sandbox.dir, `${options.name ?? "agent"}.sock`);
  const child = spawn(
    "ip",
    ["netns", "exec", sandbox.netns, process.execPath, MAIN, "--listen", `unix://${socketPath}`, "--libvirt-socket", options.libvirtSocket ?? sandbox.libvirtSocket, "--log-level", "debug", ...(options.args ?? [])],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines: Array<Record<string, unknown>> = [];
  let stderr = "";
  collectJsonLines(child, lines);
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));

  const agent: RunningAgent = {
    address: `unix://${socketPath}`,
    pid: child.pid!,
    logLines: () => lines,
    waitForLogLine: (matches) => waitForLine(lines, matches),
    stop: () => stopChild(child),
  };

  try {
    await waitUntilServing(child, socketPath, () => stderr);
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

async function waitUntilServing(child: ChildProcess, socketPath: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`netagent exited with code ${child.exitCode}: ${stderr()}`);
    }
    try {
      await access(socketPath);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`netagent did not create ${socketPath} within 20 s: ${stderr()}`);
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
