import type { FieldViolation } from "../errors";
import { formatIp, IpAddress, IpFamily, isSpecialPurposeIpv6, lastAddressOf, parseCidr, parseIp, Subnet, subnetContaining, formatSubnet } from "./ip";
import { isSpecialPurpose } from "./ipv4";
import type { DhcpHost, DhcpRange, IpConfig, IpConfigInput } from "./model";
import { dnsNameProblem, macProblem, quote } from "./names";

type Report = (field: string, description: string) => void;

const EXAMPLE: Record<IpFamily, string> = { 4: "10.77.0.1/24", 6: "2001:db8:1::1/64" };

/**
 * Checks the host address, DHCP ranges and static DHCP hosts of one address
 * family and returns them in canonical form, or undefined after reporting
 * at least one violation. `field` is the path of the config, for example
 * "network.ipv4".
 */
export function checkIpConfig(input: IpConfigInput, family: IpFamily, field: string, report: Report): IpConfig | undefined {
  const found: FieldViolation[] = [];
  const collect: Report = (path, description) => {
    found.push({ field: path, description });
    report(path, description);
  };

  const host = checkHostAddress(input.address, family, `${field}.address`, collect);
  if (host === undefined) {
    return undefined;
  }

  const { address, subnet } = host;
  const servesDhcp = input.dhcpRanges.length > 0 || (input.dhcpHosts ?? []).length > 0;
  if (family === 6 && servesDhcp && subnet.prefixLength < 64) {
    // dnsmasq 2.90 refuses to start: "prefix length must be at least 64".
    collect(`${field}.address`, `invalid value ${quote(input.address)}: DHCPv6 needs a prefix length of at least 64, because dnsmasq rejects shorter ones; use for example ${formatIp(address)}/64, or drop the DHCP ranges and hosts`);
    return undefined;
  }
  const ranges = checkRanges(input.dhcpRanges, subnet, address, `${field}.dhcp_ranges`, collect);
  const hosts = checkHosts(input.dhcpHosts ?? [], family, subnet, address, `${field}.dhcp_hosts`, collect);
  if (found.length > 0) {
    return undefined;
  }
  return { address: formatIp(address), prefixLength: subnet.prefixLength, dhcpRanges: ranges, dhcpHosts: hosts };
}

function checkHostAddress(cidr: string, family: IpFamily, field: string, report: Report): { address: IpAddress; subnet: Subnet } | undefined {
  const familyName = family === 4 ? "IPv4" : "IPv6";
  const maxPrefix = family === 4 ? 30 : 127;
  if (cidr === "") {
    report(field, `missing: set the host address with its prefix length, for example ${EXAMPLE[family]}`);
    return undefined;
  }

  const parsed = parseCidr(cidr);
  if (parsed === undefined || parsed.address.family !== family || parsed.prefixLength < 1 || parsed.prefixLength > maxPrefix) {
    report(field, `invalid value ${quote(cidr)}: use an ${familyName} host address with a prefix length from 1 to ${maxPrefix}, for example ${EXAMPLE[family]}`);
    return undefined;
  }

  const { address, prefixLength } = parsed;
  const special = family === 4 ? isSpecialPurpose(Number(address.value)) : isSpecialPurposeIpv6(address.value);
  if (special) {
    const kinds = family === 4 ? "loopback, multicast and reserved" : "unspecified, loopback, IPv4-mapped, link-local and multicast";
    report(field, `invalid value ${quote(cidr)}: ${kinds} addresses cannot be used; use for example ${EXAMPLE[family]}`);
    return undefined;
  }

  const subnet = subnetContaining(address, prefixLength);
  const reserved = family === 4 ? [subnet.network, lastAddressOf(subnet)] : [subnet.network];
  if (reserved.includes(address.value)) {
    const suggestion = `${formatIp({ family, value: subnet.network + 1n })}/${prefixLength}`;
    const what = family === 4 ? "the network or broadcast address" : "the subnet-router anycast address";
    report(field, `invalid value ${quote(cidr)}: the host address cannot be ${what} of ${formatSubnet(subnet)}; use for example ${suggestion}`);
    return undefined;
  }
  return { address, subnet };
}

/** Returns the usable addresses of a subnet: all but the network address and, in IPv4, the broadcast address. */
function usableBounds(subnet: Subnet): { first: bigint; last: bigint } {
  const last = lastAddressOf(subnet);
  return { first: subnet.network + 1n, last: subnet.family === 4 ? last - 1n : last };
}

function checkAddressInSubnet(text: string, subnet: Subnet, field: string, report: Report): IpAddress | undefined {
  const address = parseIp(text);
  const familyName = subnet.family === 4 ? "IPv4" : "IPv6";
  if (address === undefined || address.family !== subnet.family) {
    report(field, `invalid value ${quote(text)}: use an ${familyName} address inside ${formatSubnet(subnet)}`);
    return undefined;
  }

  const { first, last } = usableBounds(subnet);
  if (address.value < first || address.value > last) {
    const bounds = `${formatIp({ family: subnet.family, value: first })}-${formatIp({ family: subnet.family, value: last })}`;
    report(field, `${text} is outside the usable addresses of subnet ${formatSubnet(subnet)} (${bounds})`);
    return undefined;
  }
  return address;
}

function checkRanges(ranges: DhcpRange[], subnet: Subnet, host: IpAddress, field: string, report: Report): DhcpRange[] {
  const checked: Array<{ start: bigint; end: bigint }> = [];
  const checkedIndexes: number[] = [];
  const result: DhcpRange[] = [];

  ranges.forEach((range, index) => {
    const path = `${field}[${index}]`;
    const start = checkAddressInSubnet(range.start, subnet, `${path}.start`, report);
    const end = checkAddressInSubnet(range.end, subnet, `${path}.end`, report);
    if (start === undefined || end === undefined) {
      return;
    }

    if (start.value > end.value) {
      report(path, `start ${range.start} is after end ${range.end}; swap them`);
      return;
    }
    if (host.value >= start.value && host.value <= end.value) {
      report(path, `range ${range.start}-${range.end} covers the host address ${formatIp(host)}; start the range after it or end it before it`);
      return;
    }
    const overlapping = checked.findIndex((other) => start.value <= other.end && other.start <= end.value);
    if (overlapping >= 0) {
      const other = ranges[checkedIndexes[overlapping]];
      report(path, `range ${range.start}-${range.end} overlaps range ${other.start}-${other.end} (${field}[${checkedIndexes[overlapping]}]); make the ranges disjoint`);
    }
    checked.push({ start: start.value, end: end.value });
    checkedIndexes.push(index);
    result.push({ start: formatIp(start), end: formatIp(end) });
  });
  return result;
}

/** A static host as the CLI writes it: MAC,IP,NAME with the parts it has. */
function describeHost(host: { mac?: string; ip: string; hostname?: string }): string {
  return [host.mac, host.ip, host.hostname].filter((part) => part !== undefined && part !== "").join(",");
}

function checkHosts(
  hosts: Array<{ mac?: string; ip: string; hostname?: string }>,
  family: IpFamily,
  subnet: Subnet,
  hostAddress: IpAddress,
  field: string,
  report: Report,
): DhcpHost[] {
  const seenMacs = new Map<string, number>();
  const seenIps = new Map<bigint, number>();
  const seenNames = new Map<string, number>();
  const result: DhcpHost[] = [];

  hosts.forEach((host, index) => {
    const path = `${field}[${index}]`;
    const mac = (host.mac ?? "").toLowerCase();
    const hostname = host.hostname ?? "";
    let valid = true;

    if (family === 4) {
      const problem = mac === "" ? "missing: set the guest NIC's MAC address, for example 52:54:00:12:34:56" : macProblem(mac);
      if (problem !== undefined) {
        report(`${path}.mac`, problem);
        valid = false;
      }
    } else if (mac !== "") {
      report(`${path}.mac`, "must be empty: libvirt matches DHCPv6 hosts by host name, not by MAC; set hostname instead");
      valid = false;
    }

    if (hostname === "" && family === 6) {
      report(`${path}.hostname`, "missing: DHCPv6 hosts are matched by host name, for example guest-1");
      valid = false;
    } else if (hostname !== "") {
      const problem = dnsNameProblem(hostname);
      if (problem !== undefined) {
        report(`${path}.hostname`, problem);
        valid = false;
      }
    }

    const ip = host.ip === "" ? undefined : checkAddressInSubnet(host.ip, subnet, `${path}.ip`, report);
    if (host.ip === "") {
      report(`${path}.ip`, `missing: set the address the guest gets, inside ${formatSubnet(subnet)}`);
    }
    if (ip === undefined) {
      return;
    }
    if (ip.value === hostAddress.value) {
      report(`${path}.ip`, `${host.ip} is the network's host address; choose another address inside ${formatSubnet(subnet)}`);
      return;
    }

    const duplicates: Array<[Map<any, number>, unknown, string, string]> = [
      [seenMacs, mac, "mac", `MAC ${mac}`],
      [seenIps, ip.value, "ip", `address ${host.ip}`],
      [seenNames, hostname.toLowerCase(), "hostname", `host name ${hostname}`],
    ];
    for (const [seen, key, subfield, what] of duplicates) {
      if (key === "") {
        continue;
      }
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        report(`${path}.${subfield}`, `${what} is already used by host ${describeHost(hosts[earlier])} (${field}[${earlier}]); each static host needs its own`);
        valid = false;
      } else {
        seen.set(key, index);
      }
    }

    if (valid) {
      result.push({ mac, ip: formatIp(ip), hostname });
    }
  });
  return result;
}
