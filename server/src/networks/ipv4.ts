// IPv4 address arithmetic on 32-bit unsigned integers.

/** Parses a dotted-quad IPv4 address, or returns undefined when it is not one. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) {
    return undefined;
  }

  let value = 0;
  for (const part of parts) {
    // Leading zeros are rejected because some tools read them as octal.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) {
      return undefined;
    }
    const octet = Number(part);
    if (octet > 255) {
      return undefined;
    }
    value = value * 256 + octet;
  }
  return value;
}

/** Formats a 32-bit unsigned integer as a dotted-quad IPv4 address. */
export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** An IPv4 subnet: its network address and prefix length. */
export interface Ipv4Subnet {
  network: number;
  prefixLength: number;
}

/** Returns the subnet that contains an address. */
export function subnetOf(address: number, prefixLength: number): Ipv4Subnet {
  const size = 2 ** (32 - prefixLength);
  return { network: address - (address % size), prefixLength };
}

/** Returns the last address of a subnet, its broadcast address. */
export function broadcastOf(subnet: Ipv4Subnet): number {
  return subnet.network + 2 ** (32 - subnet.prefixLength) - 1;
}

/** Reports whether an address lies inside a subnet. */
export function subnetContains(subnet: Ipv4Subnet, address: number): boolean {
  return address >= subnet.network && address <= broadcastOf(subnet);
}

/** Formats a subnet in CIDR notation, for example "10.77.0.0/24". */
export function formatSubnet(subnet: Ipv4Subnet): string {
  return `${formatIpv4(subnet.network)}/${subnet.prefixLength}`;
}

/** Reports whether an address is unusable on a guest network (this-network, loopback, multicast, reserved). */
export function isSpecialPurpose(address: number): boolean {
  const firstOctet = Math.floor(address / 2 ** 24);
  return firstOctet === 0 || firstOctet === 127 || firstOctet >= 224;
}
