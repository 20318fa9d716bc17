import { XMLBuilder, XMLParser } from "fast-xml-parser";

import { formatIp, parseIp } from "./ip";
import { parseIpv4 } from "./ipv4";
import type { DhcpHost, DhcpRange, DnsConfig, IpConfig, MacvtapMode, NetworkKind, NetworkSpec } from "./model";

// fast-xml-parser's builder escapes every text and attribute value, so no
// field of a request can add elements to the XML libvirt receives.
const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  suppressEmptyNode: true,
  format: true,
  indentBy: "  ",
});

const fragmentBuilder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  suppressEmptyNode: true,
});

const REPEATED = new Set([
  "network.ip",
  "network.ip.dhcp.range",
  "network.ip.dhcp.host",
  "network.forward.interface",
  "network.dns.host",
  "network.dns.host.hostname",
  "network.dns.forwarder",
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (_name, jpath) => REPEATED.has(String(jpath)),
});

/** What a redefinition must carry over from the existing network so that libvirt treats it as the same one. */
export interface Identity {
  uuid: string;
  /** The bridge's MAC address, which libvirt generates at define time. */
  macAddress?: string;
}

/** Renders the libvirt network XML for a validated spec. */
export function renderNetworkXml(spec: NetworkSpec, identity?: Identity): string {
  const network: Record<string, unknown> = { name: spec.name };
  if (identity?.uuid) {
    network.uuid = identity.uuid;
  }

  const forward = forwardElement(spec);
  if (forward !== undefined) {
    network.forward = forward;
  }

  if (spec.type === "bridge") {
    network.bridge = { "@_name": spec.hostBridge };
  } else if (spec.type !== "macvtap") {
    network.bridge = { "@_name": spec.bridge, "@_stp": spec.stp ? "on" : "off", "@_delay": String(spec.forwardDelaySeconds ?? 0) };
    if (identity?.macAddress) {
      network.mac = { "@_address": identity.macAddress };
    }
  }
  if (spec.mtu > 0) {
    network.mtu = { "@_size": String(spec.mtu) };
  }

  if (spec.dns?.domain) {
    // localOnly: dnsmasq answers names in the domain itself and never forwards them.
    network.domain = { "@_name": spec.dns.domain, "@_localOnly": "yes" };
  }
  const dns = dnsElement(spec.dns);
  if (dns !== undefined) {
    network.dns = dns;
  }

  const ips: Array<Record<string, unknown>> = [];
  if (spec.ipv4 !== undefined) {
    ips.push(ipElement(spec.ipv4, 4));
  }
  if (spec.ipv6 !== undefined) {
    ips.push(ipElement(spec.ipv6, 6));
  }
  if (ips.length > 0) {
    network.ip = ips;
  }

  return builder.build({ network }) as string;
}

function forwardElement(spec: NetworkSpec): Record<string, unknown> | undefined {
  switch (spec.type) {
    case "nat":
    case "routed":
    case "open": {
      const mode = spec.type === "routed" ? "route" : spec.type;
      return spec.uplink ? { "@_mode": mode, "@_dev": spec.uplink } : { "@_mode": mode };
    }
    case "bridge":
      return { "@_mode": "bridge" };
    case "macvtap":
      return { "@_mode": spec.macvtapMode ?? "bridge", interface: [{ "@_dev": spec.uplink }] };
    default:
      return undefined;
  }
}

function dnsElement(dns: DnsConfig | undefined): Record<string, unknown> | undefined {
  if (dns === undefined) {
    return undefined;
  }
  if (!dns.enabled) {
    return { "@_enable": "no" };
  }

  const element: Record<string, unknown> = {};
  if (dns.forwarders.length > 0) {
    element.forwarder = dns.forwarders.map(forwarderElement);
  }
  if (dns.hosts.length > 0) {
    element.host = dns.hosts.map((host) => ({ "@_ip": host.ip, hostname: host.hostnames }));
  }
  return Object.keys(element).length > 0 ? element : undefined;
}

function forwarderElement(forwarder: { address: string; domain: string }): Record<string, string> {
  const element: Record<string, string> = {};
  if (forwarder.domain) {
    element["@_domain"] = forwarder.domain;
  }
  if (forwarder.address) {
    element["@_addr"] = forwarder.address;
  }
  return element;
}

function ipElement(config: IpConfig, family: 4 | 6): Record<string, unknown> {
  const ip: Record<string, unknown> = {};
  if (family === 6) {
    ip["@_family"] = "ipv6";
  }
  ip["@_address"] = config.address;
  ip["@_prefix"] = String(config.prefixLength);

  if (config.dhcpRanges.length > 0 || config.dhcpHosts.length > 0) {
    const dhcp: Record<string, unknown> = {};
    if (config.dhcpRanges.length > 0) {
      dhcp.range = config.dhcpRanges.map(rangeElement);
    }
    if (config.dhcpHosts.length > 0) {
      dhcp.host = config.dhcpHosts.map(hostElement);
    }
    ip.dhcp = dhcp;
  }
  return ip;
}

function rangeElement(range: DhcpRange): Record<string, string> {
  return { "@_start": range.start, "@_end": range.end };
}

function hostElement(host: DhcpHost): Record<string, string> {
  const element: Record<string, string> = {};
  if (host.mac) {
    element["@_mac"] = host.mac;
  }
  if (host.hostname) {
    element["@_name"] = host.hostname;
  }
  element["@_ip"] = host.ip;
  return element;
}

/** Renders the XML that NETWORK_UPDATE takes for a DHCP range. */
export function renderRangeXml(range: DhcpRange): string {
  return fragmentBuilder.build({ range: rangeElement(range) }) as string;
}

/** Renders the XML that NETWORK_UPDATE takes for a static DHCP host. */
export function renderDhcpHostXml(host: DhcpHost): string {
  return fragmentBuilder.build({ host: hostElement(host) }) as string;
}

/** Renders the XML that NETWORK_UPDATE takes for a DNS host. */
export function renderDnsHostXml(host: { ip: string; hostnames: string[] }): string {
  return fragmentBuilder.build({ host: { "@_ip": host.ip, hostname: host.hostnames } }) as string;
}

/** The parts of a libvirt network XML document that the agent reports or carries over. */
export interface ParsedNetworkXml extends Omit<NetworkSpec, "autostart"> {
  uuid: string;
  /** The bridge's MAC address, kept when the agent redefines the network. */
  macAddress?: string;
  /** Position of the IPv4 and IPv6 <ip> elements, which NETWORK_UPDATE takes as parentIndex. */
  ipIndex: { ipv4?: number; ipv6?: number };
}

/**
 * Parses libvirt's network XML into the agent's model. Networks defined
 * outside the agent are classified by their forward mode and addresses;
 * elements the model has no field for are ignored.
 * @throws Error when the document has no <network> root or no name.
 */
export function parseNetworkXml(xml: string): ParsedNetworkXml {
  const doc = parser.parse(xml) as { network?: Record<string, any> };
  const network = doc.network;
  if (network === undefined || typeof network.name !== "string") {
    throw new Error("libvirt returned network XML without a <network><name> element");
  }

  const ips: any[] = network.ip ?? [];
  const ipIndex: ParsedNetworkXml["ipIndex"] = {};
  let ipv4: IpConfig | undefined;
  let ipv6: IpConfig | undefined;
  ips.forEach((element, index) => {
    const family = element["@_family"] === "ipv6" || String(element["@_address"] ?? "").includes(":") ? 6 : 4;
    const parsed = parseIpElement(element, family);
    if (parsed === undefined) {
      return;
    }
    // The model has one subnet per family; libvirt allows more, and the first one counts.
    if (family === 4 && ipv4 === undefined) {
      ipv4 = parsed;
      ipIndex.ipv4 = index;
    } else if (family === 6 && ipv6 === undefined) {
      ipv6 = parsed;
      ipIndex.ipv6 = index;
    }
  });

  const type = classify(network, ips.length > 0);
  const managed = type !== "bridge" && type !== "macvtap";
  const bridgeElement = network.bridge as Record<string, string> | undefined;
  const forward = network.forward as Record<string, any> | undefined;

  const parsed: ParsedNetworkXml = {
    name: network.name,
    uuid: typeof network.uuid === "string" ? network.uuid : "",
    type,
    bridge: managed ? (bridgeElement?.["@_name"] ?? "") : "",
    ipv4,
    ipv6,
    dns: parseDns(network),
    mtu: Number(network.mtu?.["@_size"] ?? 0),
    ipIndex,
  };
  if (managed) {
    // libvirt turns STP on unless the XML says stp='off'.
    parsed.stp = bridgeElement?.["@_stp"] !== "off";
    parsed.forwardDelaySeconds = Number(bridgeElement?.["@_delay"] ?? 0);
    if (typeof network.mac?.["@_address"] === "string") {
      parsed.macAddress = network.mac["@_address"];
    }
  }
  if (type === "bridge") {
    parsed.hostBridge = bridgeElement?.["@_name"] ?? "";
  }
  const uplink = forward?.["@_dev"] ?? forward?.interface?.[0]?.["@_dev"];
  if (typeof uplink === "string" && uplink !== "") {
    parsed.uplink = uplink;
  }
  if (type === "macvtap") {
    parsed.macvtapMode = (forward?.["@_mode"] ?? "bridge") as MacvtapMode;
  }
  return parsed;
}

function parseIpElement(ip: Record<string, any>, family: 4 | 6): IpConfig | undefined {
  const address = parseIp(ip["@_address"] ?? "");
  if (address === undefined || address.family !== family) {
    return undefined;
  }

  const ranges: DhcpRange[] = (ip.dhcp?.range ?? []).map((r: Record<string, string>) => ({
    start: canonical(r["@_start"]),
    end: canonical(r["@_end"]),
  }));
  const hosts: DhcpHost[] = (ip.dhcp?.host ?? []).map((h: Record<string, string>) => ({
    mac: (h["@_mac"] ?? "").toLowerCase(),
    ip: canonical(h["@_ip"] ?? ""),
    hostname: h["@_name"] ?? "",
  }));
  return { address: formatIp(address), prefixLength: prefixLengthOf(ip, family), dhcpRanges: ranges, dhcpHosts: hosts };
}

function canonical(text: string | undefined): string {
  const address = parseIp(text ?? "");
  return address === undefined ? (text ?? "") : formatIp(address);
}

// libvirt accepts either prefix='24' or, for IPv4, netmask='255.255.255.0'.
function prefixLengthOf(ip: Record<string, any>, family: 4 | 6): number {
  if (ip["@_prefix"] !== undefined) {
    return Number(ip["@_prefix"]);
  }
  const mask = parseIpv4(ip["@_netmask"] ?? "");
  if (mask === undefined) {
    // NOTE: without prefix or netmask libvirt takes the classful prefix of an IPv4 address; 24 is only right for class C.
    return family === 6 ? 64 : 24;
  }
  return mask.toString(2).replace(/0+$/, "").length;
}

function parseDns(network: Record<string, any>): DnsConfig | undefined {
  const dns = network.dns as Record<string, any> | undefined;
  const domain: string = network.domain?.["@_name"] ?? "";
  const enabled = dns?.["@_enable"] !== "no";

  const hosts = (dns?.host ?? []).map((host: Record<string, any>) => ({
    ip: canonical(host["@_ip"]),
    hostnames: (host.hostname ?? []).map((name: unknown) => (typeof name === "string" ? name : String((name as Record<string, unknown>)["#text"] ?? ""))),
  }));
  const forwarders = (dns?.forwarder ?? []).map((forwarder: Record<string, string>) => ({
    address: forwarder["@_addr"] ? canonical(forwarder["@_addr"]) : "",
    domain: forwarder["@_domain"] ?? "",
  }));

  if (enabled && domain === "" && hosts.length === 0 && forwarders.length === 0) {
    return undefined;
  }
  return { enabled, domain, hosts, forwarders };
}

function classify(network: Record<string, any>, hasAddress: boolean): NetworkKind {
  const forward = network.forward;
  if (forward === undefined) {
    return hasAddress ? "isolated" : "very-isolated";
  }

  const mode: string = forward["@_mode"] ?? "nat";
  switch (mode) {
    case "nat":
      return "nat";
    case "route":
      return "routed";
    case "open":
      return "open";
    case "bridge":
      // A host bridge means BRIDGE; a forward interface without one means macvtap.
      return network.bridge?.["@_name"] !== undefined ? "bridge" : "macvtap";
    default:
      // vepa, private and passthrough are macvtap modes.
      return "macvtap";
  }
}

const MODELED_NETWORK_ELEMENTS = new Set(["name", "uuid", "forward", "bridge", "mac", "mtu", "domain", "dns", "ip"]);

/**
 * Lists the parts of a libvirt network XML that the model has no field for,
 * such as portgroups, static routes, a NAT address range or a second subnet
 * of one family. A redefinition rendered from the model would drop them.
 */
export function unmodeledElements(xml: string): string[] {
  const network = (parser.parse(xml) as { network?: Record<string, any> }).network ?? {};
  const found = Object.keys(network)
    .filter((key) => !key.startsWith("@_") && !MODELED_NETWORK_ELEMENTS.has(key))
    .map((key) => `<${key}>`);

  const nat = network.forward?.nat;
  const port = nat?.port;
  const defaultNat = nat === undefined || nat === "" || (Object.keys(nat).length === 1 && port?.["@_start"] === "1024" && port?.["@_end"] === "65535");
  if (!defaultNat) {
    found.push("<forward><nat>");
  }
  for (const key of Object.keys(network.forward ?? {})) {
    if (!key.startsWith("@_") && key !== "nat" && key !== "interface") {
      found.push(`<forward><${key}>`);
    }
  }

  const ips: any[] = network.ip ?? [];
  const families = ips.map((ip) => (ip["@_family"] === "ipv6" || String(ip["@_address"] ?? "").includes(":") ? "ipv6" : "ipv4"));
  if (new Set(families).size < families.length) {
    found.push("a second <ip> of one family");
  }
  for (const ip of ips) {
    for (const key of Object.keys(ip.dhcp ?? {})) {
      if (key !== "range" && key !== "host") {
        found.push(`<ip><dhcp><${key}>`);
      }
    }
    for (const key of Object.keys(ip)) {
      if (!key.startsWith("@_") && key !== "dhcp") {
        found.push(`<ip><${key}>`);
      }
    }
  }
  return [...new Set(found)];
}
