import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, mkdtemp, readFile, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
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
  /** The PID of the sandbox's libvirtd, from its pid file; rejects when that process is not a running libvirtd. */
  libvirtdPid(): Promise<number>;
  /** Sends a signal to the sandbox's libvirtd by PID and resolves with that PID, without waiting for it to exit. */
  signalLibvirtd(signal: "SIGTERM" | "SIGKILL"): Promise<number>;
  /** Resolves once the process exited; rejects after `timeoutMs`. */
  waitForExit(pid: number, timeoutMs?: number): Promise<void>;
  /** Starts libvirtd again, in the same namespaces, after it stopped; resolves once it answers. */
  startLibvirtd(): Promise<void>;
  /**
   * Makes libvirtd's next start of `network` wait before it runs dnsmasq, until releaseDnsmasq().
   * Needs a sandbox started with holdDnsmasq.
   */
  holdDnsmasq(network: string): Promise<void>;
  /** Resolves once a start of `network` waits in the hold; rejects after `timeoutMs`. */
  waitForHeldDnsmasq(network: string, timeoutMs?: number): Promise<void>;
  /** Lets held and later starts of `network` run dnsmasq. */
  releaseDnsmasq(network: string): Promise<void>;
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
function run(file: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<ExecResult> {
  return new Promise((resolvePromise, reject) => {
    const options = { encoding: "utf8" as const, maxBuffer: MAX_OUTPUT_BYTES, timeout: timeoutMs, env: { ...process.env, ...env } };
    execFile(file, args, options, (error, stdout, stderr) => {
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

async function runScript(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ExecResult> {
  return run("bash", [SANDBOX_SCRIPT, ...args], SCRIPT_TIMEOUT_MS, env);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 50 ms until it returns true; rejects after `timeoutMs` with `description`. */
async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, description: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await delay(50);
  }
}

/** True while the process exists and is not a zombie. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The state letter follows the command name, which is in parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/**
 * Starts a sandboxed libvirtd with no networks defined, in a new network
 * namespace and a new folder under os.tmpdir(). Requires root. The caller
 * must call stop(), typically in a mocha after() hook.
 *
 * @param options.name Label in the namespace and folder names, to tell
 *   sandboxes of different suites apart; default "sandbox".
 * @param options.holdDnsmasq Run dnsmasq through sandbox.sh's wrapper, so
 *   that holdDnsmasq() can pause a network's start; default false.
 * @throws Error with sandbox.sh's output when libvirtd does not start.
 */
export async function startSandbox(options: { name?: string; holdDnsmasq?: boolean } = {}): Promise<Sandbox> {
  const label = sanitizeLabel(options.name ?? "sandbox");
  const dir = await mkdtemp(join(tmpdir(), `netagent-${label}-`));
  const netns = `na-${label}-${randomBytes(4).toString("hex")}`;
  const libvirtSocket = join(dir, "run", "libvirt-sock");
  const uri = `qemu:///system?socket=${libvirtSocket}`;

  const env = { SANDBOX_DNSMASQ_HOLD: options.holdDnsmasq ? "yes" : "no" };
  const started = await runScript(["start", dir, netns], env).catch((error: Error): ExecResult => ({ stdout: "", stderr: error.message, code: -1 }));
  if (started.code !== 0) {
    // sandbox.sh cleans up after a failed start, but not when it was killed or rejected DIR before writing anything.
    const stopped = await runScript(["stop", dir]).catch((error: Error): ExecResult => ({ stdout: "", stderr: error.message, code: -1 }));
    if (stopped.code === 0) {
      await rm(dir, { recursive: true, force: true });
    }
    throw new Error(`sandbox.sh start ${dir} ${netns} failed (exit code ${started.code}):\n${started.stdout}${started.stderr}`);
  }

  let stopping: Promise<void> | undefined;
  const holdFile = (network: string) => join(dir, "dnsmasq-hold", network);
  // sandbox.sh makes libvirtd run dnsmasq through this link; see SANDBOX_DNSMASQ_HOLD there.
  const dnsmasqLink = join(dir, "bin", "dnsmasq");
  let realDnsmasq: string | undefined;
  const pointDnsmasqLinkAt = async (target: string) => {
    // A rename replaces the link at once, so libvirtd never finds it missing.
    await rm(`${dnsmasqLink}.new`, { force: true });
    await symlink(target, `${dnsmasqLink}.new`);
    await rename(`${dnsmasqLink}.new`, dnsmasqLink);
  };

  const libvirtdPid = async (): Promise<number> => {
    const pid = Number((await readFile(join(dir, "libvirtd.pid"), "utf8")).trim());
    const name = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "");
    if (!Number.isInteger(pid) || name.trim() !== "libvirtd" || !(await isRunning(pid))) {
      throw new Error(`libvirtd of sandbox ${netns} is not running (pid file names ${pid})`);
    }
    return pid;
  };

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

    libvirtdPid,

    async signalLibvirtd(signal) {
      const pid = await libvirtdPid();
      process.kill(pid, signal);
      return pid;
    },

    waitForExit: (pid, timeoutMs = 30_000) => pollUntil(async () => !(await isRunning(pid)), timeoutMs, `process ${pid} to exit`),

    async startLibvirtd() {
      const result = await runScript(["start-libvirtd", dir]);
      if (result.code !== 0) {
        throw new Error(`sandbox.sh start-libvirtd ${dir} failed (exit code ${result.code}):\n${result.stdout}${result.stderr}`);
      }
    },

    async holdDnsmasq(network) {
      if (!options.holdDnsmasq) {
        throw new Error("holdDnsmasq needs a sandbox started with { holdDnsmasq: true }");
      }
      realDnsmasq ??= await readlink(dnsmasqLink);
      await writeFile(holdFile(network), "");
      await pointDnsmasqLinkAt(join(dir, "dnsmasq-wrapper"));
    },

    waitForHeldDnsmasq: (network, timeoutMs = 30_000) =>
      pollUntil(
        () => access(`${holdFile(network)}.waiting`).then(() => true, () => false),
        timeoutMs,
        `libvirtd to start dnsmasq of network ${network}`,
      ),

    async releaseDnsmasq(network) {
      await rm(holdFile(network), { force: true });
      await rm(`${holdFile(network)}.waiting`, { force: true });
      if (realDnsmasq !== undefined) {
        await pointDnsmasqLinkAt(realDnsmasq);
      }
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
