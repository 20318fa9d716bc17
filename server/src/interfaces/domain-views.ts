// Reading a domain's two views: the running domain (live) and its persistent
// definition (config), and deciding which of them a request changes.

import { FailedPreconditionError, NotFoundError } from "../errors";
import { DomainRef, DomainXmlFlag, LibvirtClient, LibvirtError } from "../libvirt";
import { InterfaceElement, parseDomainInterfaces } from "./domain-xml";
import type { ViewSelection } from "./model";
import type { ValidSelector } from "./validate";

export interface DomainState {
  running: boolean;
  persistent: boolean;
}

/** A domain's interfaces in each view it has; undefined for a view the domain lacks. */
export interface DomainViews {
  live: InterfaceElement[] | undefined;
  config: InterfaceElement[] | undefined;
}

/** The views a request changes, after defaults. */
export interface ChosenViews {
  live: boolean;
  config: boolean;
}

/** One interface in either or both views, matched by MAC address. */
export interface MergedInterface {
  live: InterfaceElement | undefined;
  config: InterfaceElement | undefined;
}

export async function lookupDomain(libvirt: LibvirtClient, name: string): Promise<DomainRef> {
  try {
    return await libvirt.domainLookupByName(name);
  } catch (error) {
    throw asDomainNotFound(error, name);
  }
}

/** Turns libvirt's "no domain" error into NotFoundError; returns other errors unchanged. */
export function asDomainNotFound(error: unknown, name: string): unknown {
  if (error instanceof LibvirtError && error.isNoDomain()) {
    return new NotFoundError(`domain '${name}' not found`, { cause: error });
  }
  return error;
}

export async function readDomainState(libvirt: LibvirtClient, domain: DomainRef): Promise<DomainState> {
  const [running, persistent] = await Promise.all([libvirt.domainIsActive(domain), libvirt.domainIsPersistent(domain)]);
  return { running, persistent };
}

/** Reads the interfaces of the running domain (when it runs) and of the persistent definition (when it has one). */
export async function readDomainViews(libvirt: LibvirtClient, domain: DomainRef, state: DomainState): Promise<DomainViews> {
  const [liveXml, configXml] = await Promise.all([
    state.running ? libvirt.domainGetXmlDesc(domain, 0) : undefined,
    state.persistent ? libvirt.domainGetXmlDesc(domain, DomainXmlFlag.INACTIVE) : undefined,
  ]);
  return {
    live: liveXml === undefined ? undefined : parseDomainInterfaces(liveXml),
    config: configXml === undefined ? undefined : parseDomainInterfaces(configXml),
  };
}

/**
 * Decides which views a change applies to: by default the running domain
 * when it runs and the persistent definition when it has one.
 * @throws FailedPreconditionError when the request selects a view the domain does not have, or none at all.
 */
export function chooseViewsToChange(domain: string, selection: ViewSelection, state: DomainState): ChosenViews {
  const live = selection.live ?? state.running;
  const config = selection.persistent ?? state.persistent;

  if (live && !state.running) {
    throw new FailedPreconditionError(
      `domain '${domain}' is not running, so it has no live interfaces; set live to false (--no-live in netagentctl) to change only its persistent definition`,
    );
  }
  if (config && !state.persistent) {
    throw new FailedPreconditionError(
      `domain '${domain}' is transient and has no persistent definition; set persistent to false to change only the running domain`,
    );
  }
  if (!live && !config) {
    throw new FailedPreconditionError(
      `nothing to change: domain '${domain}' is ${state.running ? "running" : "not running"} and ` +
        `${state.persistent ? "persistent" : "transient"}, and the request excludes the views it has; set live or persistent to true`,
    );
  }
  return { live, config };
}

/**
 * Decides which views a detach looks in. Unlike other changes, a view the
 * domain lacks is no error: the interface is simply not there.
 */
export function chooseViewsToDetach(selection: ViewSelection, state: DomainState): ChosenViews {
  return {
    live: (selection.live ?? state.running) && state.running,
    config: (selection.persistent ?? state.persistent) && state.persistent,
  };
}

/** Pairs up each view's interfaces by MAC address: live ones in live order, then those only in the persistent definition. */
export function mergeViews(views: DomainViews): MergedInterface[] {
  const merged: MergedInterface[] = [];
  const byMac = new Map<string, MergedInterface>();

  for (const element of views.live ?? []) {
    const entry: MergedInterface = { live: element, config: undefined };
    merged.push(entry);
    byMac.set(element.macAddress, entry);
  }
  for (const element of views.config ?? []) {
    const entry = byMac.get(element.macAddress);
    if (entry !== undefined && entry.config === undefined) {
      entry.config = element;
    } else {
      merged.push({ live: undefined, config: element });
    }
  }
  return merged;
}

/**
 * Finds the interface a selector names, in the chosen views. An alias
 * usually exists only in the running domain, so the persistent definition is
 * searched by the MAC address of the live interface with that alias.
 */
export function findInterface(views: DomainViews, chosen: ChosenViews, selector: ValidSelector): MergedInterface {
  const byAlias = (elements: InterfaceElement[] | undefined) =>
    selector.alias === undefined ? undefined : elements?.find((element) => element.alias === selector.alias);

  const macAddress = selector.macAddress ?? byAlias(views.live)?.macAddress ?? byAlias(views.config)?.macAddress;
  if (macAddress === undefined) {
    return { live: undefined, config: undefined };
  }
  const byMac = (elements: InterfaceElement[] | undefined) => elements?.find((element) => element.macAddress === macAddress);
  return {
    live: chosen.live ? byMac(views.live) : undefined,
    config: chosen.config ? byMac(views.config) : undefined,
  };
}

/** Describes a selector for messages: "MAC address 52:54:00:..." or "alias net0". */
export function describeSelector(selector: ValidSelector): string {
  return selector.macAddress !== undefined ? `MAC address ${selector.macAddress}` : `alias ${selector.alias}`;
}
