// Address and subnet arithmetic for IPv4 and IPv6 alike, on BigInt values,
// for overlap checks and subnet allocation across both families.

import { isIPv6 } from "node:net";

import { formatIpv4, parseIpv4 } from "./ipv4";

export type IpFamily = 4 | 6;

/** An IPv4 or IPv6 address as an unsigned integer of 32 or 128 bits. */
export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

/** A subnet: its first address and prefix length. */
export interface Subnet {
  family: IpFamily;
  network: bigint;
  prefixLength: number;
}

/** Number of bits in an address of each family. */
export function addressBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/**
 * Parses an IPv4 address in dotted-quad form or an IPv6 address in any of
 * its text forms, or returns undefined. IPv6 zone ids ("fe80::1%eth0") are
 * not addresses of a subnet and are rejected.
 */
export function parseIp(text: string): IpAddress | undefined {
  const ipv4 = parseIpv4(text);
  if (ipv4 !== undefined) {
    return { family: 4, value: BigInt(ipv4) };
  }
  if (!isIPv6(text) || text.includes("%")) {
    return undefined;
  }
  return { family: 6, value: parseIpv6Groups(text) };
}

function parseIpv6Groups(text: string): bigint {
  // An embedded IPv4 address at the end counts as the last two groups.
  let body = text.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  let tail: number[] = [];
  if (dotted) {
    const ipv4 = parseIpv4(dotted[1]) ?? 0;
    tail = [Math.floor(ipv4 / 65536), ipv4 % 65536];
    body = body.slice(0, body.length - dotted[1].length);
    if (body.endsWith(":") && !body.endsWith("::")) {
      body = body.slice(0, -1);
    }
  }

  const [head, rest] = body.includes("::") ? body.split("::") : [body, undefined];
  const toGroups = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const headGroups = toGroups(head);
  const restGroups = rest === undefined ? [] : toGroups(rest);
  const missing = 8 - headGroups.length - restGroups.length - tail.length;
  const groups = [...headGroups, ...new Array<number>(rest === undefined ? 0 : missing).fill(0), ...restGroups, ...tail];

  return groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

/**
 * Formats an address: dotted quad for IPv4, RFC 5952 canonical text for IPv6,
 * which is how libvirt writes addresses back. IPv4-mapped IPv6 addresses stay
 * in hex groups, unlike inet_ntop, because no network can use them.
 */
export function formatIp(address: IpAddress): string {
  if (address.family === 4) {
    return formatIpv4(Number(address.value));
  }

  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) {
    groups.push(Number((address.value >> shift) & 0xffffn));
  }

  // The longest run of two or more zero groups becomes "::", the first one on a tie.
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) {
      end += 1;
    }
    if (end - start > bestLength && end - start >= 2) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }

  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) {
    return hex.join(":");
  }
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLength).join(":");
  return `${head}::${tail}`;
}

/**
 * Parses "ADDRESS/PREFIX" into the address and its prefix length, or returns
 * undefined. A bare address counts as a host route (/32 or /128) when
 * `bareAddress` is "host".
 */
export function parseCidr(text: string, bareAddress: "reject" | "host" = "reject"): { address: IpAddress; prefixLength: number } | undefined {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseIp(addressText);
  if (address === undefined) {
    return undefined;
  }
  if (slash < 0) {
    return bareAddress === "host" ? { address, prefixLength: addressBits(address.family) } : undefined;
  }

  const prefixText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText)) {
    return undefined;
  }
  const prefixLength = Number(prefixText);
  if (prefixLength > addressBits(address.family)) {
    return undefined;
  }
  return { address, prefixLength };
}

/** Returns the subnet of the given prefix length that contains an address. */
export function subnetContaining(address: IpAddress, prefixLength: number): Subnet {
  const hostBits = BigInt(addressBits(address.family) - prefixLength);
  return { family: address.family, network: (address.value >> hostBits) << hostBits, prefixLength };
}

/** Returns a subnet's last address (the broadcast address in IPv4). */
export function lastAddressOf(subnet: Subnet): bigint {
  const hostBits = BigInt(addressBits(subnet.family) - subnet.prefixLength);
  return subnet.network + (1n << hostBits) - 1n;
}

/** Reports whether an address lies inside a subnet. */
export function subnetIncludes(subnet: Subnet, address: IpAddress): boolean {
  return address.family === subnet.family && address.value >= subnet.network && address.value <= lastAddressOf(subnet);
}

/** Reports whether two subnets share any address. */
export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  return a.family === b.family && a.network <= lastAddressOf(b) && b.network <= lastAddressOf(a);
}

/** Formats a subnet in CIDR notation, for example "10.77.0.0/24" or "2001:db8:1::/64". */
export function formatSubnet(subnet: Subnet): string {
  return `${formatIp({ family: subnet.family, value: subnet.network })}/${subnet.prefixLength}`;
}

/** Parses a subnet in CIDR notation whose host bits are all zero, or returns undefined. */
export function parseSubnet(text: string): Subnet | undefined {
  const cidr = parseCidr(text);
  if (cidr === undefined) {
    return undefined;
  }
  const subnet = subnetContaining(cidr.address, cidr.prefixLength);
  return subnet.network === cidr.address.value ? subnet : undefined;
}

/**
 * Reports whether an IPv6 address cannot be a network's host address:
 * unspecified, loopback, IPv4-mapped, link-local (fe80::/10) or multicast
 * (ff00::/8).
 */
export function isSpecialPurposeIpv6(value: bigint): boolean {
  const top16 = value >> 112n;
  return value === 0n || value === 1n || value >> 32n === 0xffffn || (top16 & 0xffc0n) === 0xfe80n || top16 >> 8n === 0xffn;
}
