import {
  DomainDeviceMessage,
  domainGetXmlDesc,
  DomainLifecycleEvent,
  DomainLifecycleMessage,
  DomainRef,
  formatUuid,
  isLibvirtConnectionError,
  LibvirtClient,
  LibvirtError,
  LibvirtLogger,
  listAllDomains,
  ListDomainsFlag,
  registerDomainDeviceEvents,
  registerDomainLifecycleEvents,
} from "../libvirt";
import type { LibvirtSession } from "../libvirt/session";
import { DomainNic, parseDomainNics } from "./domain-xml";
import type { InterfaceChange, InterfaceChangeType } from "./model";

/** Aliases that libvirt gives network interfaces it names itself. */
const GENERATED_NIC_ALIAS = /^net[0-9]+$/;

/**
 * Turns libvirt's domain device events into interface events. A device
 * event names only the domain and the device alias, so the source keeps the
 * interfaces of every running domain (alias, MAC, network) from the domains'
 * XML: a removed device is gone from the XML by the time its event arrives.
 * Devices that are not network interfaces, such as disks, are ignored.
 */
export class InterfaceEventSource {
  /** Interfaces by alias, per running domain (by UUID). */
  private readonly domains = new Map<string, Map<string, DomainNic>>();

  constructor(
    session: LibvirtSession,
    private readonly publish: (change: InterfaceChange) => void,
    private readonly logger: LibvirtLogger,
  ) {
    session.onConnect((client) => this.onConnect(client));
  }

  private async onConnect(client: LibvirtClient): Promise<void> {
    let initialReadDone: () => void = () => undefined;
    const initialRead = new Promise<void>((resolve) => (initialReadDone = resolve));
    // Events wait until every running domain's interfaces are known.
    const afterInitialRead =
      <T>(handle: (message: T) => Promise<void>) =>
      async (message: T) => {
        await initialRead;
        await handle(message);
      };

    try {
      await registerDomainLifecycleEvents(client, afterInitialRead((m: DomainLifecycleMessage) => this.onLifecycle(client, m)));
      await registerDomainDeviceEvents(client, "added", afterInitialRead((m: DomainDeviceMessage) => this.onDevice(client, "attached", m)));
      await registerDomainDeviceEvents(client, "removed", afterInitialRead((m: DomainDeviceMessage) => this.onDevice(client, "detached", m)));
      await registerDomainDeviceEvents(
        client,
        "removal-failed",
        afterInitialRead((m: DomainDeviceMessage) => this.onDevice(client, "detach-failed", m)),
      );
      await this.readAll(client);
    } catch (error) {
      if (isLibvirtConnectionError(error)) {
        throw error;
      }
      // A driver without domains, such as a network-only URI, still serves network events.
      this.logger.warn({ err: error }, "domain events are unavailable, so watchers get no interface events");
    } finally {
      initialReadDone();
    }
  }

  private async readAll(client: LibvirtClient): Promise<void> {
    this.domains.clear();
    const running = await listAllDomains(client, ListDomainsFlag.ACTIVE);
    await Promise.all(running.map((domain) => this.readDomain(client, domain)));
  }

  /** Reads a domain's interfaces into the map; returns them, or undefined when the XML cannot be read. */
  private async readDomain(client: LibvirtClient, domain: DomainRef): Promise<Map<string, DomainNic> | undefined> {
    const uuid = formatUuid(domain.uuid);
    try {
      const nics = new Map(parseDomainNics(await domainGetXmlDesc(client, domain)).map((nic) => [nic.alias, nic]));
      this.domains.set(uuid, nics);
      return nics;
    } catch (error) {
      if (isLibvirtConnectionError(error)) {
        throw error;
      }
      if (!(error instanceof LibvirtError && error.isNoDomain())) {
        this.logger.warn({ err: error, domain: domain.name }, "reading a domain's interfaces failed");
      }
      return undefined;
    }
  }

  // NOTE: each registration has its own queue, so a device event may be
  // handled before a lifecycle event that libvirt sent just ahead of it.
  private async onLifecycle(client: LibvirtClient, message: DomainLifecycleMessage): Promise<void> {
    switch (message.event) {
      case DomainLifecycleEvent.STARTED:
        await this.readDomain(client, message.domain);
        return;
      case DomainLifecycleEvent.STOPPED:
      case DomainLifecycleEvent.CRASHED:
      case DomainLifecycleEvent.UNDEFINED:
        this.domains.delete(formatUuid(message.domain.uuid));
        return;
      default:
        return;
    }
  }

  private async onDevice(client: LibvirtClient, type: InterfaceChangeType, message: DomainDeviceMessage): Promise<void> {
    const uuid = formatUuid(message.domain.uuid);
    let nic: DomainNic | undefined;

    if (type === "attached") {
      nic = (await this.readDomain(client, message.domain))?.get(message.alias);
    } else {
      nic = this.domains.get(uuid)?.get(message.alias);
      if (type === "detached") {
        this.domains.get(uuid)?.delete(message.alias);
      }
    }

    if (nic === undefined && !GENERATED_NIC_ALIAS.test(message.alias)) {
      return;
    }
    this.publish({
      type,
      domain: message.domain.name,
      domainUuid: uuid,
      alias: message.alias,
      mac: nic?.mac,
      network: nic?.network,
    });
  }
}
