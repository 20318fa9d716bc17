import { describeHost, HostDescription } from "../host/describe";
import type { HostProbe } from "../host/facts";
import { KernelHostProbe } from "../host/facts";
import { formatUuid, LibvirtClient, LibvirtLogger, ListNetworksFlag, NetworkRef } from "../libvirt";
import { LibvirtSession } from "../libvirt/session";
import { silentLogger } from "../libvirt/logger";
import { NetworkCache } from "./cache";
import type { ManagerContext } from "./context";
import { createNetwork } from "./create";
import { InterruptedCreates } from "./interrupted-creates";
import { KeyedMutex } from "./keyed-mutex";
import { LeaseList, listLeases } from "./leases";
import type { Network, NetworkKind, NetworkSpecInput } from "./model";
import { describe, isNoNetwork, lookup, lookupOrThrow, notFound, step, toNetwork } from "./steps";
import { DEFAULT_SUBNET_POOL, SubnetPool } from "./subnet-pool";
import { NetworkSync } from "./sync";
import { UpdateRequest, UpdateResult, updateNetwork } from "./update";
import { validateNetworkName } from "./validate";
import { parseNetworkXml } from "./xml";

export { describe } from "./steps";

/** Filter for NetworkManager.list. */
export interface NetworkFilter {
  type?: NetworkKind;
  active?: boolean;
}

/** Options of NetworkManager; each has a default suited to a real host. */
export interface NetworkManagerOptions {
  logger?: LibvirtLogger;
  /** Reads interfaces, addresses and routes. Default: the kernel of the agent's network namespace. */
  hostProbe?: HostProbe;
  /** Pool that NAT and ISOLATED subnets are allocated from. Default 10.100.0.0/16. */
  subnetPool?: SubnetPool;
  /** Time between two full reads of libvirt's networks, in milliseconds; 0 turns them off. Default 60000. */
  resyncPeriodMs?: number;
}

/**
 * Creates, reads, updates and removes libvirt networks. Operations on one
 * network name run one at a time; libvirt errors that the caller can act on
 * become FailedPreconditionError with libvirt's own reason. Reads come from a
 * cache that libvirt events keep current, and every write stores its result
 * there before it returns, so a caller always reads its own writes.
 */
export class NetworkManager {
  private readonly locks = new KeyedMutex();
  /** The networks that reads return. */
  readonly cache = new NetworkCache();
  /** Keeps the cache current and reports each change. */
  readonly sync: NetworkSync;
  private readonly interrupted: InterruptedCreates;
  private readonly context: ManagerContext;

  constructor(
    private readonly session: LibvirtSession,
    options: NetworkManagerOptions = {},
  ) {
    const logger = options.logger ?? silentLogger;
    // The sync's connect hook runs first, so the cleanup below sees a full cache.
    this.sync = new NetworkSync(session, this.cache, { describe, describeAll }, logger, options.resyncPeriodMs);
    this.interrupted = new InterruptedCreates(logger);
    session.onConnect((libvirt) =>
      this.interrupted.cleanUp(libvirt, (name, cleanUp) => this.exclusive(name, async () => {
        await cleanUp();
        await this.refresh(libvirt, name);
      })),
    );

    this.context = {
      session,
      exclusive: (name, operation) => this.exclusive(name, operation),
      store: (libvirt, ref) => this.store(libvirt, ref),
      interrupted: this.interrupted,
      planning: new KeyedMutex(),
      hostProbe: options.hostProbe ?? new KernelHostProbe(),
      subnetPool: options.subnetPool ?? new SubnetPool(DEFAULT_SUBNET_POOL),
    };
  }

  /**
   * Creates and starts a network, all or nothing, after checking it against
   * the host; see create.ts.
   */
  create(input: NetworkSpecInput, options: { validateOnly?: boolean } = {}): Promise<Network> {
    return createNetwork(this.context, input, options);
  }

  /** Changes the fields of a network named in the request; see update.ts. */
  update(request: UpdateRequest): Promise<UpdateResult> {
    return updateNetwork(this.context, request);
  }

  /** Describes the host as networks see it: interfaces, bridges, subnets in use and which types can be created. */
  describeHost(): Promise<HostDescription> {
    return describeHost(this.session, this.context.hostProbe, this.context.subnetPool);
  }

  /** Lists a network's DHCP leases, all or those of one MAC address. */
  listLeases(name: string, mac?: string): Promise<LeaseList> {
    return listLeases(this.context, name, mac);
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
