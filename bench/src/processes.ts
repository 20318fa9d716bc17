// Child processes of the benchmark: the echo servers, python3-libvirt scripts and virsh.

import { ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { once } from "node:events";
import { join, resolve } from "node:path";

import type { Sandbox } from "@netagent/integration/dist/sandbox";

import { nodeProcessOf } from "./procfs";

/** Debian's python3-libvirt is installed for Debian's own interpreter, which a python3 earlier in PATH may not be. */
const PYTHON = "/usr/bin/python3";

const PYTHON_DIR = resolve(__dirname, "../python");
const ECHO_SERVER = resolve(__dirname, "echo-server.js");

/** Bounds the start of an echo server. */
const START_TIMEOUT_MS = 20_000;

const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

/** The echo servers of echo-server.ts. */
export type EchoStack = "grpc-js" | "nice-grpc" | "agent-middleware";

/** A server process started for the benchmark. */
export interface ServerProcess {
  address: string;
  /** PID of the node process inside `ip netns exec`. */
  pid: number;
  /** Stops it by PID (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/**
 * Starts an echo server inside the sandbox's network namespace, as the agent
 * runs, on a UNIX socket in the sandbox folder, with the same node binary.
 * Its stdout, where the agent-middleware stack logs, goes to logFile as the
 * agent's does. Resolves once it prints "serving".
 */
export async function startEchoServer(sandbox: Sandbox, stack: EchoStack, responseFile: string, logFile: string): Promise<ServerProcess> {
  const socketPath = join(sandbox.dir, `echo-${stack}.sock`);
  const logFd = openSync(logFile, "w");
  const child = spawn(
    "ip",
    ["netns", "exec", sandbox.netns, process.execPath, ECHO_SERVER, "--stack", stack, "--listen", `unix://${socketPath}`, "--response", responseFile],
    { stdio: ["ignore", logFd, "pipe"] },
  );
  closeSync(logFd);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!stderr.includes("serving\n")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`echo server (${stack}) did not start within ${START_TIMEOUT_MS / 1000} s: ${stderr.trim()}`);
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
  return { address: `unix://${socketPath}`, pid: nodeProcessOf(child.pid!), stop: () => stopChild(child) };
}

/** Stops a child by PID: SIGTERM, then SIGKILL after 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Output of a program that exited with status 0. */
interface ProgramOutput {
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell. Rejects with its stderr when it fails, exits non-zero or outlives timeoutMs. */
function runProgram(file: string, args: string[], options: { input?: string; timeoutMs: number }): Promise<ProgramOutput> {
  return new Promise((resolveRun, reject) => {
    const child = execFile(file, args, { encoding: "utf8", maxBuffer: MAX_OUTPUT_BYTES, timeout: options.timeoutMs }, (error, stdout, stderr) => {
      if (error !== null) {
        const reason = error.killed ? `was killed after ${options.timeoutMs / 1000} s` : `failed (${error.message.split("\n")[0]})`;
        reject(new Error(`${file} ${args.slice(0, 2).join(" ")} ${reason}: ${stderr.trim()}`));
        return;
      }
      resolveRun({ stdout, stderr });
    });
    // A program that exits without reading its input makes the write fail with EPIPE. Its exit status reports what happened.
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(options.input);
  });
}

/**
 * Runs one of the python3-libvirt scripts in bench/python and returns the
 * JSON document it prints.
 */
export async function runPython<T>(script: string, args: string[], options: { input?: string; timeoutMs: number }): Promise<T> {
  const { stdout } = await runProgram(PYTHON, [join(PYTHON_DIR, script), ...args], options);
  return JSON.parse(stdout) as T;
}

/** Wall time of virsh commands that read every network, and how many networks they saw. */
export interface VirshRun {
  ms: number;
  networks: number;
}

/**
 * Lists networks with virsh as a shell script would: `net-list --all --name`,
 * then one more virsh process that reads `net-dumpxml NAME` and `net-info
 * NAME` (autostart, active, persistent) for each network from stdin.
 */
export async function virshListDetailed(uri: string, timeoutMs: number): Promise<VirshRun> {
  const started = performance.now();
  const { stdout } = await runProgram("virsh", ["-q", "-c", uri, "net-list", "--all", "--name"], { timeoutMs });
  const names = stdout.split("\n").map((line) => line.trim()).filter(Boolean);
  const script = names.map((name) => `net-dumpxml ${name}\nnet-info ${name}\n`).join("");
  const details = await runProgram("virsh", ["-q", "-c", uri], { input: script, timeoutMs });
  const ms = performance.now() - started;

  const described = (details.stdout.match(/^Autostart:/gm) ?? []).length;
  if (described !== names.length) {
    throw new Error(`virsh printed net-info for ${described} of ${names.length} networks: ${details.stderr.trim()}`);
  }
  return { ms, networks: names.length };
}

/** Runs `virsh net-list --all`: one process, name, state, autostart and persistence but no XML. */
export async function virshNetList(uri: string, timeoutMs: number): Promise<VirshRun> {
  const started = performance.now();
  const { stdout } = await runProgram("virsh", ["-q", "-c", uri, "net-list", "--all"], { timeoutMs });
  return { ms: performance.now() - started, networks: stdout.split("\n").filter((line) => line.trim() !== "").length };
}

/** Runs a program and returns its stdout, for version queries; undefined when it fails. */
export async function programOutput(file: string, args: string[]): Promise<string | undefined> {
  try {
    return (await runProgram(file, args, { timeoutMs: 30_000 })).stdout.trim();
  } catch {
    return undefined;
  }
}
