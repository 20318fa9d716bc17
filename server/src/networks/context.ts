import type { HostProbe } from "../host/facts";
import type { LibvirtSession } from "../libvirt/session";
import type { KeyedMutex } from "./keyed-mutex";
import type { SubnetPool } from "./subnet-pool";

/** What the network operations share: the libvirt session, locks and host access. */
export interface ManagerContext {
  session: LibvirtSession;
  /** One operation at a time per network name. */
  locks: KeyedMutex;
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
