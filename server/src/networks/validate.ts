import { FieldViolation, InvalidArgumentError } from "../errors";
import { generateBridgeName, MAX_BRIDGE_NAME_BYTES } from "./bridge-name";
import {
  broadcastOf,
  formatIpv4,
  formatSubnet,
  isSpecialPurpose,
  Ipv4Subnet,
  parseIpv4,
  subnetOf,
} from "./ipv4";
import { CREATABLE_KINDS, DhcpRange, Ipv4Config, NetworkSpec, NetworkSpecInput } from "./model";

/** Network names: what virsh, file names under /etc/libvirt and dnsmasq config all accept safely. */
export const NETWORK_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const NAME_HINT = "use 1 to 64 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit";

const BRIDGE_NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

/**
 * Checks a network name alone, for RPCs that take only a name.
 * @throws InvalidArgumentError naming `field`.
 */
export function validateNetworkName(name: string, field = "name"): void {
  const problem = nameProblem(name);
  if (problem !== undefined) {
    throw new InvalidArgumentError([{ field, description: problem }]);
  }
}

/**
 * Validates a requested network and fills in defaults: a generated bridge
 * name, autostart on. Every problem is collected, so the caller sees all of
 * them at once.
 * @param prefix Prepended to each field path, for example "network.".
 * @throws InvalidArgumentError with one violation per invalid field.
 */
export function validateSpec(input: NetworkSpecInput, prefix = ""): NetworkSpec {
  const violations: FieldViolation[] = [];
  const report = (field: string, description: string) => violations.push({ field: prefix + field, description });

  const nameError = nameProblem(input.name);
  if (nameError !== undefined) {
    report("name", nameError);
  }

  if (input.type === undefined) {
    report("type", "missing: set one of NAT, ISOLATED, VERY_ISOLATED");
  } else if (!CREATABLE_KINDS.includes(input.type)) {
    report("type", `${input.type.toUpperCase()} networks cannot be created by this agent yet: use NAT, ISOLATED or VERY_ISOLATED`);
  }

  const bridge = input.bridge ? input.bridge : generateBridgeName(input.name);
  if (input.bridge) {
    const bridgeError = bridgeProblem(input.bridge);
    if (bridgeError !== undefined) {
      report("bridge", bridgeError);
    }
  }

  let ipv4: Ipv4Config | undefined;
  if (input.type === "very-isolated") {
    if (input.ipv4 !== undefined) {
      report("ipv4", "must be empty: a VERY_ISOLATED network has no host address and no DHCP; use ISOLATED for a host address");
    }
  } else if (input.type === "nat" || input.type === "isolated") {
    if (input.ipv4 === undefined || input.ipv4.address === "") {
      report("ipv4.address", "missing: set the host address with its prefix length, for example 10.77.0.1/24");
    } else {
      ipv4 = checkIpv4(input.ipv4.address, input.ipv4.dhcpRanges, report);
    }
  }

  if (violations.length > 0) {
    throw new InvalidArgumentError(violations);
  }
  return {
    name: input.name,
    type: input.type!,
    bridge,
    ipv4,
    autostart: input.autostart ?? true,
  };
}

function nameProblem(name: string): string | undefined {
  if (name === "") {
    return `missing: ${NAME_HINT}`;
  }
  if (!NETWORK_NAME_PATTERN.test(name)) {
    return `invalid value ${quote(name)}: ${NAME_HINT}`;
  }
  return undefined;
}

function bridgeProblem(bridge: string): string | undefined {
  const bytes = Buffer.byteLength(bridge);
  if (bytes > MAX_BRIDGE_NAME_BYTES) {
    return `invalid value ${quote(bridge)}: ${bytes} bytes, but Linux allows at most ${MAX_BRIDGE_NAME_BYTES}; use a shorter name or leave it empty to have one generated`;
  }
  if (!BRIDGE_NAME_PATTERN.test(bridge) || bridge === "." || bridge === "..") {
    return `invalid value ${quote(bridge)}: use characters from A-Z a-z 0-9 _ . -`;
  }
  return undefined;
}

function checkIpv4(
  cidr: string,
  ranges: DhcpRange[],
  report: (field: string, description: string) => void,
): Ipv4Config | undefined {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr);
  const address = match ? parseIpv4(match[1]) : undefined;
  const prefixLength = match ? Number(match[2]) : NaN;
  if (address === undefined || !(prefixLength >= 1 && prefixLength <= 30)) {
    report("ipv4.address", `invalid value ${quote(cidr)}: use an IPv4 host address with a prefix length from 1 to 30, for example 10.77.0.1/24`);
    return undefined;
  }

  const subnet = subnetOf(address, prefixLength);
  const subnetText = formatSubnet(subnet);
  if (isSpecialPurpose(address)) {
    report("ipv4.address", `invalid value ${quote(cidr)}: loopback, multicast and reserved addresses cannot be used; use a private subnet such as 10.77.0.1/24`);
    return undefined;
  }
  if (address === subnet.network || address === broadcastOf(subnet)) {
    const suggestion = `${formatIpv4(subnet.network + 1)}/${prefixLength}`;
    report("ipv4.address", `invalid value ${quote(cidr)}: the host address cannot be the network or broadcast address of ${subnetText}; use for example ${suggestion}`);
    return undefined;
  }

  const checked: Array<{ start: number; end: number }> = [];
  ranges.forEach((range, index) => {
    const field = `ipv4.dhcp_ranges[${index}]`;
    const bounds = checkRange(range, field, subnet, subnetText, address, report);
    if (bounds === undefined) {
      return;
    }
    const overlapping = checked.findIndex((other) => bounds.start <= other.end && other.start <= bounds.end);
    if (overlapping >= 0) {
      report(field, `range ${range.start}-${range.end} overlaps ipv4.dhcp_ranges[${overlapping}]; make the ranges disjoint`);
    }
    checked.push(bounds);
  });

  return { address: formatIpv4(address), prefixLength, dhcpRanges: ranges.map((r) => ({ ...r })) };
}

function checkRange(
  range: DhcpRange,
  field: string,
  subnet: Ipv4Subnet,
  subnetText: string,
  hostAddress: number,
  report: (field: string, description: string) => void,
): { start: number; end: number } | undefined {
  const start = parseIpv4(range.start);
  const end = parseIpv4(range.end);
  if (start === undefined) {
    report(`${field}.start`, `invalid value ${quote(range.start)}: use a dotted-quad IPv4 address inside ${subnetText}`);
  }
  if (end === undefined) {
    report(`${field}.end`, `invalid value ${quote(range.end)}: use a dotted-quad IPv4 address inside ${subnetText}`);
  }
  if (start === undefined || end === undefined) {
    return undefined;
  }

  const firstUsable = subnet.network + 1;
  const lastUsable = broadcastOf(subnet) - 1;
  let valid = true;
  for (const [side, value] of [["start", start], ["end", end]] as const) {
    if (value < firstUsable || value > lastUsable) {
      report(`${field}.${side}`, `${formatIpv4(value)} is outside the usable addresses of subnet ${subnetText} (${formatIpv4(firstUsable)}-${formatIpv4(lastUsable)})`);
      valid = false;
    }
  }
  if (!valid) {
    return undefined;
  }

  if (start > end) {
    report(field, `start ${range.start} is after end ${range.end}; swap them`);
    return undefined;
  }
  if (hostAddress >= start && hostAddress <= end) {
    report(field, `range ${range.start}-${range.end} covers the host address ${formatIpv4(hostAddress)}; start the range after it or end it before it`);
    return undefined;
  }
  return { start, end };
}

/** Quotes a user value for an error message, escaping control characters and cutting long values. */
function quote(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}...` : value;
  return JSON.stringify(shown);
}
