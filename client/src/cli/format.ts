import {
  DhcpSource,
  EventSource,
  InterfaceEventType,
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
    case DhcpSource.DHCP_SOURCE_LIBVIRT:
      return network.ipv4?.dhcpRanges.map((r) => `${r.start}-${r.end}`).join(",") ?? "libvirt";
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
  const rows = networks.map((n) => [
    n.name,
    typeName(n.type),
    n.active ? "active" : "inactive",
    yesNo(n.autostart),
    n.bridge || "-",
    n.ipv4?.address || "-",
    dhcpText(n),
    yesNo(n.connectivity?.hostReachesGuests),
    yesNo(n.connectivity?.guestsReachOutside),
  ]);

  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()).join("\n");
}

/** Renders one network as "key: value" lines for people. */
export function networkDetails(network: Network): string {
  const lines: Array<[string, string]> = [
    ["Name", network.name],
    ["UUID", network.uuid || "-"],
    ["Type", typeName(network.type)],
    ["State", network.active ? "active" : "inactive"],
    ["Persistent", yesNo(network.persistent)],
    ["Autostart", yesNo(network.autostart)],
    ["Bridge", network.bridge || "-"],
    ["IPv4", network.ipv4?.address || "-"],
    ["DHCP", dhcpText(network)],
    ["Host reaches guests", yesNo(network.connectivity?.hostReachesGuests)],
    ["Guests reach outside", yesNo(network.connectivity?.guestsReachOutside)],
  ];
  const width = Math.max(...lines.map(([key]) => key.length)) + 1;
  return lines.map(([key, value]) => `${(key + ":").padEnd(width)} ${value}`).join("\n");
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
