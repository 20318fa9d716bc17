import { EventEmitter } from "node:events";

import { CallOptions, LibvirtConnection } from "./connection";
import { LibvirtConnectionError } from "./errors";
import { LibvirtLogger, silentLogger } from "./logger";
import { AuthType, DriverFeature, ListLimit, RemoteProcedure, UUID_LENGTH } from "./protocol";
import {
  DhcpLease,
  DomainInterfaceAddresses,
  DomainRef,
  NetworkRef,
  readDhcpLease,
  readDomainInterfaceAddresses,
  readDomainRef,
  readNetworkRef,
  writeDomainRef,
  writeNetworkRef,
} from "./structs";
import type { MessageListener, MessageSubscription, SubscribeOptions } from "./subscriptions";
import { XdrReader, XdrWriter } from "./xdr";

export const DEFAULT_SOCKET_PATH = "/run/libvirt/libvirt-sock";
export const DEFAULT_URI = "qemu:///system";

export interface LibvirtClientOptions {
  /** Path of libvirtd's read-write UNIX socket. Default /run/libvirt/libvirt-sock. */
  socketPath?: string;
  /** libvirt URI that CONNECT_OPEN selects the driver with. Default "qemu:///system". */
  uri?: string;
  /** Time in ms without traffic after which a keepalive PING is sent. 0 turns our PINGs off. Default 5000. */
  keepaliveIntervalMs?: number;
  /** Number of intervals with an unanswered PING after which the connection counts as dead. Default 5. */
  keepaliveCount?: number;
  /** Time in ms each call waits for its reply before it fails with LibvirtTimeoutError. Default 0: no limit. */
  callTimeoutMs?: number;
  /** Time in ms each handshake call waits for its reply, so that a hung libvirtd cannot block connect(). Default 30000. */
  connectTimeoutMs?: number;
  logger?: LibvirtLogger;
}

export interface LibvirtClient {
  /** Emitted exactly once when the connection closes. `cause` is undefined after close(). */
  on(event: "close", listener: (cause?: Error) => void): this;
  once(event: "close", listener: (cause?: Error) => void): this;
  off(event: "close", listener: (cause?: Error) => void): this;
}

/**
 * Typed calls to libvirtd's remote protocol over one LibvirtConnection.
 * Methods reject with LibvirtError for errors that libvirt reports, with
 * LibvirtConnectionError when the connection is closed or lost, and with
 * LibvirtTimeoutError when callTimeoutMs passes. The client does not reconnect.
 */
export class LibvirtClient extends EventEmitter {
  private closing: Promise<void> | undefined;
  private updateOrder: Promise<boolean> | undefined;

  /**
   * Connects to libvirtd and runs the handshake that libvirt's own remote
   * driver runs: AUTH_LIST, AUTH_POLKIT when the socket requires polkit, the
   * keepalive feature check, then CONNECT_OPEN with the URI.
   */
  static async connect(options: LibvirtClientOptions = {}): Promise<LibvirtClient> {
    const socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH;
    const connection = await LibvirtConnection.connect(socketPath, {
      keepaliveIntervalMs: options.keepaliveIntervalMs,
      keepaliveCount: options.keepaliveCount,
      callTimeoutMs: options.callTimeoutMs,
      logger: options.logger,
    });

    const client = new LibvirtClient(connection, options.logger ?? silentLogger);
    try {
      await client.handshake(options.uri ?? DEFAULT_URI, socketPath, { timeoutMs: options.connectTimeoutMs ?? 30_000 });
    } catch (error) {
      connection.destroy();
      throw error;
    }
    return client;
  }

  private constructor(
    readonly connection: LibvirtConnection,
    private readonly logger: LibvirtLogger,
  ) {
    super();
    connection.once("close", (cause) => this.emit("close", cause));
  }

  /** False once close() was called or the connection was lost. */
  get connected(): boolean {
    return this.connection.connected;
  }

  /**
   * Calls any remote procedure with XDR-encoded args and returns the
   * XDR-encoded ret struct, for procedures that have no typed method yet.
   */
  call(procedure: number, args?: Buffer, options?: CallOptions): Promise<Buffer> {
    return this.connection.call(procedure, args, options);
  }

  /** Registers a listener for events (MESSAGE packets) with this remote procedure number. */
  subscribe(procedure: number, listener: MessageListener, options?: SubscribeOptions): MessageSubscription {
    return this.connection.subscribe(procedure, listener, options);
  }

  /**
   * Sends CONNECT_CLOSE so libvirtd releases the driver connection, then
   * closes the socket. The socket is closed even when CONNECT_CLOSE fails.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    if (this.connection.connected) {
      try {
        await this.connection.call(RemoteProcedure.CONNECT_CLOSE);
      } catch (error) {
        if (!(error instanceof LibvirtConnectionError)) {
          this.logger.warn({ err: error }, "libvirt CONNECT_CLOSE failed, closing the socket anyway");
        }
      }
    }
    await this.connection.close();
  }

  async getHostname(): Promise<string> {
    const reply = await this.call(RemoteProcedure.CONNECT_GET_HOSTNAME);
    return decode(reply, (reader) => reader.readString());
  }

  /** Returns libvirt's version as major * 1,000,000 + minor * 1,000 + micro, for example 9000000n for 9.0.0. */
  async getLibVersion(): Promise<bigint> {
    const reply = await this.call(RemoteProcedure.CONNECT_GET_LIB_VERSION);
    return decode(reply, (reader) => reader.readUhyper());
  }

  /** Asks whether the driver supports a DriverFeature. Features other than keepalive need an open connection. */
  async supportsFeature(feature: number): Promise<boolean> {
    const args = new XdrWriter().writeInt(feature).finish();
    const reply = await this.call(RemoteProcedure.CONNECT_SUPPORTS_FEATURE, args);
    return decode(reply, (reader) => reader.readInt() !== 0);
  }

  /** Lists networks. `flags` combines ListNetworksFlag values, and 0 lists all networks. */
  async listAllNetworks(flags = 0): Promise<NetworkRef[]> {
    // need_results 1 asks for the list itself, not only its length.
    const args = new XdrWriter().writeInt(1).writeUint(flags).finish();
    const reply = await this.call(RemoteProcedure.CONNECT_LIST_ALL_NETWORKS, args);
    return decode(reply, (reader) => {
      const networks = reader.readArray(ListLimit.NETWORKS, readNetworkRef);
      reader.readUint(); // The count of networks, which the array already contains.
      return networks;
    });
  }

  async networkLookupByName(name: string): Promise<NetworkRef> {
    const args = new XdrWriter().writeString(name).finish();
    const reply = await this.call(RemoteProcedure.NETWORK_LOOKUP_BY_NAME, args);
    return decode(reply, readNetworkRef);
  }

  /** Looks a network up by its 16 raw UUID bytes. parseUuid converts the text form to them. */
  async networkLookupByUuid(uuid: Buffer): Promise<NetworkRef> {
    const args = new XdrWriter().writeFixedOpaque(uuid, UUID_LENGTH).finish();
    const reply = await this.call(RemoteProcedure.NETWORK_LOOKUP_BY_UUID, args);
    return decode(reply, readNetworkRef);
  }

  /** Defines a persistent network from its XML, without starting it. */
  async networkDefineXml(xml: string): Promise<NetworkRef> {
    const args = new XdrWriter().writeString(xml).finish();
    const reply = await this.call(RemoteProcedure.NETWORK_DEFINE_XML, args);
    return decode(reply, readNetworkRef);
  }

  /** Creates and starts a transient network, which disappears when it stops. */
  async networkCreateXml(xml: string): Promise<NetworkRef> {
    const args = new XdrWriter().writeString(xml).finish();
    const reply = await this.call(RemoteProcedure.NETWORK_CREATE_XML, args);
    return decode(reply, readNetworkRef);
  }

  /** Starts a defined network. */
  async networkCreate(network: NetworkRef): Promise<void> {
    await this.callWithNetwork(RemoteProcedure.NETWORK_CREATE, network);
  }

  /** Stops a network. A transient network is removed as well. */
  async networkDestroy(network: NetworkRef): Promise<void> {
    await this.callWithNetwork(RemoteProcedure.NETWORK_DESTROY, network);
  }

  /** Removes a network's persistent definition. An active network keeps running until destroyed. */
  async networkUndefine(network: NetworkRef): Promise<void> {
    await this.callWithNetwork(RemoteProcedure.NETWORK_UNDEFINE, network);
  }

  /** Returns the network's XML. NetworkXmlFlag.INACTIVE selects the persistent definition. */
  async networkGetXmlDesc(network: NetworkRef, flags = 0): Promise<string> {
    const writer = new XdrWriter();
    writeNetworkRef(writer, network);
    writer.writeUint(flags);
    const reply = await this.call(RemoteProcedure.NETWORK_GET_XML_DESC, writer.finish());
    return decode(reply, (reader) => reader.readString());
  }

  async networkGetAutostart(network: NetworkRef): Promise<boolean> {
    const reply = await this.callWithNetwork(RemoteProcedure.NETWORK_GET_AUTOSTART, network);
    return decode(reply, (reader) => reader.readInt() !== 0);
  }

  async networkSetAutostart(network: NetworkRef, autostart: boolean): Promise<void> {
    const writer = new XdrWriter();
    writeNetworkRef(writer, network);
    writer.writeInt(autostart ? 1 : 0);
    await this.call(RemoteProcedure.NETWORK_SET_AUTOSTART, writer.finish());
  }

  async networkIsActive(network: NetworkRef): Promise<boolean> {
    const reply = await this.callWithNetwork(RemoteProcedure.NETWORK_IS_ACTIVE, network);
    return decode(reply, (reader) => reader.readInt() !== 0);
  }

  async networkIsPersistent(network: NetworkRef): Promise<boolean> {
    const reply = await this.callWithNetwork(RemoteProcedure.NETWORK_IS_PERSISTENT, network);
    return decode(reply, (reader) => reader.readInt() !== 0);
  }

  /**
   * Changes one section of a network's XML (NETWORK_UPDATE): `command` is a
   * NetworkUpdateCommand, `section` a NetworkUpdateSection, `parentIndex` the
   * index of the <ip> element for DHCP sections (-1 lets libvirt choose),
   * `xml` the element to add, modify or delete and `flags` NetworkUpdateFlag
   * values. Daemons that lack DriverFeature.NETWORK_UPDATE_HAS_CORRECT_ORDER
   * read command and section swapped, so the client asks once per connection
   * and sends them in the order the daemon expects.
   */
  async networkUpdate(
    network: NetworkRef,
    update: { command: number; section: number; parentIndex: number; xml: string; flags: number },
  ): Promise<void> {
    this.updateOrder ??= this.supportsFeature(DriverFeature.NETWORK_UPDATE_HAS_CORRECT_ORDER).catch((error: unknown) => {
      this.updateOrder = undefined;
      throw error;
    });
    const correctOrder = await this.updateOrder;

    const writer = new XdrWriter();
    writeNetworkRef(writer, network);
    if (correctOrder) {
      writer.writeUint(update.command).writeUint(update.section);
    } else {
      writer.writeUint(update.section).writeUint(update.command);
    }
    writer.writeInt(update.parentIndex).writeString(update.xml).writeUint(update.flags);
    await this.call(RemoteProcedure.NETWORK_UPDATE, writer.finish());
  }

  /** Returns the DHCP leases of a network's dnsmasq, all of them or those of one MAC address. */
  async networkGetDhcpLeases(network: NetworkRef, mac?: string): Promise<DhcpLease[]> {
    const writer = new XdrWriter();
    writeNetworkRef(writer, network);
    writer.writeOptional(mac, (w, value) => w.writeString(value));
    // need_results 1 asks for the leases themselves, not only their count.
    writer.writeInt(1).writeUint(0);
    const reply = await this.call(RemoteProcedure.NETWORK_GET_DHCP_LEASES, writer.finish());
    return decode(reply, (reader) => {
      const leases = reader.readArray(ListLimit.NETWORK_DHCP_LEASES, readDhcpLease);
      reader.readUint(); // The count of leases, which the array already contains.
      return leases;
    });
  }

  /** Lists domains. `flags` combines virConnectListAllDomainsFlags, and 0 lists all domains. */
  async listAllDomains(flags = 0): Promise<DomainRef[]> {
    // need_results 1 asks for the list itself, not only its length.
    const args = new XdrWriter().writeInt(1).writeUint(flags).finish();
    const reply = await this.call(RemoteProcedure.CONNECT_LIST_ALL_DOMAINS, args);
    return decode(reply, (reader) => {
      const domains = reader.readArray(ListLimit.DOMAINS, readDomainRef);
      reader.readUint(); // The count of domains, which the array already contains.
      return domains;
    });
  }

  async domainLookupByName(name: string): Promise<DomainRef> {
    const args = new XdrWriter().writeString(name).finish();
    const reply = await this.call(RemoteProcedure.DOMAIN_LOOKUP_BY_NAME, args);
    return decode(reply, readDomainRef);
  }

  /** Returns the domain's XML. DomainXmlFlag.INACTIVE selects the persistent definition. */
  async domainGetXmlDesc(domain: DomainRef, flags = 0): Promise<string> {
    const writer = new XdrWriter();
    writeDomainRef(writer, domain);
    writer.writeUint(flags);
    const reply = await this.call(RemoteProcedure.DOMAIN_GET_XML_DESC, writer.finish());
    return decode(reply, (reader) => reader.readString());
  }

  async domainIsActive(domain: DomainRef): Promise<boolean> {
    const reply = await this.callWithDomain(RemoteProcedure.DOMAIN_IS_ACTIVE, domain);
    return decode(reply, (reader) => reader.readInt() !== 0);
  }

  async domainIsPersistent(domain: DomainRef): Promise<boolean> {
    const reply = await this.callWithDomain(RemoteProcedure.DOMAIN_IS_PERSISTENT, domain);
    return decode(reply, (reader) => reader.readInt() !== 0);
  }

  /** Adds a device to the running domain (DomainDeviceModifyFlag.LIVE), its persistent definition (CONFIG) or both. */
  async domainAttachDeviceFlags(domain: DomainRef, xml: string, flags: number): Promise<void> {
    await this.callWithDomainXml(RemoteProcedure.DOMAIN_ATTACH_DEVICE_FLAGS, domain, xml, flags);
  }

  /**
   * Removes a device that `xml` describes. With LIVE, QEMU asks the guest to
   * release the device; libvirt 9.0 waits up to 5 s for that and returns
   * without an error even when the guest has not released it yet.
   */
  async domainDetachDeviceFlags(domain: DomainRef, xml: string, flags: number): Promise<void> {
    await this.callWithDomainXml(RemoteProcedure.DOMAIN_DETACH_DEVICE_FLAGS, domain, xml, flags);
  }

  /**
   * Asks for the removal of the device with this alias and returns at once.
   * For a running domain the removal completes when libvirt emits the
   * DEVICE_REMOVED event.
   */
  async domainDetachDeviceAlias(domain: DomainRef, alias: string, flags: number): Promise<void> {
    const writer = new XdrWriter();
    writeDomainRef(writer, domain);
    writer.writeString(alias);
    writer.writeUint(flags);
    await this.call(RemoteProcedure.DOMAIN_DETACH_DEVICE_ALIAS, writer.finish());
  }

  /** Changes a device in place, for example an interface's link state. */
  async domainUpdateDeviceFlags(domain: DomainRef, xml: string, flags: number): Promise<void> {
    await this.callWithDomainXml(RemoteProcedure.DOMAIN_UPDATE_DEVICE_FLAGS, domain, xml, flags);
  }

  /**
   * Returns the addresses of a running domain's interfaces. `source` is an
   * InterfaceAddressesSource: LEASE reads the DHCP leases of libvirt's own
   * networks, AGENT asks the guest agent, ARP reads the host's ARP table.
   */
  async domainInterfaceAddresses(domain: DomainRef, source: number, flags = 0): Promise<DomainInterfaceAddresses[]> {
    const writer = new XdrWriter();
    writeDomainRef(writer, domain);
    writer.writeUint(source);
    writer.writeUint(flags);
    const reply = await this.call(RemoteProcedure.DOMAIN_INTERFACE_ADDRESSES, writer.finish());
    return decode(reply, (reader) => reader.readArray(ListLimit.DOMAIN_INTERFACES, readDomainInterfaceAddresses));
  }

  private callWithDomain(procedure: number, domain: DomainRef): Promise<Buffer> {
    const writer = new XdrWriter();
    writeDomainRef(writer, domain);
    return this.call(procedure, writer.finish());
  }

  private callWithDomainXml(procedure: number, domain: DomainRef, xml: string, flags: number): Promise<Buffer> {
    const writer = new XdrWriter();
    writeDomainRef(writer, domain);
    writer.writeString(xml);
    writer.writeUint(flags);
    return this.call(procedure, writer.finish());
  }

  private callWithNetwork(procedure: number, network: NetworkRef): Promise<Buffer> {
    const writer = new XdrWriter();
    writeNetworkRef(writer, network);
    return this.call(procedure, writer.finish());
  }

  private async handshake(uri: string, socketPath: string, callOptions: CallOptions): Promise<void> {
    await this.authenticate(socketPath, callOptions);

    // Asking for the keepalive feature before CONNECT_OPEN makes libvirtd
    // start its own PINGs to this client, and a 1 shows that it replies to ours.
    const featureArgs = new XdrWriter().writeInt(DriverFeature.PROGRAM_KEEPALIVE).finish();
    const featureReply = await this.call(RemoteProcedure.CONNECT_SUPPORTS_FEATURE, featureArgs, callOptions);
    if (decode(featureReply, (reader) => reader.readInt() !== 0)) {
      this.connection.startKeepalive();
    }

    const args = new XdrWriter()
      .writeOptional(uri, (writer, name) => writer.writeString(name))
      .writeUint(0)
      .finish();
    await this.call(RemoteProcedure.CONNECT_OPEN, args, callOptions);
  }

  private async authenticate(socketPath: string, callOptions: CallOptions): Promise<void> {
    const reply = await this.call(RemoteProcedure.AUTH_LIST, undefined, callOptions);
    const types = decode(reply, (reader) => reader.readArray(ListLimit.AUTH_TYPES, (r) => r.readInt()));

    if (types.length === 0 || types.includes(AuthType.NONE)) {
      return;
    }
    if (types.includes(AuthType.POLKIT)) {
      // The reply's "complete" flag carries no information: libvirtd returns an error when polkit denies access.
      await this.call(RemoteProcedure.AUTH_POLKIT, undefined, callOptions);
      return;
    }
    const names = types.map((type) => (type === AuthType.SASL ? "sasl" : `unknown type ${type}`)).join(", ");
    throw new LibvirtConnectionError(
      `libvirtd at ${socketPath} requires authentication by ${names}, which this client does not support; ` +
        'set auth_unix_rw to "none" or "polkit" in libvirtd.conf, or use a socket that does',
      { reason: "unsupported-auth" },
    );
  }
}

/** Decodes a ret struct and checks that nothing is left over. */
function decode<T>(reply: Buffer, read: (reader: XdrReader) => T): T {
  const reader = new XdrReader(reply);
  const value = read(reader);
  reader.expectEnd();
  return value;
}
