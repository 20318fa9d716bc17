// Parser for /proc/net/ipv6_route, the kernel's fixed-column hex table of
// IPv6 routes. It is the only place that shows RTF_ADDRCONF, the flag of
// routes the kernel made from router advertisements, which libvirt 9.0
// checks before it turns IPv6 forwarding on.

import { Subnet } from "../networks/ip";

/** include/uapi/linux/ipv6_route.h: the route was learned by address autoconfiguration. */
const RTF_ADDRCONF = 0x00040000;

/** An IPv6 route that the kernel created from a router advertisement. */
export interface AutoconfiguredRoute {
  subnet: Subnet;
  device: string;
}

/**
 * Returns the routes with RTF_ADDRCONF from the text of /proc/net/ipv6_route.
 * Each line is: destination, its prefix length, source, its prefix length,
 * next hop, metric, reference count, use count, flags (all hex) and the
 * device name.
 */
export function parseAutoconfiguredRoutes(text: string): AutoconfiguredRoute[] {
  const routes: AutoconfiguredRoute[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || !/^[0-9a-f]{32}$/i.test(fields[0])) {
      continue;
    }
    const flags = parseInt(fields[8], 16);
    if ((flags & RTF_ADDRCONF) === 0) {
      continue;
    }
    routes.push({
      subnet: { family: 6, network: BigInt(`0x${fields[0]}`), prefixLength: parseInt(fields[1], 16) },
      device: fields[9],
    });
  }
  return routes;
}
