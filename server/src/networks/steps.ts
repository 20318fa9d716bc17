// Helpers that every network operation shares: libvirt steps with error
// translation, lookups and turning libvirt's view into the model.

import { FailedPreconditionError, NotFoundError } from "../errors";
import { formatUuid, isLibvirtConnectionError, LibvirtClient, LibvirtConnectionError, LibvirtError, NetworkRef, NetworkXmlFlag } from "../libvirt";
import { connectivityOf } from "./connectivity";
import type { Network } from "./model";
import { restartFields } from "./update-plan";
import { parseNetworkXml } from "./xml";

/**
 * Runs one libvirt step of an operation. A libvirt error becomes a
 * FailedPreconditionError naming the step and passing libvirt's reason on;
 * a lost connection stays a LibvirtConnectionError that names the step.
 */
export async function step<T>(name: string, network: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof LibvirtError) {
      throw new FailedPreconditionError(`libvirt failed to ${name} network ${quote(network)}: ${explainLibvirtMessage(error.message)}`, { cause: error });
    }
    if (isLibvirtConnectionError(error)) {
      throw new LibvirtConnectionError(`the libvirt connection was lost during the ${name} step of network ${quote(network)}`, { reason: error.reason, cause: error });
    }
    throw error;
  }
}

/**
 * Shortens libvirt's report of a helper process that failed to its own
 * reason. libvirt 9.0 reports a dnsmasq that cannot start as "internal
 * error: Child process (VIR_BRIDGE_NAME=... /usr/sbin/dnsmasq --conf-file=...)
 * unexpected exit status 2: \ndnsmasq: failed to create listening socket for
 * 10.77.0.1: Address already in use", and only the last part helps.
 */
export function explainLibvirtMessage(message: string): string {
  const match = /Child process \((.*?)\) unexpected exit status (\d+):\s*([\s\S]*)$/.exec(message);
  if (match === null) {
    return message;
  }
  const [, command, status, output] = match;
  const program = /(?:^|[\s/])(dnsmasq|radvd|iptables|ip6tables|nft|ebtables)(?:\s|$)/.exec(command)?.[1] ?? "a helper process";
  const reason = output
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join("; ");
  return `${program} could not start (exit status ${status}): ${reason || "it printed no reason"}`;
}

export async function lookup(libvirt: LibvirtClient, name: string): Promise<NetworkRef | undefined> {
  try {
    return await libvirt.networkLookupByName(name);
  } catch (error) {
    if (isNoNetwork(error)) {
      return undefined;
    }
    throw error;
  }
}

export async function lookupOrThrow(libvirt: LibvirtClient, name: string): Promise<NetworkRef> {
  const ref = await lookup(libvirt, name);
  if (ref === undefined) {
    throw notFound(name);
  }
  return ref;
}

export function isNoNetwork(error: unknown): boolean {
  return error instanceof LibvirtError && error.isNoNetwork();
}

export function notFound(name: string): NotFoundError {
  return new NotFoundError(`network ${quote(name)} not found`);
}

export function quote(value: string): string {
  return `'${value}'`;
}

/**
 * Reads a network's state and XML. With `inactiveXml`, a persistent
 * network is described by its persistent definition, which is what the
 * next start uses.
 */
export async function describe(libvirt: LibvirtClient, ref: NetworkRef, options: { inactiveXml?: boolean } = {}): Promise<Network> {
  const [active, persistent, autostart] = await Promise.all([
    libvirt.networkIsActive(ref),
    libvirt.networkIsPersistent(ref),
    libvirt.networkGetAutostart(ref),
  ]);
  const flags = options.inactiveXml && persistent ? NetworkXmlFlag.INACTIVE : 0;
  const parsed = parseNetworkXml(await libvirt.networkGetXmlDesc(ref, flags));
  const network = toNetwork({ ...parsed, uuid: parsed.uuid || formatUuid(ref.uuid) }, { active, persistent, autostart });

  // The running view says which changes of the persistent definition wait for a restart.
  if (active && persistent && !options.inactiveXml) {
    const pending = restartFields(parsed, parseNetworkXml(await libvirt.networkGetXmlDesc(ref, NetworkXmlFlag.INACTIVE)));
    if (pending.length > 0) {
      network.pendingRestartFields = pending;
    }
  }
  return network;
}

/** Combines parsed XML and libvirt's state flags into the model, dropping the XML-only details. */
export function toNetwork(
  parsed: ReturnType<typeof parseNetworkXml>,
  state: { active: boolean; persistent: boolean; autostart: boolean },
): Network {
  const { macAddress: _macAddress, ipIndex: _ipIndex, ...spec } = parsed;
  return { ...spec, ...state, connectivity: connectivityOf(parsed) };
}
