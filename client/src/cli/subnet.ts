import type { Ipv4Config } from "@netagent/proto";

/**
 * Turns the CLI's --subnet shorthand into the API's Ipv4Config: the host
 * takes the first address and, unless DHCP is off, the rest of the subnet
 * but the broadcast address is one DHCP range. 10.77.0.0/24 becomes host
 * 10.77.0.1/24 with DHCP 10.77.0.2-10.77.0.254.
 * @throws Error explaining the expected form.
 */
export function ipv4FromSubnet(subnet: string, withDhcp: boolean): Ipv4Config {
  const invalid = (reason: string) =>
    new Error(`invalid --subnet ${JSON.stringify(subnet)}: ${reason}; use an IPv4 subnet such as 10.77.0.0/24`);
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(subnet);
  if (!match) {
    throw invalid("not an IPv4 address with a prefix length");
  }
  if (match[5] === undefined) {
    throw invalid("the prefix length is missing");
  }
  const octets = match.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) {
    throw invalid("each of the four numbers must be from 0 to 255");
  }
  const prefixLength = Number(match[5]);
  if (!(prefixLength >= 1 && prefixLength <= 30)) {
    throw invalid(`the prefix length /${prefixLength} is outside 1 to 30`);
  }

  const value = octets.reduce((sum, octet) => sum * 256 + octet, 0);
  const size = 2 ** (32 - prefixLength);
  if (value % size !== 0) {
    const network = format(value - (value % size));
    throw new Error(`invalid --subnet ${JSON.stringify(subnet)}: host bits are set; use ${network}/${prefixLength}, or --host-address ${subnet} to pick the host address yourself`);
  }

  const dhcpRanges = withDhcp && size > 4 ? [{ start: format(value + 2), end: format(value + size - 2) }] : [];
  return { address: `${format(value + 1)}/${prefixLength}`, dhcpRanges, dhcpHosts: [] };
}

function format(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}
