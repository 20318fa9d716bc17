import { existsSync } from "node:fs";

import { UnavailableError } from "../errors";
import {
  formatUuid,
  isLibvirtConnectionError,
  isLibvirtTimeoutError,
  LibvirtClient,
  LibvirtError,
  LibvirtLogger,
  NetworkRef,
  NetworkXmlFlag,
} from "../libvirt";
import type { NetworkSpec } from "./model";
import { parseNetworkXml } from "./xml";

/** A create that lost its libvirt connection after it may have sent the define step. */
interface InterruptedCreate {
  spec: NetworkSpec;
  /** The UUID libvirt gave the network, when the define step's reply arrived. */
  uuid: string | undefined;
}

/**
 * Remembers creates that failed because the libvirt connection was lost or
 * a call timed out, and removes what they left behind once libvirtd is
 * reachable again, so that a create stays all or nothing across a libvirtd
 * restart. The record lives in memory: creates interrupted by an agent
 * restart are finished or rejected by the next identical create instead.
 */
export class InterruptedCreates {
  private readonly pending = new Map<string, InterruptedCreate>();

  constructor(private readonly logger: LibvirtLogger) {}

  /** Names of interrupted creates not cleaned up yet. */
  get names(): string[] {
    return [...this.pending.keys()];
  }

  /** Runs a create's libvirt steps and records the create when the connection fails during them. */
  async track<T>(spec: NetworkSpec, steps: (onDefined: (ref: NetworkRef) => void) => Promise<T>): Promise<T> {
    const attempt: InterruptedCreate = { spec, uuid: undefined };
    try {
      return await steps((ref) => (attempt.uuid = formatUuid(ref.uuid)));
    } catch (error) {
      if (isLibvirtConnectionError(error) || isLibvirtTimeoutError(error) || error instanceof UnavailableError) {
        this.pending.set(spec.name, attempt);
        this.logger.warn({ network: spec.name, err: error }, "create interrupted by the libvirt connection; its leftovers are removed after reconnecting");
        if (error instanceof UnavailableError) {
          throw error;
        }
        throw new UnavailableError(
          `${(error as Error).message}; the agent removes the half-made network once it reconnects to libvirtd, so retrying the create is safe`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /**
   * Removes the networks of interrupted creates. `runExclusive` runs the
   * removal of one network as an operation on that name, so it waits for
   * other operations on it. Connection errors propagate, and the creates
   * stay recorded for the next connect.
   */
  async cleanUp(libvirt: LibvirtClient, runExclusive: (name: string, cleanUp: () => Promise<void>) => Promise<void>): Promise<void> {
    for (const [name, attempt] of [...this.pending]) {
      await runExclusive(name, async () => {
        try {
          await this.remove(libvirt, attempt);
        } catch (error) {
          if (isLibvirtConnectionError(error) || isLibvirtTimeoutError(error)) {
            throw error;
          }
          this.logger.error({ network: name, err: error }, "removing what an interrupted create left behind failed");
        }
        this.pending.delete(name);
      });
    }
  }

  private async remove(libvirt: LibvirtClient, attempt: InterruptedCreate): Promise<void> {
    const { name, bridge } = attempt.spec;
    let ref: NetworkRef;
    try {
      ref = await libvirt.networkLookupByName(name);
    } catch (error) {
      if (error instanceof LibvirtError && error.isNoNetwork()) {
        this.logger.debug({ network: name }, "an interrupted create left no network behind");
        return;
      }
      throw error;
    }
    if (!(await this.belongsTo(libvirt, ref, attempt))) {
      this.logger.warn({ network: name }, "a network of an interrupted create's name exists but was not made by it; leaving it");
      return;
    }

    const [active, persistent] = await Promise.all([libvirt.networkIsActive(ref), libvirt.networkIsPersistent(ref)]);
    if (active) {
      await libvirt.networkDestroy(ref);
    }
    if (persistent) {
      await libvirt.networkUndefine(ref);
    }
    this.logger.warn({ network: name, wasActive: active }, "removed the network that a create interrupted by the libvirt connection left behind");

    // libvirtd that dies while it starts a network leaves the bridge behind,
    // and then cannot start any network on that bridge or subnet. The check
    // finds the bridge only when the agent shares libvirtd's network namespace.
    if (!active && bridge !== "" && existsSync(`/sys/class/net/${bridge}`)) {
      this.logger.warn(
        { network: name, bridge },
        `libvirtd stopped while it started network '${name}' and left bridge ${bridge} on the host, which libvirt does not remove; delete it with: ip link delete ${bridge}`,
      );
    }
  }

  /** Checks by UUID, or when the define reply was lost, by the parts of the definition that the spec sets. */
  private async belongsTo(libvirt: LibvirtClient, ref: NetworkRef, attempt: InterruptedCreate): Promise<boolean> {
    if (attempt.uuid !== undefined) {
      return formatUuid(ref.uuid) === attempt.uuid;
    }
    const persistent = await libvirt.networkIsPersistent(ref);
    const found = parseNetworkXml(await libvirt.networkGetXmlDesc(ref, persistent ? NetworkXmlFlag.INACTIVE : 0));
    const cidr = (ipv4: NetworkSpec["ipv4"]) => (ipv4 ? `${ipv4.address}/${ipv4.prefixLength}` : "");
    return found.type === attempt.spec.type && found.bridge === attempt.spec.bridge && cidr(found.ipv4) === cidr(attempt.spec.ipv4);
  }
}
