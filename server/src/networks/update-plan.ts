// Pure parts of UpdateNetwork: applying a field mask to a spec and working
// out which changes libvirt can make to a running network.

import { InvalidArgumentError } from "../errors";
import { NetworkUpdateCommand, NetworkUpdateSection } from "../libvirt";
import type { DhcpHost, DhcpRange, DnsHost, IpConfig, NetworkSpec, NetworkSpecInput } from "./model";
import { quote } from "./names";
import { renderDhcpHostXml, renderDnsHostXml, renderRangeXml } from "./xml";

/** Input fields that UpdateNetwork can change, by their proto paths. */
const SETTERS: Record<string, (target: NetworkSpecInput, source: NetworkSpecInput) => void> = {
  bridge: (target, source) => (target.bridge = source.bridge),
  ipv4: (target, source) => (target.ipv4 = source.ipv4),
  "ipv4.address": (target, source) => (target.ipv4 = { ...ipOrEmpty(target.ipv4), address: source.ipv4?.address ?? "" }),
  "ipv4.dhcp_ranges": (target, source) => (target.ipv4 = { ...ipOrEmpty(target.ipv4), dhcpRanges: source.ipv4?.dhcpRanges ?? [] }),
  "ipv4.dhcp_hosts": (target, source) => (target.ipv4 = { ...ipOrEmpty(target.ipv4), dhcpHosts: source.ipv4?.dhcpHosts ?? [] }),
  ipv6: (target, source) => (target.ipv6 = source.ipv6),
  "ipv6.address": (target, source) => (target.ipv6 = { ...ipOrEmpty(target.ipv6), address: source.ipv6?.address ?? "" }),
  "ipv6.dhcp_ranges": (target, source) => (target.ipv6 = { ...ipOrEmpty(target.ipv6), dhcpRanges: source.ipv6?.dhcpRanges ?? [] }),
  "ipv6.dhcp_hosts": (target, source) => (target.ipv6 = { ...ipOrEmpty(target.ipv6), dhcpHosts: source.ipv6?.dhcpHosts ?? [] }),
  dns: (target, source) => (target.dns = source.dns),
  "dns.enabled": (target, source) => (target.dns = { ...target.dns, enabled: source.dns?.enabled }),
  "dns.domain": (target, source) => (target.dns = { ...target.dns, domain: source.dns?.domain }),
  "dns.hosts": (target, source) => (target.dns = { ...target.dns, hosts: source.dns?.hosts ?? [] }),
  "dns.forwarders": (target, source) => (target.dns = { ...target.dns, forwarders: source.dns?.forwarders ?? [] }),
  mtu: (target, source) => (target.mtu = source.mtu),
  stp: (target, source) => (target.stp = source.stp),
  forward_delay_seconds: (target, source) => (target.forwardDelaySeconds = source.forwardDelaySeconds),
  host_bridge: (target, source) => (target.hostBridge = source.hostBridge),
  uplink: (target, source) => (target.uplink = source.uplink),
  macvtap_mode: (target, source) => (target.macvtapMode = source.macvtapMode),
  autostart: (target, source) => (target.autostart = source.autostart),
};

/** The paths that "*" stands for: every top-level input field but name and type. */
const WHOLE_SPEC = ["bridge", "ipv4", "ipv6", "dns", "mtu", "stp", "forward_delay_seconds", "host_bridge", "uplink", "macvtap_mode", "autostart"];

function ipOrEmpty(config: NetworkSpecInput["ipv4"]): NonNullable<NetworkSpecInput["ipv4"]> {
  return config ?? { address: "", dhcpRanges: [], dhcpHosts: [] };
}

/**
 * Returns `current` with the fields named in `paths` taken from `requested`.
 * @throws InvalidArgumentError for a missing mask or an unknown, immutable or output-only path.
 */
export function applyMask(current: NetworkSpecInput, requested: NetworkSpecInput, paths: string[]): NetworkSpecInput {
  if (paths.length === 0) {
    throw new InvalidArgumentError([{ field: "update_mask", description: 'missing: list the fields to change, for example "ipv4.dhcp_hosts", or "*" for every field' }]);
  }

  const expanded = paths.flatMap((path) => (path === "*" ? WHOLE_SPEC : [path]));
  const unknown = expanded.filter((path) => SETTERS[path] === undefined);
  if (unknown.length > 0) {
    const immutable = ["name", "type", "uuid", "active", "persistent", "connectivity"];
    throw new InvalidArgumentError(
      unknown.map((path) => ({
        field: "update_mask",
        description: immutable.includes(path)
          ? `${quote(path)} cannot be changed: name and type identify the network and the others are output only; delete and create the network instead`
          : `unknown path ${quote(path)}: use one of ${Object.keys(SETTERS).join(", ")} or *`,
      })),
    );
  }

  const target: NetworkSpecInput = structuredClone(current);
  for (const path of expanded) {
    SETTERS[path](target, requested);
  }
  return target;
}

/** Turns a validated spec back into input form, the starting point of an update. */
export function specToInput(spec: NetworkSpec): NetworkSpecInput {
  const ipInput = (config: IpConfig | undefined) =>
    config && { address: `${config.address}/${config.prefixLength}`, dhcpRanges: config.dhcpRanges, dhcpHosts: config.dhcpHosts };
  return {
    name: spec.name,
    type: spec.type,
    bridge: spec.bridge,
    ipv4: ipInput(spec.ipv4),
    ipv6: ipInput(spec.ipv6),
    dns: spec.dns,
    mtu: spec.mtu,
    stp: spec.stp,
    forwardDelaySeconds: spec.forwardDelaySeconds,
    hostBridge: spec.hostBridge,
    uplink: spec.uplink,
    macvtapMode: spec.macvtapMode,
    autostart: spec.autostart,
  };
}

/** One NETWORK_UPDATE call without its flags. */
export interface SectionChange {
  command: number;
  section: number;
  parentIndex: number;
  xml: string;
}

type SpecView = Omit<NetworkSpec, "autostart">;

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Lists the fields that differ between two specs and that libvirt can only
 * apply by restarting the network: everything except DHCP ranges, static
 * DHCP hosts and DNS hosts, which NETWORK_UPDATE changes live.
 */
export function restartFields(from: SpecView, to: SpecView): string[] {
  const fields: string[] = [];
  const check = (path: string, a: unknown, b: unknown) => {
    if (!same(a, b)) {
      fields.push(path);
    }
  };

  check("bridge", from.bridge, to.bridge);
  for (const family of ["ipv4", "ipv6"] as const) {
    const a = from[family];
    const b = to[family];
    if ((a === undefined) !== (b === undefined)) {
      fields.push(family);
    } else if (a !== undefined && b !== undefined) {
      check(`${family}.address`, [a.address, a.prefixLength], [b.address, b.prefixLength]);
    }
  }
  check("dns.enabled", from.dns?.enabled ?? true, to.dns?.enabled ?? true);
  check("dns.domain", from.dns?.domain ?? "", to.dns?.domain ?? "");
  check("dns.forwarders", from.dns?.forwarders ?? [], to.dns?.forwarders ?? []);
  check("mtu", from.mtu, to.mtu);
  check("stp", from.stp, to.stp);
  check("forward_delay_seconds", from.forwardDelaySeconds, to.forwardDelaySeconds);
  check("host_bridge", from.hostBridge, to.hostBridge);
  check("uplink", from.uplink, to.uplink);
  check("macvtap_mode", from.macvtapMode, to.macvtapMode);
  return fields;
}

/**
 * Lists the NETWORK_UPDATE calls that turn the DHCP ranges, static DHCP
 * hosts and DNS hosts of `from` into those of `to`. Families whose subnet
 * changes are left out, since their new values come with the restart.
 * Deletions come first, so an address or range can move from one entry to
 * another. Ranges cannot be modified in libvirt, so a changed range is
 * deleted and added.
 */
export function sectionChanges(from: SpecView, to: SpecView, ipIndex: { ipv4?: number; ipv6?: number }): SectionChange[] {
  const deletions: SectionChange[] = [];
  const modifications: SectionChange[] = [];
  const additions: SectionChange[] = [];

  for (const family of ["ipv4", "ipv6"] as const) {
    const a = from[family];
    const b = to[family];
    const parentIndex = ipIndex[family];
    if (a === undefined || b === undefined || parentIndex === undefined || a.address !== b.address || a.prefixLength !== b.prefixLength) {
      continue;
    }

    const rangeKey = (range: DhcpRange) => `${range.start}-${range.end}`;
    const rangeChange = (command: number, range: DhcpRange) => ({ command, section: NetworkUpdateSection.IP_DHCP_RANGE, parentIndex, xml: renderRangeXml(range) });
    const oldRanges = new Set(a.dhcpRanges.map(rangeKey));
    const newRanges = new Set(b.dhcpRanges.map(rangeKey));
    deletions.push(...a.dhcpRanges.filter((r) => !newRanges.has(rangeKey(r))).map((r) => rangeChange(NetworkUpdateCommand.DELETE, r)));
    additions.push(...b.dhcpRanges.filter((r) => !oldRanges.has(rangeKey(r))).map((r) => rangeChange(NetworkUpdateCommand.ADD_LAST, r)));

    // libvirt finds IPv4 hosts by MAC and IPv6 hosts by name.
    const hostKey = (host: DhcpHost) => (family === "ipv4" ? host.mac : host.hostname.toLowerCase());
    const hostChange = (command: number, host: DhcpHost) => ({ command, section: NetworkUpdateSection.IP_DHCP_HOST, parentIndex, xml: renderDhcpHostXml(host) });
    const oldHosts = new Map(a.dhcpHosts.map((host) => [hostKey(host), host]));
    const newHosts = new Map(b.dhcpHosts.map((host) => [hostKey(host), host]));
    for (const [key, host] of oldHosts) {
      const replacement = newHosts.get(key);
      if (replacement === undefined) {
        deletions.push(hostChange(NetworkUpdateCommand.DELETE, host));
      } else if (!same(host, replacement)) {
        modifications.push(hostChange(NetworkUpdateCommand.MODIFY, replacement));
      }
    }
    for (const [key, host] of newHosts) {
      if (!oldHosts.has(key)) {
        additions.push(hostChange(NetworkUpdateCommand.ADD_LAST, host));
      }
    }
  }

  // A change of dns.enabled needs a restart, which brings the new hosts along.
  if ((from.dns?.enabled ?? true) !== (to.dns?.enabled ?? true)) {
    return [...deletions, ...modifications, ...additions];
  }
  const dnsKey = (host: DnsHost) => JSON.stringify([host.ip, host.hostnames]);
  const dnsChange = (command: number, host: DnsHost) => ({ command, section: NetworkUpdateSection.DNS_HOST, parentIndex: -1, xml: renderDnsHostXml(host) });
  const oldDns = from.dns?.hosts ?? [];
  const newDns = to.dns?.hosts ?? [];
  const oldDnsKeys = new Set(oldDns.map(dnsKey));
  const newDnsKeys = new Set(newDns.map(dnsKey));
  deletions.push(...oldDns.filter((host) => !newDnsKeys.has(dnsKey(host))).map((host) => dnsChange(NetworkUpdateCommand.DELETE, host)));
  additions.push(...newDns.filter((host) => !oldDnsKeys.has(dnsKey(host))).map((host) => dnsChange(NetworkUpdateCommand.ADD_LAST, host)));

  return [...deletions, ...modifications, ...additions];
}
