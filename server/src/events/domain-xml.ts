import { XMLParser } from "fast-xml-parser";

/** A network interface of a domain, as its XML describes it. */
export interface DomainNic {
  /** The device alias, for example "net0"; libvirt sets it in the XML of running domains. */
  alias: string;
  mac: string | undefined;
  /** The libvirt network of the interface; undefined for an interface on none. */
  network: string | undefined;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (_name, jpath) => String(jpath) === "domain.devices.interface",
});

/**
 * Lists the network interfaces of a running domain that have an alias.
 * @throws Error when the document has no <domain> root.
 */
export function parseDomainNics(xml: string): DomainNic[] {
  const doc = parser.parse(xml) as { domain?: { devices?: { interface?: Array<Record<string, any>> } } };
  if (doc.domain === undefined) {
    throw new Error("libvirt returned domain XML without a <domain> element");
  }

  const nics: DomainNic[] = [];
  for (const element of doc.domain.devices?.interface ?? []) {
    const alias: unknown = element.alias?.["@_name"];
    if (typeof alias !== "string" || alias === "") {
      continue;
    }
    // The live XML shows an interface on a BRIDGE or MACVTAP network with type bridge or direct,
    // and still names the network in <source network=...>.
    const network: unknown = element.source?.["@_network"];
    const mac: unknown = element.mac?.["@_address"];
    nics.push({
      alias,
      mac: typeof mac === "string" ? mac.toLowerCase() : undefined,
      network: typeof network === "string" ? network : undefined,
    });
  }
  return nics;
}
