import { DetachState, DhcpSource, Interface, LinkState } from "@netagent/proto";

const MAC_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Turns the CLI's <interface> argument into a selector: a MAC address when it looks like one, otherwise an alias. */
export function interfaceSelector(text: string): { macAddress: string; alias: string } {
  return MAC_PATTERN.test(text) ? { macAddress: text, alias: "" } : { macAddress: "", alias: text };
}

/** Parses "up" or "down" into the enum. */
export function parseLinkState(text: string): LinkState {
  switch (text.toLowerCase()) {
    case "up":
      return LinkState.LINK_STATE_UP;
    case "down":
      return LinkState.LINK_STATE_DOWN;
    default:
      throw new Error(`invalid link state ${JSON.stringify(text)}: use up or down`);
  }
}

function linkText(state: LinkState): string {
  return state === LinkState.LINK_STATE_DOWN ? "down" : "up";
}

function yesNo(value: boolean): string {
  return value ? "yes" : "no";
}

/** Returns the addresses, or a short reason why libvirt lists none. */
function addressesText(guestInterface: Interface): string {
  if (guestInterface.addresses.length > 0) {
    return guestInterface.addresses.map((a) => a.address).join(",");
  }
  if (!guestInterface.live) {
    return "-";
  }
  switch (guestInterface.dhcpSource) {
    case DhcpSource.DHCP_SOURCE_LIBVIRT:
      return "(no lease yet)";
    case DhcpSource.DHCP_SOURCE_LAN:
      return "(from LAN DHCP)";
    case DhcpSource.DHCP_SOURCE_NONE:
      return "(no DHCP)";
    default:
      return "-";
  }
}

function dhcpText(source: DhcpSource): string {
  switch (source) {
    case DhcpSource.DHCP_SOURCE_LIBVIRT:
      return "libvirt";
    case DhcpSource.DHCP_SOURCE_LAN:
      return "from LAN";
    case DhcpSource.DHCP_SOURCE_NONE:
      return "none";
    default:
      return "-";
  }
}

/** Renders interfaces as an aligned table for people. */
export function interfaceTable(interfaces: Interface[]): string {
  const header = ["DOMAIN", "MAC", "NETWORK", "MODEL", "ALIAS", "TAP", "LINK", "LIVE", "PERSISTENT", "ADDRESSES"];
  const rows = interfaces.map((i) => [
    i.domain,
    i.macAddress,
    i.network || `(${i.type})`,
    i.model || "-",
    i.alias || "-",
    i.tapDevice || "-",
    linkText(i.linkState),
    yesNo(i.live),
    yesNo(i.persistent),
    addressesText(i),
  ]);

  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()).join("\n");
}

/** Renders one interface as "key: value" lines for people. */
export function interfaceDetails(guestInterface: Interface): string {
  const lines: Array<[string, string]> = [
    ["Domain", guestInterface.domain],
    ["MAC address", guestInterface.macAddress],
    ["Network", guestInterface.network || "-"],
    ["Type", guestInterface.type],
    ["Model", guestInterface.model || "-"],
    ["Alias", guestInterface.alias || "-"],
    ["Tap device", guestInterface.tapDevice || "-"],
    ["Link", linkText(guestInterface.linkState)],
    ["Live", yesNo(guestInterface.live)],
    ["Persistent", yesNo(guestInterface.persistent)],
    ["Addresses", guestInterface.addresses.map((a) => a.address).join(", ") || "-"],
    ["DHCP", dhcpText(guestInterface.dhcpSource)],
  ];
  if (guestInterface.addressesNote !== "") {
    lines.push(["Note", guestInterface.addressesNote]);
  }
  const width = Math.max(...lines.map(([key]) => key.length)) + 1;
  return lines.map(([key, value]) => `${(key + ":").padEnd(width)} ${value}`).join("\n");
}

/**
 * Returns one line that describes how a detach ended.
 * @param live false when the request left the running domain alone (--no-live).
 */
export function detachSummary(state: DetachState, domain: string, selector: string, live = true): string {
  switch (state) {
    case DetachState.DETACH_STATE_DETACHED:
      if (!live) {
        return `interface ${selector} removed from the persistent definition of domain ${domain}; the running domain keeps it until it stops`;
      }
      return `interface ${selector} detached from domain ${domain}`;
    case DetachState.DETACH_STATE_ALREADY_ABSENT:
      // Detach succeeds on a missing interface so that retries are harmless, which also hides typos.
      return `domain ${domain} has no interface ${selector}; nothing to do (if you expected one, check the MAC address or alias with 'netagentctl interface list ${domain}')`;
    case DetachState.DETACH_STATE_PENDING:
      return (
        `interface ${selector} of domain ${domain}: removal pending, because the guest has not released the device yet; ` +
        "libvirt removes it once the guest does, which needs a guest OS that handles ACPI hot-unplug, or when the domain stops " +
        `(check with 'netagentctl interface list ${domain}')`
      );
    default:
      return `interface ${selector} of domain ${domain}: unknown detach state ${state}`;
  }
}
