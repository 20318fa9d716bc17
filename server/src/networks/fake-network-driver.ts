// A scripted stand-in for libvirt's network driver on the fake libvirtd, for
// tests only: it keeps networks in memory, answers the network procedures
// the agent calls and sends lifecycle events as libvirtd does.

import { randomBytes } from "node:crypto";

import { FakeCall, FakeLibvirtd } from "../libvirt/fake-libvirtd";
import {
  ErrorCode,
  ErrorDomain,
  ListLimit,
  ListNetworksFlag,
  NetworkEventId,
  NetworkLifecycleEvent,
  RemoteProcedure,
} from "../libvirt/protocol";
import { formatUuid, NetworkRef, readNetworkRef, writeNetworkRef } from "../libvirt/structs";
import { XdrReader, XdrWriter } from "../libvirt/xdr";

/** One network of the fake driver. */
export interface FakeNetwork {
  name: string;
  uuid: Buffer;
  /** The network's XML without its <uuid>, which the driver adds when asked for the XML. */
  xml: string;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
}

export class FakeNetworkDriver {
  readonly networks = new Map<string, FakeNetwork>();
  /** Names whose NETWORK_CREATE (start) the driver leaves unanswered, as a libvirtd busy starting them. */
  readonly heldStarts = new Set<string>();
  /** Names whose NETWORK_CREATE fails as libvirt's does when the subnet is in use. */
  readonly failedStarts = new Set<string>();

  constructor(private readonly daemon: FakeLibvirtd) {
    daemon.handler = (call) => this.handle(call);
  }

  /** Adds a network behind the agent's back, as virsh would, and sends its events. */
  define(name: string, xml: string, options: { active?: boolean } = {}): FakeNetwork {
    const network: FakeNetwork = { name, uuid: randomBytes(16), xml, active: false, persistent: true, autostart: false };
    this.networks.set(name, network);
    this.emit(network, NetworkLifecycleEvent.DEFINED);
    if (options.active) {
      network.active = true;
      this.emit(network, NetworkLifecycleEvent.STARTED);
    }
    return network;
  }

  private handle(call: FakeCall): boolean {
    const args = new XdrReader(call.args);
    switch (call.procedure) {
      case RemoteProcedure.CONNECT_LIST_ALL_NETWORKS: {
        args.readInt();
        const flags = args.readUint();
        const listed = [...this.networks.values()].filter((n) => matchesFlags(n, flags));
        const writer = new XdrWriter().writeArray(listed, ListLimit.NETWORKS, (w, n) => writeNetworkRef(w, ref(n)));
        call.reply(writer.writeUint(listed.length).finish());
        return true;
      }

      case RemoteProcedure.NETWORK_LOOKUP_BY_NAME: {
        const network = this.networks.get(args.readString());
        return network ? this.replyRef(call, network) : this.noNetwork(call);
      }

      case RemoteProcedure.NETWORK_DEFINE_XML: {
        const xml = args.readString();
        const name = /<name>([^<]+)<\/name>/.exec(xml)?.[1] ?? "";
        const existing = this.networks.get(name);
        const network = existing ?? { name, uuid: randomBytes(16), xml, active: false, persistent: true, autostart: false };
        network.xml = xml;
        network.persistent = true;
        this.networks.set(name, network);
        this.emit(network, NetworkLifecycleEvent.DEFINED);
        return this.replyRef(call, network);
      }

      case RemoteProcedure.NETWORK_CREATE:
      case RemoteProcedure.NETWORK_DESTROY:
      case RemoteProcedure.NETWORK_UNDEFINE:
      case RemoteProcedure.NETWORK_GET_XML_DESC:
      case RemoteProcedure.NETWORK_GET_AUTOSTART:
      case RemoteProcedure.NETWORK_SET_AUTOSTART:
      case RemoteProcedure.NETWORK_IS_ACTIVE:
      case RemoteProcedure.NETWORK_IS_PERSISTENT: {
        // libvirtd finds the network by UUID.
        const uuid = readNetworkRef(args).uuid;
        const network = [...this.networks.values()].find((n) => n.uuid.equals(uuid));
        return network ? this.handleNetworkCall(call, network, args) : this.noNetwork(call);
      }

      default:
        return false;
    }
  }

  private handleNetworkCall(call: FakeCall, network: FakeNetwork, args: XdrReader): boolean {
    const int = (value: boolean) => new XdrWriter().writeInt(value ? 1 : 0).finish();
    switch (call.procedure) {
      case RemoteProcedure.NETWORK_CREATE:
        if (this.heldStarts.has(network.name)) {
          return true;
        }
        if (this.failedStarts.has(network.name)) {
          call.replyError({ code: ErrorCode.INTERNAL_ERROR, domain: ErrorDomain.NETWORK, message: "internal error: Network is already in use by interface na-x" });
          return true;
        }
        network.active = true;
        this.emit(network, NetworkLifecycleEvent.STARTED);
        call.reply();
        return true;
      case RemoteProcedure.NETWORK_DESTROY:
        network.active = false;
        if (!network.persistent) {
          this.networks.delete(network.name);
        }
        this.emit(network, NetworkLifecycleEvent.STOPPED);
        call.reply();
        return true;
      case RemoteProcedure.NETWORK_UNDEFINE:
        network.persistent = false;
        if (!network.active) {
          this.networks.delete(network.name);
        }
        this.emit(network, NetworkLifecycleEvent.UNDEFINED);
        call.reply();
        return true;
      case RemoteProcedure.NETWORK_GET_XML_DESC: {
        const xml = network.xml.replace("</name>", `</name><uuid>${formatUuid(network.uuid)}</uuid>`);
        call.reply(new XdrWriter().writeString(xml).finish());
        return true;
      }
      case RemoteProcedure.NETWORK_GET_AUTOSTART:
        call.reply(int(network.autostart));
        return true;
      case RemoteProcedure.NETWORK_SET_AUTOSTART:
        network.autostart = args.readInt() !== 0;
        call.reply();
        return true;
      case RemoteProcedure.NETWORK_IS_ACTIVE:
        call.reply(int(network.active));
        return true;
      default:
        call.reply(int(network.persistent));
        return true;
    }
  }

  private replyRef(call: FakeCall, network: FakeNetwork): boolean {
    const writer = new XdrWriter();
    writeNetworkRef(writer, ref(network));
    call.reply(writer.finish());
    return true;
  }

  private noNetwork(call: FakeCall): boolean {
    call.replyError({ code: ErrorCode.NO_NETWORK, domain: ErrorDomain.NETWORK, message: "Network not found: no network with matching uuid" });
    return true;
  }

  /** Sends a lifecycle event to every connected client that registered for network events. */
  private emit(network: FakeNetwork, event: number): void {
    for (const client of this.daemon.clients) {
      const callbackId = client.callbackIdFor(RemoteProcedure.CONNECT_NETWORK_EVENT_REGISTER_ANY, NetworkEventId.LIFECYCLE);
      if (callbackId !== undefined && !client.socket.destroyed) {
        client.sendNetworkLifecycle(callbackId, ref(network), event);
      }
    }
  }
}

function ref(network: FakeNetwork): NetworkRef {
  return { name: network.name, uuid: network.uuid };
}

function matchesFlags(network: FakeNetwork, flags: number): boolean {
  const pairs: Array<[number, number, boolean]> = [
    [ListNetworksFlag.ACTIVE, ListNetworksFlag.INACTIVE, network.active],
    [ListNetworksFlag.PERSISTENT, ListNetworksFlag.TRANSIENT, network.persistent],
    [ListNetworksFlag.AUTOSTART, ListNetworksFlag.NO_AUTOSTART, network.autostart],
  ];
  return pairs.every(([yes, no, value]) => ((flags & yes) === 0 || value) && ((flags & no) === 0 || !value));
}
