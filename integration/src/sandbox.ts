import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** Output of a command that ran to completion, whatever its exit code. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * A private libvirtd in its own network namespace, started by
 * scripts/sandbox.sh. Networks, bridges, dnsmasq and firewall rules that it
 * creates exist only inside that namespace.
 */
export interface Sandbox {
  /** Name of the network namespace that libvirtd and its dnsmasq run in. */
  netns: string;
  /** Folder that contains the sandbox's libvirt state; stop() deletes it. */
  dir: string;
  /** libvirtd's read-write UNIX socket, reachable from outside the namespace. */
  libvirtSocket: string;
  /** Runs argv inside the namespace with `ip netns exec`. Resolves with any exit code. */
  exec(argv: string[]): Promise<ExecResult>;
  /** Runs virsh against this sandbox's libvirtd and returns its stdout. Rejects with virsh's stderr when it fails. */
  virsh(args: string[]): Promise<string>;
  /** Destroys all guests and networks, stops the daemons and deletes the namespace and dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** The script lives in scripts/ at the repository root; this file runs from integration/dist. */
const SANDBOX_SCRIPT = resolve(__dirname, "../../scripts/sandbox.sh");

/** Bounds sandbox.sh start (which waits up to 30 s for libvirtd itself) and stop. */
const SCRIPT_TIMEOUT_MS = 90_000;

/** Bounds one virsh call, so a hung libvirtd fails a test instead of stalling the suite. */
const VIRSH_TIMEOUT_MS = 60_000;

/** Bounds one command run by exec(), for the same reason. It equals the integration suite's mocha timeout. */
const EXEC_TIMEOUT_MS = 120_000;

const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * Runs a program without a shell and resolves with its output and exit code.
 * Rejects only when the program could not run or was killed, for example by
 * the timeout.
 */
function run(file: string, args: string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, { encoding: "utf8", maxBuffer: MAX_OUTPUT_BYTES, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error === null) {
        resolvePromise({ stdout, stderr, code: 0 });
      } else if (typeof error.code === "number") {
        resolvePromise({ stdout, stderr, code: error.code });
      } else {
        const reason = error.killed ? `was killed by ${error.signal ?? "a signal"} (timeout ${timeoutMs} ms)` : `failed: ${error.message}`;
        reject(new Error(`${file} ${args.join(" ")} ${reason}\n${stderr}`));
      }
    });
  });
}

/** Turns a caller's label into the letters, digits and dashes that namespace and folder names allow. */
function sanitizeLabel(name: string): string {
  const label = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 20);
  return label === "" ? "sandbox" : label;
}

async function runScript(args: string[]): Promise<ExecResult> {
  return run("bash", [SANDBOX_SCRIPT, ...args], SCRIPT_TIMEOUT_MS);
}

/**
 * Starts a sandboxed libvirtd with no networks defined, in a new network
 * namespace and a new folder under os.tmpdir(). Requires root. The caller
 * must call stop(), typically in a mocha after() hook.
 *
 * @param options.name Label in the namespace and folder names, to tell
 *   sandboxes of different suites apart; default "sandbox".
 * @throws Error with sandbox.sh's output when libvirtd does not start.
 */
export async function startSandbox(options: { name?: string } = {}): Promise<Sandbox> {
  const label = sanitizeLabel(options.name ?? "sandbox");
  const dir = await mkdtemp(join(tmpdir(), `netagent-${label}-`));
  const netns = `na-${label}-${randomBytes(4).toString("hex")}`;
  const libvirtSocket = join(dir, "run", "libvirt-sock");
  const uri = `qemu:///system?socket=${libvirtSocket}`;

  const started = await runScript(["start", dir, netns]).catch((error: Error): ExecResult => ({ stdout: "", stderr: error.message, code: -1 }));
  if (started.code !== 0) {
    // sandbox.sh cleans up after a failed start, but not when it was killed or rejected DIR before writing anything.
    const stopped = await runScript(["stop", dir]).catch((error: Error): ExecResult => ({ stdout: "", stderr: error.message, code: -1 }));
    if (stopped.code === 0) {
      await rm(dir, { recursive: true, force: true });
    }
    throw new Error(`sandbox.sh start ${dir} ${netns} failed (exit code ${started.code}):\n${started.stdout}${started.stderr}`);
  }

  let stopping: Promise<void> | undefined;

  return {
    netns,
    dir,
    libvirtSocket,

    exec: (argv) => run("ip", ["netns", "exec", netns, ...argv], EXEC_TIMEOUT_MS),

    async virsh(args) {
      const result = await run("virsh", ["-c", uri, ...args], VIRSH_TIMEOUT_MS);
      if (result.code !== 0) {
        throw new Error(`virsh ${args.join(" ")} failed (exit code ${result.code}) in sandbox ${netns}: ${result.stderr.trim()}`);
      }
      return result.stdout;
    },

    stop() {
      stopping ??= runScript(["stop", dir]).then((result) => {
        if (result.code !== 0) {
          throw new Error(`sandbox.sh stop ${dir} failed (exit code ${result.code}):\n${result.stdout}${result.stderr}`);
        }
      });
      return stopping;
    },
  };
}
