import { describeHost, HostDescription } from "../host/describe";
import type { HostProbe } from "../host/facts";
import { KernelHostProbe } from "../host/facts";
import { ListNetworksFlag } from "../libvirt";
import { LibvirtSession } from "../libvirt/session";
import type { ManagerContext } from "./context";
import { createNetwork } from "./create";
import { KeyedMutex } from "./keyed-mutex";
import { LeaseList, listLeases } from "./leases";
import type { Network, NetworkKind, NetworkSpecInput } from "./model";
import { describe, isNoNetwork, lookup, lookupOrThrow, notFound, step, toNetwork } from "./steps";
import { DEFAULT_SUBNET_POOL, SubnetPool } from "./subnet-pool";
import { UpdateRequest, UpdateResult, updateNetwork } from "./update";
import { validateNetworkName } from "./validate";
import { parseNetworkXml } from "./xml";

/** Options of NetworkManager; each has a default suited to a real host. */
export interface NetworkManagerOptions {
  /** Reads interfaces, addresses and routes. Default: the kernel of the agent's network namespace. */
  hostProbe?: HostProbe;
  /** Pool that NAT and ISOLATED subnets are allocated from. Default 10.100.0.0/16. */
  subnetPool?: SubnetPool;
}

/** Filter for NetworkManager.list. */
export interface NetworkFilter {
  type?: NetworkKind;
  active?: boolean;
}

/**
 * Creates, reads and removes libvirt networks. Operations on one network
 * name run one at a time; libvirt errors that the caller can act on become
 * FailedPreconditionError with libvirt's own reason.
 */
export class NetworkManager {
  private readonly locks = new KeyedMutex();
  private readonly context: ManagerContext;

  constructor(
    private readonly session: LibvirtSession,
    options: NetworkManagerOptions = {},
  ) {
    this.context = {
      session,
      locks: this.locks,
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

  /** Returns one network. */
  async get(name: string): Promise<Network> {
    validateNetworkName(name);
    const libvirt = await this.session.client();
    return describe(libvirt, await lookupOrThrow(libvirt, name));
  }

  /** Returns every network that matches the filter, ordered by name. */
  async list(filter: NetworkFilter = {}): Promise<Network[]> {
    const libvirt = await this.session.client();

    // Three flag-filtered lists tell state for all networks at once, so the
    // cost is 3 + N round trips (all pipelined) instead of 4 per network.
    const [all, active, persistent, autostart] = await Promise.all([
      libvirt.listAllNetworks(0),
      libvirt.listAllNetworks(ListNetworksFlag.ACTIVE),
      libvirt.listAllNetworks(ListNetworksFlag.PERSISTENT),
      libvirt.listAllNetworks(ListNetworksFlag.AUTOSTART),
    ]);
    const activeNames = new Set(active.map((n) => n.name));
    const persistentNames = new Set(persistent.map((n) => n.name));
    const autostartNames = new Set(autostart.map((n) => n.name));

    const candidates = all.filter((n) => filter.active === undefined || activeNames.has(n.name) === filter.active);
    const described = await Promise.all(
      candidates.map(async (ref) => {
        try {
          const parsed = parseNetworkXml(await libvirt.networkGetXmlDesc(ref, 0));
          const state = { active: activeNames.has(ref.name), persistent: persistentNames.has(ref.name), autostart: autostartNames.has(ref.name) };
          return toNetwork(parsed, state);
        } catch (error) {
          // A network removed between the list and this read is simply gone.
          if (isNoNetwork(error)) {
            return undefined;
          }
          throw error;
        }
      }),
    );

    return described
      .filter((n): n is Network => n !== undefined && (filter.type === undefined || n.type === filter.type))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Stops a network if it runs and removes its definition.
   * @returns false when the network did not exist and allowMissing was set.
   */
  async delete(name: string, options: { allowMissing?: boolean } = {}): Promise<boolean> {
    validateNetworkName(name);

    return this.locks.run(name, async () => {
      const libvirt = await this.session.client();
      const ref = await lookup(libvirt, name);
      if (ref === undefined) {
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
      return true;
    });
  }

  /** Starts a defined network; an active one is returned unchanged. */
  async start(name: string): Promise<Network> {
    validateNetworkName(name);

    return this.locks.run(name, async () => {
      const libvirt = await this.session.client();
      const ref = await lookupOrThrow(libvirt, name);
      if (!(await libvirt.networkIsActive(ref))) {
        await step("start", name, () => libvirt.networkCreate(ref));
      }
      return describe(libvirt, ref);
    });
  }

  /** Stops a running network and keeps its definition; an inactive one is returned unchanged. */
  async stop(name: string): Promise<Network> {
    validateNetworkName(name);

    return this.locks.run(name, async () => {
      const libvirt = await this.session.client();
      const ref = await lookupOrThrow(libvirt, name);
      const before = await describe(libvirt, ref);
      if (!before.active) {
        return before;
      }

      await step("stop", name, () => libvirt.networkDestroy(ref));
      // A transient network vanishes when stopped, so report it from before.
      if (!before.persistent) {
        return { ...before, active: false };
      }
      return describe(libvirt, ref);
    });
  }
}
