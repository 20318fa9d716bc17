import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../errors";
import { formatUuid, LibvirtClient, LibvirtError, LibvirtLogger, ListNetworksFlag, NetworkRef, NetworkXmlFlag } from "../libvirt";
import { LibvirtSession } from "../libvirt/session";
import { silentLogger } from "../libvirt/logger";
import { NetworkCache } from "./cache";
import { connectivityOf } from "./connectivity";
import { InterruptedCreates } from "./interrupted-creates";
import { KeyedMutex } from "./keyed-mutex";
import type { Network, NetworkKind, NetworkSpec, NetworkSpecInput } from "./model";
import { NetworkSync } from "./sync";
import { validateNetworkName, validateSpec } from "./validate";
import { parseNetworkXml, renderNetworkXml } from "./xml";

/** Filter for NetworkManager.list. */
export interface NetworkFilter {
  type?: NetworkKind;
  active?: boolean;
}

/**
 * Creates, reads and removes libvirt networks. Operations on one network
 * name run one at a time; libvirt errors that the caller can act on become
 * FailedPreconditionError with libvirt's own reason. Reads come from a cache
 * that libvirt events keep current, and every write stores its result there
 * before it returns, so a caller always reads its own writes.
 */
export class NetworkManager {
  private readonly locks = new KeyedMutex();
  // Creates with addresses run one at a time, from the checks of the subnet
  // to the network's start, so that no other create can take the subnet in
  // between and make a passed check stale.
  private readonly addressPlanLock = new KeyedMutex();
  /** The networks that reads return. */
  readonly cache = new NetworkCache();
  /** Keeps the cache current and reports each change. */
  readonly sync: NetworkSync;
  private readonly interrupted: InterruptedCreates;

  constructor(
    private readonly session: LibvirtSession,
    options: { logger?: LibvirtLogger } = {},
  ) {
    const logger = options.logger ?? silentLogger;
    // The sync's connect hook runs first, so the cleanup below sees a full cache.
    this.sync = new NetworkSync(session, this.cache, { describe, describeAll }, logger);
    this.interrupted = new InterruptedCreates(logger);
    session.onConnect((libvirt) =>
      this.interrupted.cleanUp(libvirt, (name, cleanUp) => this.exclusive(name, async () => {
        await cleanUp();
        await this.refresh(libvirt, name);
      })),
    );
  }

  /**
   * Creates and starts a network, all or nothing. An existing network with
   * the same spec is returned (and started if it was stopped); one with a
   * different spec raises AlreadyExistsError.
   */
  async create(input: NetworkSpecInput, options: { validateOnly?: boolean } = {}): Promise<Network> {
    const spec = validateSpec(input, "network.");

    return this.exclusive(spec.name, async () => {
      const libvirt = await this.session.client();
      const existing = await lookup(libvirt, spec.name);
      if (existing !== undefined) {
        return this.adoptExisting(libvirt, existing, spec, input.bridge !== undefined && input.bridge !== "", options);
      }

      if (options.validateOnly) {
        return { ...spec, uuid: "", active: true, persistent: true, connectivity: connectivityOf(spec) };
      }
      // A create that loses the connection before it has read the new network
      // back is removed after the reconnect, because its caller saw it fail.
      return this.interrupted.track(spec, async (onDefined) => {
        const steps = () => createSteps(libvirt, spec, onDefined);
        await (spec.ipv4 ? this.addressPlanLock.run("ipv4", steps) : steps());
        return this.store(libvirt, await libvirt.networkLookupByName(spec.name));
      });
    });
  }

  /** Returns one network from the cache. */
  async get(name: string): Promise<Network> {
    validateNetworkName(name);
    await this.session.client();
    const network = this.cache.get(name);
    if (network === undefined) {
      throw notFound(name);
    }
    return network;
  }

  /** Returns every cached network that matches the filter, ordered by name. */
  async list(filter: NetworkFilter = {}): Promise<Network[]> {
    await this.session.client();
    return this.cache
      .list()
      .filter((n) => (filter.active === undefined || n.active === filter.active) && (filter.type === undefined || n.type === filter.type));
  }

  /**
   * Stops a network if it runs and removes its definition.
   * @returns false when the network did not exist and allowMissing was set.
   */
  async delete(name: string, options: { allowMissing?: boolean } = {}): Promise<boolean> {
    validateNetworkName(name);

    return this.exclusive(name, async () => {
      const libvirt = await this.session.client();
      const ref = await lookup(libvirt, name);
      if (ref === undefined) {
        await this.refresh(libvirt, name);
        if (options.allowMissing) {
          return false;
        }
        throw notFound(name);
      }

      const [active, persistent] = await Promise.all([libvirt.networkIsActive(ref), libvirt.networkIsPersistent(ref)]);
      if (active) {
        await step("stop", name, () => libvirt.networkDestroy(ref));
      }
      if (persistent) {
        await step("undefine", name, () => libvirt.networkUndefine(ref));
      }
      await this.refresh(libvirt, name);
      return true;
    });
  }

  /** Starts a defined network; an active one is returned unchanged. */
  async start(name: string): Promise<Network> {
    validateNetworkName(name);

    return this.exclusive(name, async () => {
      const libvirt = await this.session.client();
      const ref = await lookupOrThrow(libvirt, name);
      if (!(await libvirt.networkIsActive(ref))) {
        await step("start", name, () => libvirt.networkCreate(ref));
      }
      return this.store(libvirt, ref);
    });
  }

  /** Stops a running network and keeps its definition; an inactive one is returned unchanged. */
  async stop(name: string): Promise<Network> {
    validateNetworkName(name);

    return this.exclusive(name, async () => {
      const libvirt = await this.session.client();
      const ref = await lookupOrThrow(libvirt, name);
      const before = await this.store(libvirt, ref);
      if (!before.active) {
        return before;
      }

      await step("stop", name, () => libvirt.networkDestroy(ref));
      // A transient network vanishes when stopped, so report it from before.
      if (!before.persistent) {
        await this.refresh(libvirt, name);
        return { ...before, active: false };
      }
      return this.store(libvirt, ref);
    });
  }

  private async adoptExisting(
    libvirt: LibvirtClient,
    ref: NetworkRef,
    spec: NetworkSpec,
    bridgeRequested: boolean,
    options: { validateOnly?: boolean },
  ): Promise<Network> {
    const current = await describe(libvirt, ref, { inactiveXml: true });
    const differences = specDifferences(spec, current, bridgeRequested);
    if (differences.length > 0) {
      throw new AlreadyExistsError(
        `network ${quote(spec.name)} already exists with a different spec (${differences.join(", ")}); delete it first or choose another name`,
      );
    }

    if (current.active || options.validateOnly) {
      return current;
    }
    // A retry after a create that stopped half-way (agent restart) finishes the job.
    await step("start", spec.name, () => libvirt.networkCreate(ref));
    return this.store(libvirt, ref);
  }

  /**
   * Runs an operation on one network after every earlier operation on it has
   * finished, as a cache write, so that a changed definition is reported.
   * When the operation fails, the cache reads the network again, because a
   * failed step may have changed it (a create undone after its define).
   */
  private exclusive<T>(name: string, operation: () => Promise<T>): Promise<T> {
    return this.locks.run(name, () =>
      this.cache.write(name, async () => {
        try {
          return await operation();
        } catch (error) {
          // Without a connection the resync after the reconnect corrects the cache.
          await this.session
            .client()
            .then((libvirt) => this.refresh(libvirt, name))
            .catch(() => undefined);
          throw error;
        }
      }),
    );
  }

  /** Reads a network from libvirt, stores it in the cache and returns it. */
  private store(libvirt: LibvirtClient, ref: NetworkRef): Promise<Network> {
    return this.cache.read(async (seq) => {
      const network = await describe(libvirt, ref);
      this.cache.store(network.name, network, seq);
      return network;
    });
  }

  /** Reads a network by name into the cache, or records that it does not exist. */
  private async refresh(libvirt: LibvirtClient, name: string): Promise<void> {
    await this.cache.read(async (seq) => {
      // Look again, because a transient network and its libvirt events may outlive the call that removed it.
      const ref = await lookup(libvirt, name);
      this.cache.store(name, ref === undefined ? undefined : await describe(libvirt, ref), seq);
    });
  }
}

/**
 * Defines, starts and marks a network autostart, undoing the earlier steps
 * when one fails. `onDefined` receives the network once libvirt defined it.
 */
async function createSteps(libvirt: LibvirtClient, spec: NetworkSpec, onDefined: (ref: NetworkRef) => void = () => undefined): Promise<void> {
  const ref = await step("define", spec.name, () => libvirt.networkDefineXml(renderNetworkXml(spec)));
  onDefined(ref);

  try {
    await step("start", spec.name, () => libvirt.networkCreate(ref));
    if (spec.autostart) {
      await step("autostart", spec.name, () => libvirt.networkSetAutostart(ref, true));
    }
  } catch (error) {
    await undoCreate(libvirt, ref);
    throw error;
  }
}

async function undoCreate(libvirt: LibvirtClient, ref: NetworkRef): Promise<void> {
  // Each undo step is tried even when the one before failed, because a
  // network that failed to start is inactive and destroy then fails too.
  await libvirt.networkDestroy(ref).catch(() => undefined);
  await libvirt.networkUndefine(ref).catch(() => undefined);
}

/**
 * Runs one libvirt step of an operation. A libvirt error becomes a
 * FailedPreconditionError naming the step and passing libvirt's reason on;
 * connection errors pass through unchanged.
 */
async function step<T>(name: string, network: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof LibvirtError) {
      throw new FailedPreconditionError(`libvirt failed to ${name} network ${quote(network)}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** Reads every network with its state; 3 + N round trips, all pipelined, instead of 4 per network. */
export async function describeAll(libvirt: LibvirtClient): Promise<Network[]> {
  // Three flag-filtered lists tell the state of all networks at once.
  const [all, active, persistent, autostart] = await Promise.all([
    libvirt.listAllNetworks(0),
    libvirt.listAllNetworks(ListNetworksFlag.ACTIVE),
    libvirt.listAllNetworks(ListNetworksFlag.PERSISTENT),
    libvirt.listAllNetworks(ListNetworksFlag.AUTOSTART),
  ]);
  const activeNames = new Set(active.map((n) => n.name));
  const persistentNames = new Set(persistent.map((n) => n.name));
  const autostartNames = new Set(autostart.map((n) => n.name));

  const described = await Promise.all(
    all.map(async (ref) => {
      try {
        const parsed = parseNetworkXml(await libvirt.networkGetXmlDesc(ref, 0));
        const state = { active: activeNames.has(ref.name), persistent: persistentNames.has(ref.name), autostart: autostartNames.has(ref.name) };
        return toNetwork({ ...parsed, uuid: parsed.uuid || formatUuid(ref.uuid) }, state);
      } catch (error) {
        // A network removed between the list and this read is simply gone.
        if (isNoNetwork(error)) {
          return undefined;
        }
        throw error;
      }
    }),
  );
  return described.filter((n): n is Network => n !== undefined);
}

/** Reads one network's state and XML. `inactiveXml` reads the persistent definition instead of the running one. */
export async function describe(libvirt: LibvirtClient, ref: NetworkRef, options: { inactiveXml?: boolean } = {}): Promise<Network> {
  const [active, persistent, autostart] = await Promise.all([
    libvirt.networkIsActive(ref),
    libvirt.networkIsPersistent(ref),
    libvirt.networkGetAutostart(ref),
  ]);
  // The inactive XML is the persistent config: what the next start uses.
  const flags = options.inactiveXml && persistent ? NetworkXmlFlag.INACTIVE : 0;
  const parsed = parseNetworkXml(await libvirt.networkGetXmlDesc(ref, flags));
  return toNetwork({ ...parsed, uuid: parsed.uuid || formatUuid(ref.uuid) }, { active, persistent, autostart });
}

function toNetwork(
  parsed: ReturnType<typeof parseNetworkXml>,
  state: { active: boolean; persistent: boolean; autostart: boolean },
): Network {
  return { ...parsed, ...state, connectivity: connectivityOf(parsed) };
}

/** Lists how an existing network differs from a requested spec, as "field: existing vs requested". */
function specDifferences(spec: NetworkSpec, current: Network, bridgeRequested: boolean): string[] {
  const differences: string[] = [];
  const compare = (field: string, existing: unknown, requested: unknown) => {
    const a = JSON.stringify(existing ?? null);
    const b = JSON.stringify(requested ?? null);
    if (a !== b) {
      differences.push(`${field}: ${a} exists, ${b} requested`);
    }
  };

  compare("type", current.type, spec.type);
  if (bridgeRequested) {
    compare("bridge", current.bridge, spec.bridge);
  }
  compare("ipv4.address", ipv4Cidr(current), ipv4Cidr(spec));
  compare("ipv4.dhcp_ranges", current.ipv4?.dhcpRanges, spec.ipv4?.dhcpRanges);
  compare("autostart", current.autostart, spec.autostart);
  return differences;
}

function ipv4Cidr(spec: Pick<NetworkSpec, "ipv4">): string | undefined {
  return spec.ipv4 ? `${spec.ipv4.address}/${spec.ipv4.prefixLength}` : undefined;
}

async function lookup(libvirt: LibvirtClient, name: string): Promise<NetworkRef | undefined> {
  try {
    return await libvirt.networkLookupByName(name);
  } catch (error) {
    if (isNoNetwork(error)) {
      return undefined;
    }
    throw error;
  }
}

async function lookupOrThrow(libvirt: LibvirtClient, name: string): Promise<NetworkRef> {
  const ref = await lookup(libvirt, name);
  if (ref === undefined) {
    throw notFound(name);
  }
  return ref;
}

function isNoNetwork(error: unknown): boolean {
  return error instanceof LibvirtError && error.isNoNetwork();
}

function notFound(name: string): NotFoundError {
  return new NotFoundError(`network ${quote(name)} not found`);
}

function quote(value: string): string {
  return `'${value}'`;
}
