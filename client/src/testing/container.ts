import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { ExecResult, GenericContainer, getContainerRuntimeClient, ImageName, StartedTestContainer } from "testcontainers";

import { createNetAgentClient, NetAgentClient, NetAgentClientOptions } from "../client";
import { waitForAgentServing } from "./serving";

/** The image that `make image` builds. */
export const DEFAULT_AGENT_IMAGE = "netagent:latest";

/** Mount point of the host folder in which the image's agent creates its socket. */
const SOCKET_DIR_IN_CONTAINER = "/run/netagent";

/** Options for startNetAgentContainer. */
export interface NetAgentContainerOptions {
  /** The agent image. Default: $NETAGENT_IMAGE, else netagent:latest. */
  image?: string;
  /**
   * Pulls the image when the engine does not have it. Default false: the image
   * is built locally by `make image`, and a missing image fails the start.
   */
  pull?: boolean;
  /** The container's name. Default: one that the engine generates. */
  name?: string;
  /** Labels on the container, for example to find a test run's containers. */
  labels?: Record<string, string>;
  /**
   * Host folder mounted at /run/netagent, where the agent creates
   * netagent.sock. Default: a new folder under os.tmpdir(), which remove()
   * deletes. A UNIX socket path has at most 107 bytes, so keep it short.
   */
  socketDir?: string;
  /** Extra agent flags, for example ["--log-level", "debug"]. */
  agentArgs?: string[];
  /** How long to wait for the container to start and the agent to serve, in milliseconds. Default 120000. */
  startupTimeoutMs?: number;
  /** Options for the returned client, such as defaultDeadlineMs; the address is the container's socket. */
  clientOptions?: Omit<NetAgentClientOptions, "address">;
}

/** An agent container that serves, with a client connected to it. */
export interface StartedNetAgentContainer {
  /** The testcontainers handle, for exec, logs and inspection. */
  readonly container: StartedTestContainer;
  /** A client for the agent in the container. */
  readonly client: NetAgentClient;
  /** The agent's address on this machine, unix://SOCKET_DIR/netagent.sock. */
  readonly address: string;
  /** The host folder that contains the agent's socket. */
  readonly socketDir: string;
  /** Runs a command in the container, for example to read its bridges with `ip -json link`. */
  exec(command: string[]): Promise<ExecResult>;
  /** The container's output so far: the agent's JSON log lines and the daemons' messages. */
  logs(): string;
  /**
   * Stops the container as `docker stop` does (SIGTERM, then SIGKILL after
   * 10 s) and keeps it, so its host stays down until remove(). Calls to the
   * agent then fail with UNAVAILABLE.
   */
  stop(): Promise<void>;
  /** Closes the client, stops and removes the container and deletes a socket folder that the helper created. Safe to call twice. */
  remove(): Promise<void>;
}

/** An agent container with what the image needs, and nothing from the host's network. */
class AgentContainer extends GenericContainer {
  constructor(image: string) {
    super(image);
    // testcontainers has no option for devices. libvirt creates guests' TAP devices through this one.
    this.hostConfig.Devices = [{ PathOnHost: "/dev/net/tun", PathInContainer: "/dev/net/tun", CgroupPermissions: "rwm" }];
  }
}

/**
 * Starts a netagent container with testcontainers, waits until its agent
 * serves (grpc.health.v1 SERVING, or a successful ListNetworks where the agent
 * has no health service) and returns a connected client.
 *
 * The container runs with network mode "none", so it is a host of its own
 * with only loopback: its libvirt bridges, dnsmasq and firewall rules stay in
 * its network namespace. Instead of privileged mode, which some engines
 * reject, it gets every capability but SYS_RESOURCE (libvirtd needs
 * NET_ADMIN and SYS_ADMIN for bridges and firewall rules) and /dev/net/tun for
 * guests' TAP devices. The agent is reached through its UNIX socket in a
 * bind-mounted host folder.
 *
 * testcontainers reads DOCKER_HOST to find the engine. Where its reaper image
 * cannot be pulled, set TESTCONTAINERS_RYUK_DISABLED=true and call remove()
 * for every container. Inside a container (a machine with /.dockerenv)
 * testcontainers also looks up the engine's "bridge" network, which an engine
 * started with --bridge=none lacks; TESTCONTAINERS_HOST_OVERRIDE=localhost
 * skips that lookup, and the agent containers publish no ports anyway.
 *
 * @throws Error when the image is missing, the container exits, or the agent
 *   does not serve within `startupTimeoutMs`. The container is then removed,
 *   and the error carries the last probe's outcome and the container's output.
 * @example
 * const agent = await startNetAgentContainer();
 * try {
 *   await agent.client.networks.createNetwork({ network: { name: "lab", type: NetworkType.NETWORK_TYPE_VERY_ISOLATED } });
 * } finally {
 *   await agent.remove();
 * }
 */
export async function startNetAgentContainer(options: NetAgentContainerOptions = {}): Promise<StartedNetAgentContainer> {
  const image = options.image ?? process.env.NETAGENT_IMAGE ?? DEFAULT_AGENT_IMAGE;
  const startupTimeoutMs = options.startupTimeoutMs ?? 120_000;
  const ownsSocketDir = options.socketDir === undefined;
  const socketDir = options.socketDir ?? (await mkdtemp(join(tmpdir(), "netagent-ct-")));
  const address = `unix://${join(socketDir, "netagent.sock")}`;
  const output: string[] = [];

  let definition = new AgentContainer(image)
    .withNetworkMode("none")
    .withAddedCapabilities("ALL")
    .withDroppedCapabilities("SYS_RESOURCE")
    .withBindMounts([{ source: socketDir, target: SOCKET_DIR_IN_CONTAINER, mode: "rw" }])
    .withLabels({ "org.netagent.image": image, ...options.labels })
    .withCommand(options.agentArgs ?? [])
    .withStartupTimeout(startupTimeoutMs)
    .withLogConsumer((stream) => stream.on("data", (chunk: Buffer | string) => output.push(chunk.toString())));
  if (options.name !== undefined) {
    definition = definition.withName(options.name);
  }

  const started = Date.now();
  let container: StartedTestContainer;
  try {
    await checkImage(image, options.pull ?? false);
    container = await definition.start();
  } catch (error) {
    if (ownsSocketDir) {
      await rm(socketDir, { recursive: true, force: true });
    }
    throw new Error(`starting a netagent container from image ${image} failed: ${(error as Error).message}`, { cause: error });
  }

  const exited = watchForExit(container);
  try {
    const timeoutMs = Math.max(startupTimeoutMs - (Date.now() - started), 1_000);
    await waitForAgentServing(address, { timeoutMs, signal: exited.signal });
  } catch (error) {
    await container.stop({ remove: true, timeout: 10_000 }).catch(() => undefined);
    if (ownsSocketDir) {
      await rm(socketDir, { recursive: true, force: true });
    }
    throw new Error(`${(error as Error).message}\ncontainer output:\n${tail(output.join(""), 40)}`, { cause: error });
  } finally {
    exited.stopWatching();
  }

  const client = createNetAgentClient({ ...options.clientOptions, address });
  let stopped = false;
  let removing: Promise<void> | undefined;

  return {
    container,
    client,
    address,
    socketDir,
    exec: (command) => container.exec(command),
    logs: () => output.join(""),
    stop: async () => {
      await container.stop({ remove: false, timeout: 10_000 });
      stopped = true;
    },
    remove() {
      removing ??= (async () => {
        client.close();
        if (stopped) {
          // testcontainers' stop() does nothing once the container has stopped, so the engine removes it.
          const runtime = await getContainerRuntimeClient();
          await runtime.container.remove(runtime.container.getById(container.getId()), { removeVolumes: true });
        } else {
          await container.stop({ remove: true, timeout: 10_000 });
        }
        if (ownsSocketDir) {
          await rm(socketDir, { recursive: true, force: true });
        }
      })();
      return removing;
    },
  };
}

/**
 * Rejects before anything is pulled when the engine lacks the image and `pull`
 * is false, because testcontainers pulls a missing image whatever its pull policy.
 */
async function checkImage(image: string, pull: boolean): Promise<void> {
  if (pull) {
    return;
  }
  const runtime = await getContainerRuntimeClient();
  if (!(await runtime.image.exists(ImageName.fromString(image)))) {
    throw new Error(`the container engine has no image ${image}; build it with 'make image', or pass pull: true to pull it`);
  }
}

/** Polls the container's state every 500 ms and aborts the returned signal once it no longer runs. */
function watchForExit(container: StartedTestContainer): { signal: AbortSignal; stopWatching(): void } {
  const controller = new AbortController();
  const timer = setInterval(() => {
    void getContainerRuntimeClient()
      .then((runtime) => runtime.container.inspect(runtime.container.getById(container.getId())))
      .then((info) => {
        if (!info.State.Running) {
          controller.abort(new Error(`the container exited with status ${info.State.ExitCode} before the agent served`));
        }
      })
      .catch(() => undefined);
  }, 500);
  return { signal: controller.signal, stopWatching: () => clearInterval(timer) };
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
