import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../errors";
import { DomainDeviceModifyFlag, DomainRef, ErrorCode, LibvirtClient, LibvirtError, LibvirtLogger } from "../libvirt";
import { silentLogger } from "../libvirt/logger";
import { LibvirtSession } from "../libvirt/session";
import { KeyedMutex } from "../networks/keyed-mutex";
import { describeInterfaces, NetworkFactsCache } from "./describe";
import { DeviceRemovalWatch } from "./device-removal";
import {
  ChosenViews,
  chooseViewsToChange,
  chooseViewsToDetach,
  describeSelector,
  DomainState,
  findInterface,
  lookupDomain,
  readDomainState,
  readDomainViews,
} from "./domain-views";
import { InterfaceElement, renderInterfaceElement, renderNetworkInterface, withLinkState } from "./domain-xml";
import { attachFailure, libvirtStep, stepFailure } from "./failures";
import { generateMacAddress } from "./mac";
import type {
  AttachRequest,
  AttachResult,
  DetachRequest,
  DetachResult,
  GuestInterface,
  InterfaceFilter,
  UpdateRequest,
} from "./model";
import { attachWarnings, readNetworkFacts } from "./network-facts";
import { validateAttach, validateDetach, validateFilter, validateUpdate } from "./validate";

/**
 * Attaches, detaches, lists and updates the interfaces of libvirt domains.
 * Changes to one domain run one at a time. libvirt errors that the caller can
 * act on become FailedPreconditionError with libvirt's own reason.
 */
export class InterfaceManager {
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly session: LibvirtSession,
    private readonly logger: LibvirtLogger = silentLogger,
  ) {}

  /** Adds an interface on an active network to the running domain, its persistent definition or both, in one libvirt call. */
  async attach(request: AttachRequest): Promise<AttachResult> {
    const spec = validateAttach(request);

    return this.locks.run(spec.domain, async () => {
      const libvirt = await this.session.client();
      const domain = await lookupDomain(libvirt, spec.domain);
      const state = await readDomainState(libvirt, domain);
      const chosen = chooseViewsToChange(spec.domain, spec, state);

      const network = await readNetworkFacts(libvirt, spec.network);
      if (network === undefined) {
        throw new NotFoundError(`network '${spec.network}' not found`);
      }
      if (!network.active) {
        throw new FailedPreconditionError(
          `network '${spec.network}' is defined but not active; start it with StartNetwork (netagentctl network start ${spec.network}), then attach again`,
        );
      }

      const views = await readDomainViews(libvirt, domain, state);
      const existing = [...(views.live ?? []), ...(views.config ?? [])];
      const usedMacAddresses = new Set(existing.map((element) => element.macAddress));
      if (spec.macAddress !== undefined && usedMacAddresses.has(spec.macAddress)) {
        const owner = existing.find((element) => element.macAddress === spec.macAddress)!;
        throw new AlreadyExistsError(
          `domain '${spec.domain}' already has an interface with MAC address ${spec.macAddress}` +
            `${owner.network ? ` on network '${owner.network}'` : ""}; detach it first, or choose another MAC address`,
        );
      }

      const macAddress = spec.macAddress ?? generateMacAddress(usedMacAddresses);
      const xml = renderNetworkInterface({ network: spec.network, macAddress, model: spec.model, linkState: spec.linkState });
      try {
        await libvirt.domainAttachDeviceFlags(domain, xml, modifyFlags(chosen));
      } catch (error) {
        throw attachFailure(error, spec, chosen, state);
      }

      const attached = await this.describeOne(libvirt, domain, macAddress);
      return { interface: attached, connectivity: network.connectivity, warnings: attachWarnings(network) };
    });
  }

  /**
   * Removes an interface. A live removal waits for libvirt's DEVICE_REMOVED
   * event up to the request's timeout, or until `options.signal` aborts, and
   * then reports "pending".
   */
  async detach(request: DetachRequest, options: { signal?: AbortSignal } = {}): Promise<DetachResult> {
    const spec = validateDetach(request);

    return this.locks.run(spec.domain, async () => {
      const libvirt = await this.session.client();
      const domain = await lookupDomain(libvirt, spec.domain);
      const state = await readDomainState(libvirt, domain);
      const views = await readDomainViews(libvirt, domain, state);
      const found = findInterface(views, chooseViewsToDetach(spec, state), spec.selector);
      if (found.live === undefined && found.config === undefined) {
        return { state: "already-absent" };
      }

      const before = await this.describeFromViews(libvirt, domain, state, views, (found.live ?? found.config)!.macAddress);
      let pending = false;
      if (found.live !== undefined) {
        pending = !(await this.detachLive(libvirt, domain, found.live, spec.timeoutSeconds * 1000, options.signal));
      }
      if (found.config !== undefined) {
        const xml = renderInterfaceElement(found.config.node);
        await libvirtStep("remove the interface from the persistent definition of", spec.domain, () =>
          libvirt.domainDetachDeviceFlags(domain, xml, DomainDeviceModifyFlag.CONFIG),
        );
      }
      return { state: pending ? "pending" : "detached", interface: before };
    });
  }

  /** Lists the interfaces of one domain or of all domains, optionally only those on one network. */
  async list(filter: InterfaceFilter = {}): Promise<GuestInterface[]> {
    validateFilter(filter);
    const libvirt = await this.session.client();
    const networks: NetworkFactsCache = new Map();

    let perDomain: GuestInterface[][];
    if (filter.domain) {
      const domain = await lookupDomain(libvirt, filter.domain);
      perDomain = [await this.describeDomain(libvirt, domain, networks)];
    } else {
      const domains = await libvirt.listAllDomains(0);
      domains.sort((a, b) => compareNames(a.name, b.name));
      perDomain = await Promise.all(
        domains.map((domain) =>
          this.describeDomain(libvirt, domain, networks).catch((error: unknown) => {
            // A domain undefined between the list and this read is simply gone.
            if (error instanceof LibvirtError && error.isNoDomain()) {
              return [];
            }
            throw error;
          }),
        ),
      );
    }

    const all = perDomain.flat();
    return filter.network ? all.filter((guestInterface) => guestInterface.network === filter.network) : all;
  }

  /** Sets an interface's link state in the chosen views that have the interface. */
  async update(request: UpdateRequest): Promise<GuestInterface> {
    const spec = validateUpdate(request);

    return this.locks.run(spec.domain, async () => {
      const libvirt = await this.session.client();
      const domain = await lookupDomain(libvirt, spec.domain);
      const state = await readDomainState(libvirt, domain);
      const chosen = chooseViewsToChange(spec.domain, spec, state);
      const views = await readDomainViews(libvirt, domain, state);
      const found = findInterface(views, chosen, spec.selector);
      if (found.live === undefined && found.config === undefined) {
        throw new NotFoundError(`domain '${spec.domain}' has no interface with ${describeSelector(spec.selector)}`);
      }

      const changes: Array<[InterfaceElement | undefined, number, string]> = [
        [found.live, DomainDeviceModifyFlag.LIVE, "set the link state of an interface of"],
        [found.config, DomainDeviceModifyFlag.CONFIG, "set the link state in the persistent definition of"],
      ];
      for (const [element, flags, action] of changes) {
        if (element !== undefined) {
          const xml = renderInterfaceElement(withLinkState(element.node, spec.linkState));
          await libvirtStep(action, spec.domain, () => libvirt.domainUpdateDeviceFlags(domain, xml, flags));
        }
      }
      return this.describeOne(libvirt, domain, (found.live ?? found.config)!.macAddress);
    });
  }

  /**
   * Asks the guest to release a live interface and waits for libvirt to
   * report it removed.
   * @returns true when the interface is gone, false when the removal is still pending.
   */
  private async detachLive(
    libvirt: LibvirtClient,
    domain: DomainRef,
    element: InterfaceElement,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const action = "remove an interface from running";

    if (element.alias === "") {
      // Every interface of a running QEMU domain has an alias. Other drivers may not
      // give one, and their detach call itself waits as long as the driver does.
      const xml = renderInterfaceElement(element.node);
      await libvirtStep(action, domain.name, () => libvirt.domainDetachDeviceFlags(domain, xml, DomainDeviceModifyFlag.LIVE));
      return !(await this.hasLiveInterface(libvirt, domain, element.macAddress));
    }

    const watch = await DeviceRemovalWatch.open(libvirt, domain);
    try {
      try {
        await libvirt.domainDetachDeviceAlias(domain, element.alias, DomainDeviceModifyFlag.LIVE);
      } catch (error) {
        // The guest released the device between our read and this call.
        if (error instanceof LibvirtError && error.code === ErrorCode.DEVICE_MISSING) {
          return true;
        }
        throw stepFailure(error, action, domain.name);
      }

      const outcome = await watch.waitFor(element.alias, timeoutMs, signal);
      if (outcome === "removed") {
        return true;
      }
      if (outcome === "removal-failed") {
        throw new FailedPreconditionError(
          `the guest of domain '${domain.name}' failed to release interface ${element.macAddress} (alias ${element.alias}), ` +
            "so it stays attached; retry later or detach it with live set to false and restart the domain",
        );
      }
      // Timed out or aborted: the live XML shows whether the device is still there.
      return !(await this.hasLiveInterface(libvirt, domain, element.macAddress));
    } finally {
      await watch.close().catch((error: unknown) => {
        this.logger.warn({ err: error, domain: domain.name }, "failed to deregister libvirt's device removal events");
      });
    }
  }

  private async hasLiveInterface(libvirt: LibvirtClient, domain: DomainRef, macAddress: string): Promise<boolean> {
    const views = await readDomainViews(libvirt, domain, { running: true, persistent: false });
    return (views.live ?? []).some((element) => element.macAddress === macAddress);
  }

  private async describeDomain(libvirt: LibvirtClient, domain: DomainRef, networks: NetworkFactsCache): Promise<GuestInterface[]> {
    const state = await readDomainState(libvirt, domain);
    const views = await readDomainViews(libvirt, domain, state);
    return describeInterfaces(libvirt, domain, state, views, networks, this.logger);
  }

  private async describeOne(libvirt: LibvirtClient, domain: DomainRef, macAddress: string): Promise<GuestInterface> {
    const state = await readDomainState(libvirt, domain);
    const views = await readDomainViews(libvirt, domain, state);
    return this.describeFromViews(libvirt, domain, state, views, macAddress);
  }

  private async describeFromViews(
    libvirt: LibvirtClient,
    domain: DomainRef,
    state: DomainState,
    views: Awaited<ReturnType<typeof readDomainViews>>,
    macAddress: string,
  ): Promise<GuestInterface> {
    const all = await describeInterfaces(libvirt, domain, state, views, new Map(), this.logger);
    const found = all.find((guestInterface) => guestInterface.macAddress === macAddress);
    if (found === undefined) {
      throw new Error(`interface ${macAddress} of domain '${domain.name}' is missing from libvirt's domain XML`);
    }
    return found;
  }
}

function compareNames(a: string, b: string): number {
  if (a === b) {
    return 0;
  }
  return a < b ? -1 : 1;
}

function modifyFlags(chosen: ChosenViews): number {
  return (chosen.live ? DomainDeviceModifyFlag.LIVE : 0) | (chosen.config ? DomainDeviceModifyFlag.CONFIG : 0);
}
