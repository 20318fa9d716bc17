import { LibvirtClient, ListNetworksFlag, NetworkXmlFlag } from "../libvirt";
import { isNoNetwork } from "./steps";
import { parseNetworkXml, ParsedNetworkXml } from "./xml";

/**
 * Reads the definition of every libvirt network for conflict checks and
 * subnet allocation. A running network whose persistent definition was
 * changed appears twice, once per definition, because both its running
 * subnets and those of its next start are taken.
 */
export async function readAllNetworks(libvirt: LibvirtClient): Promise<ParsedNetworkXml[]> {
  const [all, active, persistent] = await Promise.all([
    libvirt.listAllNetworks(0),
    libvirt.listAllNetworks(ListNetworksFlag.ACTIVE),
    libvirt.listAllNetworks(ListNetworksFlag.PERSISTENT),
  ]);
  const activeNames = new Set(active.map((n) => n.name));
  const persistentNames = new Set(persistent.map((n) => n.name));

  const definitions = await Promise.all(
    all.map(async (ref) => {
      const flags: number[] = [];
      if (activeNames.has(ref.name)) {
        flags.push(0);
      }
      if (persistentNames.has(ref.name)) {
        flags.push(NetworkXmlFlag.INACTIVE);
      }
      try {
        const documents = await Promise.all(flags.map((flag) => libvirt.networkGetXmlDesc(ref, flag)));
        return [...new Set(documents)].map(parseNetworkXml);
      } catch (error) {
        // A network removed between the list and this read is simply gone.
        if (isNoNetwork(error)) {
          return [];
        }
        throw error;
      }
    }),
  );
  return definitions.flat();
}
