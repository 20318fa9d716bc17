import type { HostProbe } from "../host/facts";
import type { LibvirtClient, NetworkRef } from "../libvirt";
import type { LibvirtSession } from "../libvirt/session";
import type { InterruptedCreates } from "./interrupted-creates";
import type { KeyedMutex } from "./keyed-mutex";
import type { Network } from "./model";
import type { SubnetPool } from "./subnet-pool";

/** What the network operations share: the libvirt session, the cache, locks and host access. */
export interface ManagerContext {
  session: LibvirtSession;
  /**
   * Runs an operation on one network after every earlier operation on it,
   * as a write of the network cache (NetworkManager.exclusive).
   */
  exclusive<T>(name: string, operation: () => Promise<T>): Promise<T>;
  /** Reads a network from libvirt into the cache and returns it. */
  store(libvirt: LibvirtClient, ref: NetworkRef): Promise<Network>;
  /** Records creates that lose the libvirt connection, so their leftovers are removed after a reconnect. */
  interrupted: InterruptedCreates;
  /**
   * Serialises host checks, subnet allocation and definition across all
   * networks under the single key PLANNING_KEY, so that two concurrent
   * creates never pick the same subnet or bridge.
   */
  planning: KeyedMutex;
  hostProbe: HostProbe;
  subnetPool: SubnetPool;
}

export const PLANNING_KEY = "planning";
