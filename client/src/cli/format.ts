import {
  DhcpLease,
  DhcpSource,
  EventSource,
  Host,
  InterfaceEventType,
  MacvtapMode,
  Network,
  NetworkEventType,
  NetworkType,
  ResyncReason,
  WatchEventsResponse,
} from "@netagent/proto";

/** The CLI's name of a network type, as accepted by --type. */
export function typeName(type: NetworkType): string {
  return NetworkType[type].replace(/^NETWORK_TYPE_/, "").toLowerCase().replace(/_/g, "-");
}

/** Parses --type (nat, isolated, very-isolated, ...) into the enum. */
export function parseType(text: string): NetworkType {
  const key = `NETWORK_TYPE_${text.toUpperCase().replace(/-/g, "_")}`;
  const value = (NetworkType as unknown as Record<string, NetworkType>)[key];
  if (value === undefined || value === NetworkType.NETWORK_TYPE_UNSPECIFIED || value === NetworkType.UNRECOGNIZED) {
    throw new Error(`invalid --type ${JSON.stringify(text)}: use nat, isolated, very-isolated, bridge, macvtap, routed or open`);
  }
  return value;
}

function dhcpText(network: Network): string {
  switch (network.connectivity?.dhcpSource) {
    case DhcpSource.DHCP_SOURCE_LIBVIRT: {
      const ranges = [network.ipv4, network.ipv6].flatMap((ip) => ip?.dhcpRanges ?? []).map((r) => `${r.start}-${r.end}`);
      return ranges.length > 0 ? ranges.join(",") : "static hosts only";
    }
    case DhcpSource.DHCP_SOURCE_LAN:
      return "from LAN";
    default:
      return "none";
  }
}

function yesNo(value: boolean | undefined): string {
  return value ? "yes" : "no";
}

/** Renders networks as an aligned table for people. */
export function networkTable(networks: Network[]): string {
  const header = ["NAME", "TYPE", "STATE", "AUTOSTART", "BRIDGE", "IPV4", "DHCP", "HOST-TO-GUEST", "OUTSIDE"];
  // BRIDGE shows the host bridge of BRIDGE networks and the uplink of MACVTAP ones; IPV4 falls back to IPv6.
  const rows = networks.map((n) => [
    n.name,
    typeName(n.type),
    n.active ? "active" : "inactive",
    yesNo(n.autostart),
    n.bridge || n.hostBridge || n.uplink || "-",
    n.ipv4?.address || n.ipv6?.address || "-",
    dhcpText(n),
    yesNo(n.connectivity?.hostReachesGuests),
    yesNo(n.connectivity?.guestsReachOutside),
  ]);

  return table(header, rows);
}

/** Aligns rows under a header, two spaces between columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()).join("\n");
}

function keyValues(lines: Array<[string, string]>): string {
  const width = Math.max(...lines.map(([key]) => key.length)) + 1;
  return lines.map(([key, value]) => `${(key + ":").padEnd(width)} ${value}`).join("\n");
}

function macvtapModeName(mode: MacvtapMode): string {
  return MacvtapMode[mode].replace(/^MACVTAP_MODE_/, "").toLowerCase();
}

/** Renders one network as "key: value" lines for people; lines of fields that do not apply are left out. */
export function networkDetails(network: Network): string {
  const lines: Array<[string, string]> = [
    ["Name", network.name],
    ["UUID", network.uuid || "-"],
    ["Type", typeName(network.type)],
    ["State", network.active ? "active" : "inactive"],
    ["Persistent", yesNo(network.persistent)],
    ["Autostart", yesNo(network.autostart)],
  ];
  const optional: Array<[string, string | undefined]> = [
    ["Bridge", network.bridge || undefined],
    ["Host bridge", network.hostBridge || undefined],
    ["Uplink", network.uplink || undefined],
    ["Macvtap mode", network.macvtapMode ? macvtapModeName(network.macvtapMode) : undefined],
    ["MTU", network.mtu ? String(network.mtu) : undefined],
    ["STP", network.stp === undefined ? undefined : `${network.stp ? "on" : "off"}, forward delay ${network.forwardDelaySeconds} s`],
  ];
  for (const [key, value] of optional) {
    if (value !== undefined) {
      lines.push([key, value]);
    }
  }

  lines.push(["IPv4", network.ipv4?.address || "-"]);
  if (network.ipv6) {
    lines.push(["IPv6", network.ipv6.address]);
  }
  lines.push(["DHCP", dhcpText(network)]);
  const hosts = [network.ipv4, network.ipv6].flatMap((ip) => ip?.dhcpHosts ?? []);
  if (hosts.length > 0) {
    lines.push(["DHCP hosts", hosts.map((h) => [h.mac, h.ip, h.hostname].filter((part) => part !== "").join(" ")).join(", ")]);
  }
  if (network.dns) {
    const dns = network.dns;
    const parts = dns.enabled === false ? ["disabled"] : [];
    if (dns.domain) {
      parts.push(`domain ${dns.domain}`);
    }
    parts.push(...dns.hosts.map((h) => `${h.ip}=${h.hostnames.join(",")}`));
    parts.push(...dns.forwarders.map((f) => `forward ${f.domain ? `${f.domain} ` : ""}to ${f.address || "local names only"}`));
    lines.push(["DNS", parts.join(", ")]);
  }
  lines.push(["Host reaches guests", yesNo(network.connectivity?.hostReachesGuests)]);
  lines.push(["Guests reach outside", yesNo(network.connectivity?.guestsReachOutside)]);
  if (network.pendingRestartFields.length > 0) {
    lines.push(["Pending restart", `${network.pendingRestartFields.join(", ")} (the definition differs from what runs; stop and start the network to apply it)`]);
  }
  return keyValues(lines);
}

/** Renders DHCP leases as a table, or says where addresses come from when libvirt holds none. */
export function leasesTable(leases: DhcpLease[], dhcpSource: DhcpSource): string {
  if (dhcpSource === DhcpSource.DHCP_SOURCE_LAN) {
    return "guests get their addresses from the LAN's DHCP server; libvirt holds no leases for this network";
  }
  if (dhcpSource === DhcpSource.DHCP_SOURCE_NONE) {
    return "this network serves no DHCP, so libvirt holds no leases for it; its guests need static addresses";
  }
  const rows = leases.map((lease) => [
    `${lease.ipAddress}/${lease.prefixLength}`,
    lease.mac || "-",
    lease.hostname || "-",
    lease.expiryTime ? lease.expiryTime.toISOString() : "never",
    lease.clientId || "-",
  ]);
  return table(["ADDRESS", "MAC", "HOSTNAME", "EXPIRES", "CLIENT-ID"], rows);
}

/** Renders GetHost's answer: facts, then tables of uplinks, bridges, subnets in use and network types. */
export function hostDetails(host: Host): string {
  const facts = keyValues([
    ["Hostname", host.hostname],
    ["libvirt", host.libvirtVersion],
    ["Subnet pool", host.subnetPool],
  ]);
  const uplinks = table(
    ["UPLINK", "KIND", "STATE", "BRIDGE", "ACCEPT-RA", "ADDRESSES"],
    host.uplinks.map((u) => [u.name, u.kind || "physical", u.up ? "up" : "down", u.bridge || "-", String(u.ipv6AcceptRa), u.addresses.join(",") || "-"]),
  );
  const bridges = table(
    ["BRIDGE", "NETWORK", "PORTS", "ADDRESSES"],
    host.bridges.map((b) => [b.name, b.network || "(host)", b.ports.join(",") || "-", b.addresses.join(",") || "-"]),
  );
  const subnets = table(["SUBNET", "USED BY"], host.subnetsInUse.map((s) => [s.subnet, s.usedBy]));
  const types = table(
    ["TYPE", "AVAILABLE", "REASON"],
    host.networkTypes.map((t) => [typeName(t.type), yesNo(t.available), t.reason || "-"]),
  );
  return [facts, uplinks, bridges, subnets, types].join("\n\n");
}

/** Returns the lower-case name of an enum value without its prefix, for example "started" for NETWORK_EVENT_TYPE_STARTED. */
function enumName(names: Record<number, string>, value: number, prefix: string): string {
  return (names[value] ?? String(value)).replace(prefix, "").toLowerCase().replace(/_/g, "-");
}

/**
 * Renders one event as a line for people: time, kind, what happened, and
 * the object, for example
 * "2024-05-01T10:00:00.000Z  network    started   lab  (source libvirt)".
 */
export function eventLine(response: WatchEventsResponse): string {
  const time = response.observeTime?.toISOString() ?? "-";
  const event = response.event;
  switch (event?.$case) {
    case "network": {
      const { type, name, source } = event.value;
      const what = enumName(NetworkEventType, type, "NETWORK_EVENT_TYPE_");
      return `${time}  network    ${what.padEnd(9)} ${name}  (source ${enumName(EventSource, source, "EVENT_SOURCE_")})`;
    }
    case "interface": {
      const { type, domain, alias, macAddress, network } = event.value;
      const what = enumName(InterfaceEventType, type, "INTERFACE_EVENT_TYPE_");
      return `${time}  interface  ${what.padEnd(9)} ${domain} ${alias}  mac ${macAddress || "unknown"}  network ${network || "-"}`;
    }
    case "resync": {
      const { reason, message } = event.value;
      return `${time}  resync     ${enumName(ResyncReason, reason, "RESYNC_REASON_")}  ${message}`;
    }
    default:
      return `${time}  unknown event`;
  }
}
