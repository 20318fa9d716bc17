// Networks that the benchmark defines directly in libvirt, outside the agent.

import { LibvirtClient } from "@netagent/server/dist/libvirt";

/** Prefix of every network that defineListNetworks creates. */
export const LIST_NETWORK_PREFIX = "bench-list-";

/** At most this many libvirt calls in flight while defining or undefining networks. */
const BATCH = 50;

/**
 * Isolated network number `index`: a bridge with the host address
 * 10.(100 + index / 256).(index % 256).1/24, no DHCP, and DNS disabled, since
 * libvirt 9.0 starts a dnsmasq for DNS on every network with an address
 * unless <dns enable='no'/> is set.
 */
export function listNetworkXml(index: number): string {
  const name = listNetworkName(index);
  const bridge = `nbl${String(index).padStart(4, "0")}`;
  const address = `10.${100 + Math.floor(index / 256)}.${index % 256}.1`;
  return `<network><name>${name}</name><bridge name='${bridge}' stp='off' delay='0'/><dns enable='no'/><ip address='${address}' prefix='24'/></network>`;
}

export function listNetworkName(index: number): string {
  return `${LIST_NETWORK_PREFIX}${String(index).padStart(4, "0")}`;
}

/**
 * Defines list networks number `from` to `to - 1` with autostart on, and
 * leaves them inactive.
 *
 * NOTE: they stay inactive because each start costs more as the firewall rule
 * set grows. Measured with libvirt 9.0 and iptables-nft on 2 cores, a start
 * took about 70 ms at 100 networks and 155 ms at 400, so starting 1,000 takes
 * minutes and stopping them as long. libvirtd serves a list from its
 * in-memory definitions for active and inactive networks alike.
 */
export async function defineListNetworks(libvirt: LibvirtClient, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += BATCH) {
    const indexes = Array.from({ length: Math.min(BATCH, to - start) }, (_, i) => start + i);
    await Promise.all(
      indexes.map(async (index) => {
        const ref = await libvirt.networkDefineXml(listNetworkXml(index));
        await libvirt.networkSetAutostart(ref, true);
      }),
    );
  }
}

/** Undefines list networks number `from` to `to - 1`. */
export async function undefineListNetworks(libvirt: LibvirtClient, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += BATCH) {
    const indexes = Array.from({ length: Math.min(BATCH, to - start) }, (_, i) => start + i);
    await Promise.all(indexes.map(async (index) => libvirt.networkUndefine(await libvirt.networkLookupByName(listNetworkName(index)))));
  }
}
