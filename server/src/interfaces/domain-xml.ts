import { XMLBuilder, XMLParser } from "fast-xml-parser";

import type { LinkState } from "./model";

// Elements are parsed into plain objects and built back with the same
// options, so an <interface> element read from libvirt can be sent back for
// a detach or an update with only the intended change. The builder escapes
// every text and attribute value, so no request field can add elements.
const XML_OPTIONS = {
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
};

const parser = new XMLParser({
  ...XML_OPTIONS,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (_name: string, jpath: unknown) => String(jpath) === "domain.devices.interface",
});

const builder = new XMLBuilder({ ...XML_OPTIONS, suppressEmptyNode: true });

/** One <interface> element of a domain's XML. */
export interface InterfaceElement {
  /**
   * libvirt's interface type: "network", "bridge", "direct", ... An interface
   * on a libvirt network is "network" in both views, although libvirt's live
   * XML shows the type the network resolved it to.
   */
  type: string;
  /** Lowercase; "" when the element has none, which libvirt does not write for defined domains. */
  macAddress: string;
  /** <source network=...>, the libvirt network of the interface; "" for an interface on none. */
  network: string;
  model: string;
  /** <alias name=...>, present in running domains and for user aliases. */
  alias: string;
  /** <target dev=...>, present in running domains. */
  tapDevice: string;
  /** <link state=...>; libvirt omits the element when the link is up. */
  linkState: LinkState;
  /** The element as parsed, for renderInterfaceElement. */
  node: Record<string, unknown>;
}

/**
 * Returns the <interface> elements of a domain XML document in document order.
 * @throws Error when the document has no <domain> root.
 */
export function parseDomainInterfaces(xml: string): InterfaceElement[] {
  const doc = parser.parse(xml) as { domain?: { devices?: { interface?: Array<Record<string, any>> } | string } };
  if (doc.domain === undefined) {
    throw new Error("libvirt returned domain XML without a <domain> root element");
  }
  const devices = typeof doc.domain.devices === "object" ? doc.domain.devices : undefined;

  return (devices?.interface ?? []).map((node) => interfaceElement(node));
}

function interfaceElement(node: Record<string, any>): InterfaceElement {
  // libvirt 9.0 writes an interface of type network whose network is a BRIDGE or MACVTAP one as
  // <interface type='bridge'> or <interface type='direct'> in the live XML, with the network
  // still named in <source network=...>.
  const network = attribute(node.source, "@_network");
  return {
    type: network === "" ? attribute(node, "@_type") : "network",
    macAddress: attribute(node.mac, "@_address").toLowerCase(),
    network,
    model: attribute(node.model, "@_type"),
    alias: attribute(node.alias, "@_name"),
    tapDevice: attribute(node.target, "@_dev"),
    linkState: attribute(node.link, "@_state") === "down" ? "down" : "up",
    node,
  };
}

/** Renders a parsed <interface> element back to XML, for device detach and update calls. */
export function renderInterfaceElement(node: Record<string, unknown>): string {
  return builder.build({ interface: node }) as string;
}

/** Returns a copy of a parsed <interface> element with its <link state> set. */
export function withLinkState(node: Record<string, unknown>, state: LinkState): Record<string, unknown> {
  return { ...node, link: { "@_state": state } };
}

/** Renders a new <interface type='network'> element for DOMAIN_ATTACH_DEVICE_FLAGS. */
export function renderNetworkInterface(spec: { network: string; macAddress: string; model: string; linkState: LinkState }): string {
  return renderInterfaceElement({
    "@_type": "network",
    mac: { "@_address": spec.macAddress },
    source: { "@_network": spec.network },
    model: { "@_type": spec.model },
    link: { "@_state": spec.linkState },
  });
}

function attribute(node: unknown, name: string): string {
  if (typeof node !== "object" || node === null) {
    return "";
  }
  const value = (node as Record<string, unknown>)[name];
  return typeof value === "string" ? value : "";
}
