// The command-line options that set each request field, so that an error
// about a field can name the option the user typed.

/** The options of `network create`, by request field path without indexes. */
const CREATE_OPTIONS: Record<string, string> = {
  "network.name": "NAME",
  "network.type": "--type",
  "network.bridge": "--bridge",
  "network.host_bridge": "--host-bridge",
  "network.uplink": "--uplink",
  "network.macvtap_mode": "--macvtap-mode",
  "network.ipv4": "--subnet/--host-address",
  "network.ipv4.address": "--subnet/--host-address",
  "network.ipv4.dhcp_ranges": "--dhcp-range",
  "network.ipv4.dhcp_hosts": "--dhcp-host",
  "network.ipv6": "--ipv6",
  "network.ipv6.address": "--ipv6",
  "network.ipv6.dhcp_ranges": "--ipv6-dhcp-range",
  "network.ipv6.dhcp_hosts": "--ipv6-dhcp-host",
  "network.dns": "--dns-domain/--dns-host/--dns-forwarder",
  "network.dns.domain": "--dns-domain",
  "network.dns.hosts": "--dns-host",
  "network.dns.forwarders": "--dns-forwarder",
  "network.mtu": "--mtu",
  "network.stp": "--stp",
  "network.forward_delay_seconds": "--forward-delay",
  name: "NAME",
};

/** The options of `network update`; lists in the request hold what the user added. */
const UPDATE_OPTIONS: Record<string, string> = {
  "network.name": "NAME",
  "network.ipv4": "--host-address",
  "network.ipv4.address": "--host-address",
  "network.ipv4.dhcp_ranges": "--add-dhcp-range",
  "network.ipv4.dhcp_hosts": "--add-dhcp-host",
  "network.ipv6": "--ipv6",
  "network.ipv6.address": "--ipv6",
  "network.dns.domain": "--dns-domain",
  "network.dns.hosts": "--add-dns-host",
  "network.mtu": "--mtu",
  "network.stp": "--stp/--no-stp",
  "network.forward_delay_seconds": "--forward-delay",
  "network.autostart": "--autostart/--no-autostart",
  name: "NAME",
};

/** The options of the `interface` commands, whose request fields sit at the top level. */
const INTERFACE_OPTIONS: Record<string, string> = {
  domain: "DOMAIN",
  mac_address: "--mac",
  model: "--model",
  timeout_seconds: "--wait",
  link_state: "up/down",
};

/**
 * Returns the option of `command` that sets `field`, such as "--add-dhcp-host"
 * for "network.ipv4.dhcp_hosts[1].ip" in an update, or undefined when no
 * option sets it. The most specific known path wins.
 */
export function optionForField(field: string, command: "create" | "update" | undefined): string | undefined {
  let table = CREATE_OPTIONS;
  if (command === "update") {
    table = UPDATE_OPTIONS;
  } else if (command === undefined) {
    // Other commands send a network name or an interface request; their fields do not overlap.
    table = { ...CREATE_OPTIONS, ...INTERFACE_OPTIONS };
  }
  let path = field.replace(/\[\d+\]/g, "");
  for (;;) {
    const option = table[path];
    if (option !== undefined) {
      return option;
    }
    const dot = path.lastIndexOf(".");
    if (dot < 0) {
      return undefined;
    }
    path = path.slice(0, dot);
  }
}
