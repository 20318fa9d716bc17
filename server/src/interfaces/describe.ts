// Turns a domain's views into GuestInterface records with addresses and the
// facts of their networks.

import { DomainRef, InterfaceAddressesSource, LibvirtClient, LibvirtError, LibvirtLogger } from "../libvirt";
import { DomainState, DomainViews, mergeViews, MergedInterface } from "./domain-views";
import type { GuestInterface } from "./model";
import { addressesNote, NetworkFacts, readNetworkFacts } from "./network-facts";

/** Network facts by network name, shared by the domains of one request so each network is read once. */
export type NetworkFactsCache = Map<string, Promise<NetworkFacts | undefined>>;

/** The DHCP lease addresses of a running domain by MAC address, or why libvirt could not read them. */
type LeaseAddresses = { byMac: Map<string, string[]>; error?: undefined } | { byMac?: undefined; error: string };

export async function describeInterfaces(
  libvirt: LibvirtClient,
  domain: DomainRef,
  state: DomainState,
  views: DomainViews,
  networks: NetworkFactsCache,
  logger: LibvirtLogger,
): Promise<GuestInterface[]> {
  const merged = mergeViews(views);
  const leases: LeaseAddresses = state.running ? await readLeaseAddresses(libvirt, domain, logger) : { byMac: new Map() };

  return Promise.all(
    merged.map(async (entry) => {
      const element = (entry.live ?? entry.config)!;
      const facts = element.network === "" ? undefined : await networkFacts(libvirt, element.network, networks);
      const addresses = (entry.live && leases.byMac?.get(element.macAddress)) || [];

      return {
        domain: domain.name,
        macAddress: element.macAddress,
        network: element.network,
        type: element.type,
        model: element.model,
        alias: entry.live?.alias ?? "",
        tapDevice: entry.live?.tapDevice ?? "",
        linkState: element.linkState,
        live: entry.live !== undefined,
        persistent: entry.config !== undefined,
        addresses,
        dhcpSource: facts?.connectivity.dhcpSource,
        addressesNote: addresses.length > 0 ? "" : noteWithoutAddresses(domain.name, state, entry, facts, leases.error),
      };
    }),
  );
}

function networkFacts(libvirt: LibvirtClient, name: string, cache: NetworkFactsCache): Promise<NetworkFacts | undefined> {
  let facts = cache.get(name);
  if (facts === undefined) {
    facts = readNetworkFacts(libvirt, name);
    cache.set(name, facts);
  }
  return facts;
}

/**
 * Reads the addresses that libvirt's DHCP servers leased to the domain. A
 * failure is logged and reported in each interface's note, because the
 * interfaces themselves are still worth listing.
 */
async function readLeaseAddresses(libvirt: LibvirtClient, domain: DomainRef, logger: LibvirtLogger): Promise<LeaseAddresses> {
  // NOTE: the ARP source would also find static addresses, but libvirt 9.0 fails it
  // with "internal error: wrong nlmsg len" on the 6.18 host kernel where it was tried.
  try {
    const interfaces = await libvirt.domainInterfaceAddresses(domain, InterfaceAddressesSource.LEASE);
    const byMac = new Map<string, string[]>();
    for (const entry of interfaces) {
      if (entry.hwaddr === undefined) {
        continue;
      }
      const mac = entry.hwaddr.toLowerCase();
      byMac.set(mac, [...(byMac.get(mac) ?? []), ...entry.addresses.map((a) => `${a.address}/${a.prefix}`)]);
    }
    return { byMac };
  } catch (error) {
    if (!(error instanceof LibvirtError)) {
      throw error;
    }
    logger.warn({ err: error, domain: domain.name }, "libvirt could not read the DHCP lease addresses of a domain");
    return { error: error.message };
  }
}

function noteWithoutAddresses(
  domain: string,
  state: DomainState,
  entry: MergedInterface,
  facts: NetworkFacts | undefined,
  leaseError: string | undefined,
): string {
  const element = (entry.live ?? entry.config)!;
  if (!state.running) {
    return `domain '${domain}' is not running, so the interface has no addresses`;
  }
  if (entry.live === undefined) {
    return "the interface is only in the persistent definition, so it gets addresses after the domain's next start";
  }
  if (element.network === "") {
    return `libvirt sees addresses only in the DHCP leases of its own networks, and this interface has type '${element.type}'; read the address inside the guest`;
  }
  if (facts === undefined) {
    return `network '${element.network}' does not exist, so libvirt has no leases for this interface`;
  }
  if (!facts.active) {
    return `network '${element.network}' is not active, so it serves no DHCP leases`;
  }
  if (leaseError !== undefined && facts.connectivity.dhcpSource === "libvirt") {
    return `libvirt could not read the DHCP leases: ${leaseError}`;
  }
  return addressesNote(facts);
}
