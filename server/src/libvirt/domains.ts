// Domain procedures that the event stream needs to tell which network
// interface a device event is about.

import type { LibvirtClient } from "./client";
import { ListLimit, RemoteProcedure } from "./protocol";
import { DomainRef, readDomainRef, writeDomainRef } from "./structs";
import { XdrReader, XdrWriter } from "./xdr";

/** virConnectListAllDomainsFlags. Each pair filters on one property; 0 lists every domain. */
export const ListDomainsFlag = {
  ACTIVE: 1,
  INACTIVE: 2,
  PERSISTENT: 4,
  TRANSIENT: 8,
} as const;

/** Lists domains (CONNECT_LIST_ALL_DOMAINS). `flags` combines ListDomainsFlag values. */
export async function listAllDomains(client: LibvirtClient, flags = 0): Promise<DomainRef[]> {
  // need_results 1 asks for the list itself, not only its length.
  const args = new XdrWriter().writeInt(1).writeUint(flags).finish();
  const reader = new XdrReader(await client.call(RemoteProcedure.CONNECT_LIST_ALL_DOMAINS, args));
  const domains = reader.readArray(ListLimit.DOMAINS, readDomainRef);
  reader.readUint(); // The count of domains, which the array already contains.
  reader.expectEnd();
  return domains;
}

/** Returns a domain's XML (DOMAIN_GET_XML_DESC). With flags 0 a running domain's XML shows the device aliases. */
export async function domainGetXmlDesc(client: LibvirtClient, domain: DomainRef, flags = 0): Promise<string> {
  const writer = new XdrWriter();
  writeDomainRef(writer, domain);
  writer.writeUint(flags);
  const reader = new XdrReader(await client.call(RemoteProcedure.DOMAIN_GET_XML_DESC, writer.finish()));
  const xml = reader.readString();
  reader.expectEnd();
  return xml;
}
