import { FieldViolation, InvalidArgumentError } from "../errors";
import { generateBridgeName, MAX_BRIDGE_NAME_BYTES } from "./bridge-name";
import type { NetworkSpec, NetworkSpecInput } from "./model";
import { interfaceNameProblem, quote } from "./names";
import { checkDns } from "./validate-dns";
import { checkIpConfig } from "./validate-ip";

/** Network names: what virsh, file names under /etc/libvirt and dnsmasq config all accept safely. */
export const NETWORK_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const NAME_HINT = "use 1 to 64 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit";

const TYPE_NAMES = "NAT, ISOLATED, VERY_ISOLATED, BRIDGE, MACVTAP, ROUTED or OPEN";

/** MTU bounds: IPv4's minimum (RFC 791) and the largest MTU a Linux bridge accepts (its max_mtu). */
const MTU_RANGE = { min: 68, max: 65535 };

/** Linux rejects bridge forward delays above 30 s with ERANGE while STP runs (checked with ip link on Linux 6.1). */
const MAX_FORWARD_DELAY_SECONDS = 30;

/**
 * A validated spec plus what the agent still has to fill in from the host:
 * `allocateIpv4` is set when a NAT or ISOLATED network came without a
 * subnet and gets one from the subnet pool.
 */
export interface ValidatedSpec {
  spec: NetworkSpec;
  allocateIpv4: boolean;
}

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
 * name, STP off, autostart on, MACVTAP mode bridge. Every problem is
 * collected, so the caller sees all of them at once. Nothing here looks at
 * the host; conflicts with it are checked separately.
 * @param prefix Prepended to each field path, for example "network.".
 * @throws InvalidArgumentError with one violation per invalid field.
 */
export function validateSpec(input: NetworkSpecInput, prefix = ""): ValidatedSpec {
  const violations: FieldViolation[] = [];
  const report = (field: string, description: string) => violations.push({ field: prefix + field, description });
  const reportUnprefixed = (field: string, description: string) => violations.push({ field, description });

  const nameError = nameProblem(input.name);
  if (nameError !== undefined) {
    report("name", nameError);
  }

  const type = input.type;
  if (type === undefined) {
    report("type", `missing: set one of ${TYPE_NAMES}`);
    throw new InvalidArgumentError(violations);
  }
  const managed = type !== "bridge" && type !== "macvtap";

  // Fields that only some types accept; each rejection says which type fits instead.
  const forbid = (field: string, present: boolean, reason: string) => {
    if (present) {
      report(field, `must be empty for ${type.toUpperCase()} networks: ${reason}`);
    }
  };
  const bridgeReason = type === "bridge" ? "guests join the host bridge; set host_bridge" : "guests attach to the uplink directly";
  forbid("bridge", !managed && Boolean(input.bridge), bridgeReason);
  forbid("mtu", !managed && Boolean(input.mtu), "the MTU is the host bridge's or uplink's own");
  forbid("stp", !managed && input.stp !== undefined, "libvirt creates no bridge for them");
  forbid("forward_delay_seconds", !managed && Boolean(input.forwardDelaySeconds), "libvirt creates no bridge for them");
  forbid("host_bridge", type !== "bridge" && Boolean(input.hostBridge), "only BRIDGE networks join a host bridge");
  forbid("macvtap_mode", type !== "macvtap" && input.macvtapMode !== undefined, "only MACVTAP networks have a macvtap mode");
  forbid("uplink", !["macvtap", "nat", "routed"].includes(type) && Boolean(input.uplink), "only MACVTAP (required), NAT and ROUTED networks take an uplink");

  const addressReason =
    type === "very-isolated" ? "it has no host address, DHCP or DNS; use ISOLATED for a host address" : "guests get their addresses from the LAN's DHCP server";
  const withoutAddresses = type === "very-isolated" || !managed;
  forbid("ipv4", withoutAddresses && input.ipv4 !== undefined, addressReason);
  forbid("ipv6", withoutAddresses && input.ipv6 !== undefined, addressReason);
  forbid("dns", withoutAddresses && input.dns !== undefined, addressReason);

  let bridge = "";
  if (managed) {
    bridge = input.bridge ? input.bridge : generateBridgeName(input.name);
    if (input.bridge) {
      const problem = bridgeProblem(input.bridge);
      if (problem !== undefined) {
        report("bridge", problem);
      }
    }
  }

  if (type === "bridge") {
    checkInterfaceField("host_bridge", input.hostBridge, "the host bridge that holds the uplink, for example br0", report);
  }
  if (type === "macvtap") {
    checkInterfaceField("uplink", input.uplink, "the host interface guests attach to, for example eth0", report);
  } else if (input.uplink && (type === "nat" || type === "routed")) {
    checkInterfaceField("uplink", input.uplink, "", report);
  }

  if (input.mtu && (input.mtu < MTU_RANGE.min || input.mtu > MTU_RANGE.max)) {
    report("mtu", `invalid value ${input.mtu}: use ${MTU_RANGE.min} to ${MTU_RANGE.max} bytes, or 0 for the kernel's default`);
  }
  if (input.forwardDelaySeconds !== undefined && input.forwardDelaySeconds > MAX_FORWARD_DELAY_SECONDS) {
    report("forward_delay_seconds", `invalid value ${input.forwardDelaySeconds}: use 0 to ${MAX_FORWARD_DELAY_SECONDS} seconds`);
  }

  const ipv4 = !withoutAddresses && input.ipv4 !== undefined ? checkIpConfig(input.ipv4, 4, `${prefix}ipv4`, reportUnprefixed) : undefined;
  const ipv6 = !withoutAddresses && input.ipv6 !== undefined ? checkIpConfig(input.ipv6, 6, `${prefix}ipv6`, reportUnprefixed) : undefined;
  const dns = !withoutAddresses && input.dns !== undefined ? checkDns(input.dns, `${prefix}dns`, reportUnprefixed) : undefined;

  // NAT needs IPv4 to masquerade, ISOLATED needs some address; both get one from the pool.
  const allocateIpv4 = input.ipv4 === undefined && (type === "nat" || (type === "isolated" && input.ipv6 === undefined));
  if ((type === "routed" || type === "open") && input.ipv4 === undefined && input.ipv6 === undefined) {
    report("ipv4", `missing: ${type.toUpperCase()} networks route a subnet that the LAN must know, so set ipv4 or ipv6 yourself, for example ipv4.address 10.77.0.1/24`);
  }
  if (input.dns !== undefined && !withoutAddresses && input.ipv4 === undefined && input.ipv6 === undefined && !allocateIpv4) {
    report("dns", "libvirt serves DNS only on networks with ipv4 or ipv6; set one or remove dns");
  }

  if (violations.length > 0) {
    throw new InvalidArgumentError(violations);
  }

  const spec: NetworkSpec = {
    name: input.name,
    type,
    bridge,
    ipv4,
    ipv6,
    dns,
    mtu: input.mtu ?? 0,
    autostart: input.autostart ?? true,
  };
  if (managed) {
    spec.stp = input.stp ?? false;
    spec.forwardDelaySeconds = input.forwardDelaySeconds ?? 0;
  }
  if (type === "bridge") {
    spec.hostBridge = input.hostBridge;
  }
  if (input.uplink) {
    spec.uplink = input.uplink;
  }
  if (type === "macvtap") {
    spec.macvtapMode = input.macvtapMode ?? "bridge";
  }
  return { spec, allocateIpv4 };
}

function checkInterfaceField(field: string, value: string | undefined, missingHint: string, report: (field: string, description: string) => void): void {
  if (!value) {
    report(field, `missing: set ${missingHint}`);
    return;
  }
  const problem = interfaceNameProblem(value);
  if (problem !== undefined) {
    report(field, problem);
  }
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
  return interfaceNameProblem(bridge);
}
