import { XMLBuilder, XMLParser } from "fast-xml-parser";

import { parseIpv4 } from "./ipv4";
import type { DhcpRange, Ipv4Config, NetworkKind, NetworkSpec } from "./model";

// fast-xml-parser's builder escapes every text and attribute value, so no
// field of a request can add elements to the XML libvirt receives.
const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  suppressEmptyNode: true,
  format: true,
  indentBy: "  ",
});

const REPEATED = new Set(["network.ip", "network.ip.dhcp.range", "network.ip.dhcp.host", "network.forward.interface"]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (_name, jpath) => REPEATED.has(String(jpath)),
});

/** Renders the libvirt network XML for a validated spec. */
export function renderNetworkXml(spec: NetworkSpec): string {
  const network: Record<string, unknown> = { name: spec.name };

  if (spec.type === "nat") {
    network.forward = { "@_mode": "nat" };
  }
  // STP off and no forward delay: a guest bridge with no loops should pass
  // traffic as soon as a port comes up, which is also libvirt's own default.
  network.bridge = { "@_name": spec.bridge, "@_stp": "off", "@_delay": "0" };

  if (spec.ipv4 !== undefined) {
    const ip: Record<string, unknown> = { "@_address": spec.ipv4.address, "@_prefix": String(spec.ipv4.prefixLength) };
    if (spec.ipv4.dhcpRanges.length > 0) {
      ip.dhcp = { range: spec.ipv4.dhcpRanges.map((r) => ({ "@_start": r.start, "@_end": r.end })) };
    }
    network.ip = ip;
  }

  return builder.build({ network }) as string;
}

/** The parts of a libvirt network XML document that the agent reports. */
export interface ParsedNetworkXml extends Omit<NetworkSpec, "autostart"> {
  uuid: string;
}

/**
 * Parses libvirt's network XML into the agent's model. Networks defined
 * outside the agent are classified by their forward mode and addresses.
 * @throws Error when the document has no <network> root or no name.
 */
export function parseNetworkXml(xml: string): ParsedNetworkXml {
  const doc = parser.parse(xml) as { network?: Record<string, any> };
  const network = doc.network;
  if (network === undefined || typeof network.name !== "string") {
    throw new Error("libvirt returned network XML without a <network><name> element");
  }

  const ips: any[] = network.ip ?? [];
  const ipv4Element = ips.find((ip) => ip["@_family"] === undefined || ip["@_family"] === "ipv4");
  const ipv4 = ipv4Element ? parseIpv4Element(ipv4Element) : undefined;

  return {
    name: network.name,
    uuid: typeof network.uuid === "string" ? network.uuid : "",
    type: classify(network, ips.length > 0),
    bridge: network.bridge?.["@_name"] ?? "",
    ipv4,
  };
}

function parseIpv4Element(ip: Record<string, any>): Ipv4Config | undefined {
  const address: string | undefined = ip["@_address"];
  if (address === undefined || parseIpv4(address) === undefined) {
    return undefined;
  }

  const ranges: DhcpRange[] = (ip.dhcp?.range ?? []).map((r: Record<string, string>) => ({
    start: r["@_start"],
    end: r["@_end"],
  }));
  return { address, prefixLength: prefixLengthOf(ip), dhcpRanges: ranges };
}

// libvirt accepts either prefix='24' or netmask='255.255.255.0'.
function prefixLengthOf(ip: Record<string, any>): number {
  if (ip["@_prefix"] !== undefined) {
    return Number(ip["@_prefix"]);
  }
  const mask = parseIpv4(ip["@_netmask"] ?? "");
  if (mask === undefined) {
    return 0;
  }
  return mask.toString(2).replace(/0+$/, "").length;
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
