import { FailedPreconditionError, InvalidArgumentError } from "../errors";
import { IpAddressType } from "../libvirt";
import type { ManagerContext } from "./context";
import { parseIp } from "./ip";
import type { Connectivity } from "./model";
import { macProblem } from "./names";
import { describe, lookupOrThrow, quote } from "./steps";
import { validateNetworkName } from "./validate";

/** A DHCP lease of libvirt's dnsmasq. */
export interface Lease {
  ipAddress: string;
  prefixLength: number;
  mac: string;
  hostname: string;
  clientId: string;
  iaid: string;
  /** Undefined for a lease that never expires. */
  expiryTime?: Date;
  interfaceName: string;
}

export interface LeaseList {
  leases: Lease[];
  dhcpSource: Connectivity["dhcpSource"];
}

/**
 * Lists a network's DHCP leases, all or those of one MAC. BRIDGE and MACVTAP
 * networks return no leases and dhcpSource "lan": their DHCP server is the
 * LAN's, which libvirt does not know.
 */
export async function listLeases(context: ManagerContext, name: string, mac = ""): Promise<LeaseList> {
  validateNetworkName(name);
  if (mac !== "") {
    const problem = macProblem(mac);
    if (problem !== undefined) {
      throw new InvalidArgumentError([{ field: "mac", description: problem }]);
    }
  }

  const libvirt = await context.session.client();
  const ref = await lookupOrThrow(libvirt, name);
  const network = await describe(libvirt, ref);
  const dhcpSource = network.connectivity.dhcpSource;
  if (dhcpSource === "lan") {
    return { leases: [], dhcpSource };
  }
  if (!network.active) {
    throw new FailedPreconditionError(`network ${quote(name)} is defined but not active, so it has no leases; start it first`);
  }

  const leases = await libvirt.networkGetDhcpLeases(ref, mac === "" ? undefined : mac.toLowerCase());
  const converted = leases.map((lease) => ({
    ipAddress: lease.ipAddress,
    prefixLength: lease.prefix,
    mac: lease.mac ?? "",
    hostname: lease.hostname ?? "",
    clientId: lease.clientId ?? "",
    iaid: lease.iaid ?? "",
    expiryTime: lease.expiryTime === 0n ? undefined : new Date(Number(lease.expiryTime) * 1000),
    interfaceName: lease.iface,
    family: lease.type === IpAddressType.IPV6 ? 6 : 4,
  }));

  converted.sort((a, b) => a.family - b.family || compareAddresses(a.ipAddress, b.ipAddress));
  return { leases: converted.map(({ family: _family, ...lease }) => lease), dhcpSource };
}

function compareAddresses(a: string, b: string): number {
  const x = parseIp(a)?.value ?? 0n;
  const y = parseIp(b)?.value ?? 0n;
  return x < y ? -1 : x > y ? 1 : 0;
}
