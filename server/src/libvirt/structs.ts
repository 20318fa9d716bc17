// XDR forms of the structs that many procedures share: remote_nonnull_network,
// remote_nonnull_domain and remote_error, and of remote_domain_interface
// (src/remote/remote_protocol.x).

import type { RemoteErrorFields } from "./errors";
import { ListLimit, UUID_LENGTH } from "./protocol";
import { XdrReader, XdrWriter } from "./xdr";

/** A libvirt network handle (remote_nonnull_network). libvirtd looks the network up by UUID. */
export interface NetworkRef {
  name: string;
  /** 16 raw bytes. formatUuid turns them into the usual text form. */
  uuid: Buffer;
}

/** A libvirt domain handle (remote_nonnull_domain). */
export interface DomainRef {
  name: string;
  /** 16 raw bytes. */
  uuid: Buffer;
  /** Hypervisor id of a running domain, -1 when the domain is inactive. */
  id: number;
}

export function writeNetworkRef(writer: XdrWriter, network: NetworkRef): void {
  writer.writeString(network.name);
  writer.writeFixedOpaque(network.uuid, UUID_LENGTH);
}

export function readNetworkRef(reader: XdrReader): NetworkRef {
  const name = reader.readString();
  const uuid = reader.readFixedOpaque(UUID_LENGTH);
  return { name, uuid };
}

export function writeDomainRef(writer: XdrWriter, domain: DomainRef): void {
  writer.writeString(domain.name);
  writer.writeFixedOpaque(domain.uuid, UUID_LENGTH);
  writer.writeInt(domain.id);
}

export function readDomainRef(reader: XdrReader): DomainRef {
  const name = reader.readString();
  const uuid = reader.readFixedOpaque(UUID_LENGTH);
  const id = reader.readInt();
  return { name, uuid, id };
}

/** One DHCP lease (remote_network_dhcp_lease). */
export interface DhcpLease {
  /** The bridge the lease was handed out on. */
  iface: string;
  /** Expiry time in seconds since the Unix epoch; 0 for a lease that never expires. */
  expiryTime: bigint;
  /** IpAddressType: 0 for IPv4, 1 for IPv6. */
  type: number;
  mac?: string;
  /** DHCPv6 identity association id. */
  iaid?: string;
  ipAddress: string;
  prefix: number;
  hostname?: string;
  /** DHCP client id (IPv4) or DUID (IPv6). */
  clientId?: string;
}

export function readDhcpLease(reader: XdrReader): DhcpLease {
  const readString = (r: XdrReader) => r.readString();
  const iface = reader.readString();
  const expiryTime = reader.readHyper();
  const type = reader.readInt();
  const mac = reader.readOptional(readString);
  const iaid = reader.readOptional(readString);
  const ipAddress = reader.readString();
  const prefix = reader.readUint();
  const hostname = reader.readOptional(readString);
  const clientId = reader.readOptional(readString);
  return { iface, expiryTime, type, mac, iaid, ipAddress, prefix, hostname, clientId };
}

/** Writes a remote_network_dhcp_lease. The agent only needs this to build replies of test daemons. */
export function writeDhcpLease(writer: XdrWriter, lease: DhcpLease): void {
  const writeString = (w: XdrWriter, value: string) => w.writeString(value);
  writer.writeString(lease.iface);
  writer.writeHyper(lease.expiryTime);
  writer.writeInt(lease.type);
  writer.writeOptional(lease.mac, writeString);
  writer.writeOptional(lease.iaid, writeString);
  writer.writeString(lease.ipAddress);
  writer.writeUint(lease.prefix);
  writer.writeOptional(lease.hostname, writeString);
  writer.writeOptional(lease.clientId, writeString);
}

/** One address of a guest interface (remote_domain_ip_addr). */
export interface DomainIpAddress {
  /** IpAddressType: 0 IPv4, 1 IPv6. */
  type: number;
  address: string;
  prefix: number;
}

/** A guest interface with its addresses, as DOMAIN_INTERFACE_ADDRESSES returns it (remote_domain_interface). */
export interface DomainInterfaceAddresses {
  /** The host-side device for lease and ARP sources, for example "vnet3"; the guest's name for the agent source. */
  name: string;
  /** MAC address, for example "52:54:00:12:34:56", when libvirt knows it. */
  hwaddr: string | undefined;
  addresses: DomainIpAddress[];
}

export function readDomainInterfaceAddresses(reader: XdrReader): DomainInterfaceAddresses {
  const name = reader.readString();
  const hwaddr = reader.readOptional((r) => r.readString());
  const addresses = reader.readArray(ListLimit.DOMAIN_IP_ADDRESSES, (r) => {
    const type = r.readInt();
    const address = r.readString();
    const prefix = r.readUint();
    return { type, address, prefix };
  });
  return { name, hwaddr, addresses };
}

/** Reads a remote_error, the payload of every REPLY with status ERROR. */
export function readRemoteError(reader: XdrReader): RemoteErrorFields {
  const code = reader.readInt();
  const domain = reader.readInt();
  const message = reader.readOptional((r) => r.readString());
  const level = reader.readInt();
  const dom = reader.readOptional(readDomainRef);
  const str1 = reader.readOptional((r) => r.readString());
  const str2 = reader.readOptional((r) => r.readString());
  const str3 = reader.readOptional((r) => r.readString());
  const int1 = reader.readInt();
  const int2 = reader.readInt();
  const net = reader.readOptional(readNetworkRef);
  return { code, domain, message, level, dom, str1, str2, str3, int1, int2, net };
}

/** Writes a remote_error. The agent only needs this to build replies of test daemons. */
export function writeRemoteError(writer: XdrWriter, error: RemoteErrorFields): void {
  const writeString = (w: XdrWriter, value: string) => w.writeString(value);
  writer.writeInt(error.code);
  writer.writeInt(error.domain);
  writer.writeOptional(error.message, writeString);
  writer.writeInt(error.level);
  writer.writeOptional(error.dom, writeDomainRef);
  writer.writeOptional(error.str1, writeString);
  writer.writeOptional(error.str2, writeString);
  writer.writeOptional(error.str3, writeString);
  writer.writeInt(error.int1);
  writer.writeInt(error.int2);
  writer.writeOptional(error.net, writeNetworkRef);
}

/** Formats 16 raw UUID bytes as lowercase "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
export function formatUuid(uuid: Uint8Array): string {
  if (uuid.length !== UUID_LENGTH) {
    throw new TypeError(`invalid UUID: expected ${UUID_LENGTH} bytes, got ${uuid.length}`);
  }
  const hex = Buffer.from(uuid).toString("hex");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
}

/** Parses a UUID in the form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case) into 16 raw bytes. */
export function parseUuid(text: string): Buffer {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)) {
    throw new TypeError(`invalid UUID '${text}': expected 32 hex digits as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`);
  }
  return Buffer.from(text.replace(/-/g, ""), "hex");
}
