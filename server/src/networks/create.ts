import { AlreadyExistsError, FailedPreconditionError, ResourceExhaustedError } from "../errors";
import { LibvirtClient, NetworkRef } from "../libvirt";
import { connectivityOf } from "./connectivity";
import { ManagerContext, PLANNING_KEY } from "./context";
import { findConflicts, subnetsInUse } from "./host-conflicts";
import { formatIp, lastAddressOf, Subnet } from "./ip";
import { readAllNetworks } from "./inventory";
import type { DhcpHost, DnsConfig, IpConfig, Network, NetworkSpec, NetworkSpecInput } from "./model";
import { describe, lookup, quote, step } from "./steps";
import { validateSpec } from "./validate";
import { renderNetworkXml } from "./xml";

/**
 * Creates and starts a network, all or nothing. An existing network with
 * the same spec is returned (and started if it was stopped); one with a
 * different spec raises AlreadyExistsError. Host conflicts raise
 * FailedPreconditionError before anything is defined.
 */
export async function createNetwork(context: ManagerContext, input: NetworkSpecInput, options: { validateOnly?: boolean } = {}): Promise<Network> {
  const { spec, allocateIpv4 } = validateSpec(input, "network.");

  return context.exclusive(spec.name, async () => {
    const libvirt = await context.session.client();
    const existing = await lookup(libvirt, spec.name);
    if (existing !== undefined) {
      const requested = { bridge: input.bridge !== undefined && input.bridge !== "", ipv4: !allocateIpv4 };
      return adoptExisting(context, libvirt, existing, spec, requested, options);
    }

    if (options.validateOnly) {
      const planned = await context.planning.run(PLANNING_KEY, () => planOnHost(context, libvirt, spec, allocateIpv4));
      return { ...planned, uuid: "", active: true, persistent: true, connectivity: connectivityOf(planned) };
    }

    // A create that loses the connection before it has read the new network
    // back is removed after the reconnect, because its caller saw it fail.
    // NOTE: the record holds the spec before subnet allocation, so a create whose
    // define reply was lost is recognised by UUID only when that reply arrived.
    return context.interrupted.track(spec, async (onDefined) => {
      // Checks, allocation and define run under one lock for all networks, so the
      // next create's checks see this network's subnet and bridge.
      const ref = await context.planning.run(PLANNING_KEY, async () => {
        const planned = await planOnHost(context, libvirt, spec, allocateIpv4);
        const defined = await step("define", spec.name, () => libvirt.networkDefineXml(renderNetworkXml(planned)));
        onDefined(defined);
        return defined;
      });

      await startAndAutostart(libvirt, ref, spec);
      return context.store(libvirt, await libvirt.networkLookupByName(spec.name));
    });
  });
}

/** Allocates a subnet when the spec needs one and checks the result against the host; returns the spec to define. */
async function planOnHost(context: ManagerContext, libvirt: LibvirtClient, spec: NetworkSpec, allocateIpv4: boolean): Promise<NetworkSpec> {
  const [networks, facts] = await Promise.all([readAllNetworks(libvirt), context.hostProbe.read()]);

  let planned = spec;
  if (allocateIpv4) {
    const inUse = subnetsInUse(facts, networks, { name: spec.name }).map((use) => use.subnet);
    const subnet = context.subnetPool.findFree(inUse);
    if (subnet === undefined) {
      throw new ResourceExhaustedError(
        `no free /24 left in the subnet pool ${context.subnetPool.toString()} for network ${quote(spec.name)}; set network.ipv4.address yourself or start the agent with a larger --subnet-pool`,
      );
    }
    planned = { ...spec, ipv4: defaultIpv4(subnet) };
  }

  const conflicts = findConflicts(planned, facts, networks, context.subnetPool);
  if (conflicts.length > 0) {
    throw new FailedPreconditionError(`cannot create network ${quote(spec.name)}: ${conflicts.join("; ")}`);
  }
  return planned;
}

/** The layout of an allocated subnet: the host takes the first address, DHCP the rest but the broadcast address. */
function defaultIpv4(subnet: Subnet): NetworkSpec["ipv4"] {
  const address = (value: bigint) => formatIp({ family: 4, value });
  return {
    address: address(subnet.network + 1n),
    prefixLength: subnet.prefixLength,
    dhcpRanges: [{ start: address(subnet.network + 2n), end: address(lastAddressOf(subnet) - 1n) }],
    dhcpHosts: [],
  };
}

/** Starts a defined network and marks it autostart, undefining it when either step fails. */
async function startAndAutostart(libvirt: LibvirtClient, ref: NetworkRef, spec: NetworkSpec): Promise<void> {
  try {
    await step("start", spec.name, () => libvirt.networkCreate(ref));
    if (spec.autostart) {
      await step("autostart", spec.name, () => libvirt.networkSetAutostart(ref, true));
    }
  } catch (error) {
    await undoCreate(libvirt, ref);
    throw error;
  }
}

async function undoCreate(libvirt: LibvirtClient, ref: NetworkRef): Promise<void> {
  // Each undo step is tried even when the one before failed, because a
  // network that failed to start is inactive and destroy then fails too.
  await libvirt.networkDestroy(ref).catch(() => undefined);
  await libvirt.networkUndefine(ref).catch(() => undefined);
}

async function adoptExisting(
  context: ManagerContext,
  libvirt: LibvirtClient,
  ref: NetworkRef,
  spec: NetworkSpec,
  requested: { bridge: boolean; ipv4: boolean },
  options: { validateOnly?: boolean },
): Promise<Network> {
  const current = await describe(libvirt, ref, { inactiveXml: true });
  const differences = specDifferences(spec, current, requested);
  if (differences.length > 0) {
    throw new AlreadyExistsError(
      `network ${quote(spec.name)} already exists with a different spec (${differences.join(", ")}); delete it first or choose another name`,
    );
  }

  if (current.active || options.validateOnly) {
    return current;
  }
  // A retry after a create that stopped half-way (agent restart) finishes the job.
  await step("start", spec.name, () => libvirt.networkCreate(ref));
  return context.store(libvirt, ref);
}

/**
 * Lists how an existing network differs from a requested spec, as "field:
 * existing exists, requested requested" with values as a user writes them
 * (CIDR, START-END, MAC,IP,NAME, "unset"). A generated bridge name and an
 * allocated subnet match whatever the network has, so a retried create
 * finds no difference.
 */
export function specDifferences(spec: NetworkSpec, current: Network, requested: { bridge: boolean; ipv4: boolean }): string[] {
  const differences: string[] = [];
  const compare = (field: string, existing: unknown, requested: unknown) => {
    const a = readable(existing);
    const b = readable(requested);
    if (a !== b) {
      differences.push(`${field}: ${a} exists, ${b} requested`);
    }
  };
  const compareIp = (field: string, existing: IpConfig | undefined, requested: IpConfig | undefined) => {
    if (existing === undefined || requested === undefined) {
      compare(field, existing && cidrOf(existing), requested && cidrOf(requested));
      return;
    }
    compare(`${field}.address`, cidrOf(existing), cidrOf(requested));
    compare(`${field}.dhcp_ranges`, existing.dhcpRanges.map((r) => `${r.start}-${r.end}`), requested.dhcpRanges.map((r) => `${r.start}-${r.end}`));
    compare(`${field}.dhcp_hosts`, existing.dhcpHosts.map(hostText), requested.dhcpHosts.map(hostText));
  };
  const compareDns = (existing: DnsConfig | undefined, requested: DnsConfig | undefined) => {
    // An undefined DNS config means libvirt's defaults: enabled, nothing else set.
    const withDefaults = (dns: DnsConfig | undefined): DnsConfig => dns ?? { enabled: true, domain: "", hosts: [], forwarders: [] };
    const [a, b] = [withDefaults(existing), withDefaults(requested)];
    compare("dns.enabled", a.enabled ? "yes" : "no", b.enabled ? "yes" : "no");
    compare("dns.domain", a.domain, b.domain);
    compare("dns.hosts", a.hosts.map((h) => `${h.ip}=${h.hostnames.join(",")}`), b.hosts.map((h) => `${h.ip}=${h.hostnames.join(",")}`));
    compare("dns.forwarders", a.forwarders.map((f) => (f.domain ? `${f.domain}=${f.address}` : f.address)), b.forwarders.map((f) => (f.domain ? `${f.domain}=${f.address}` : f.address)));
  };

  compare("type", current.type, spec.type);
  if (requested.bridge) {
    compare("bridge", current.bridge, spec.bridge);
  }
  if (requested.ipv4) {
    compareIp("ipv4", current.ipv4, spec.ipv4);
  }
  compareIp("ipv6", current.ipv6, spec.ipv6);
  compareDns(current.dns, spec.dns);
  compare("mtu", current.mtu, spec.mtu);
  compare("stp", current.stp, spec.stp);
  compare("forward_delay_seconds", current.forwardDelaySeconds, spec.forwardDelaySeconds);
  compare("host_bridge", current.hostBridge, spec.hostBridge);
  compare("uplink", current.uplink, spec.uplink);
  compare("macvtap_mode", current.macvtapMode, spec.macvtapMode);
  compare("autostart", current.autostart, spec.autostart);
  return differences;
}

function cidrOf(config: IpConfig): string {
  return `${config.address}/${config.prefixLength}`;
}

function hostText(host: DhcpHost): string {
  return [host.mac, host.ip, host.hostname].filter((part) => part !== "").join(",");
}

/** A value as a user writes it: "unset" for nothing, 0 and "", "none" for an empty list, yes or no for a flag. */
function readable(value: unknown): string {
  if (value === undefined || value === null || value === "" || value === 0) {
    return "unset";
  }
  if (Array.isArray(value)) {
    return value.length === 0 ? "none" : value.join(" ");
  }
  if (typeof value === "boolean") {
    return value ? "yes" : "no";
  }
  return String(value);
}
