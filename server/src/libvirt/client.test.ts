import assert from "node:assert/strict";
import { once } from "node:events";

import { LibvirtClient, LibvirtClientOptions } from "./client";
import { LibvirtConnectionError, LibvirtError } from "./errors";
import { FAKE_DEFAULT_NETWORK, FakeCall, FakeCallHandler, FakeLibvirtd } from "./fake-libvirtd";
import {
  AuthType,
  DriverFeature,
  KeepaliveProcedure,
  ListNetworksFlag,
  NetworkUpdateCommand,
  NetworkUpdateFlag,
  NetworkUpdateSection,
  NetworkXmlFlag,
  RemoteProcedure,
} from "./protocol";
import { DhcpLease, formatUuid, NetworkRef, parseUuid, readNetworkRef, writeDhcpLease, writeNetworkRef } from "./structs";
import { XdrReader, XdrWriter } from "./xdr";

const OTHER_NETWORK: NetworkRef = {
  name: "lab",
  uuid: Buffer.from("ffeeddccbbaa99887766554433221100", "hex"),
};

function networkPayload(network: NetworkRef): Buffer {
  const writer = new XdrWriter();
  writeNetworkRef(writer, network);
  return writer.finish();
}

/** Reads a network ref from the start of call args and returns it with a reader positioned after it. */
function readNetworkArgs(call: FakeCall): [NetworkRef, XdrReader] {
  const reader = new XdrReader(call.args);
  return [readNetworkRef(reader), reader];
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected the promise to reject");
}

describe("LibvirtClient", () => {
  let daemon: FakeLibvirtd;
  let client: LibvirtClient | undefined;

  async function connect(options: LibvirtClientOptions = {}, handler?: FakeCallHandler): Promise<LibvirtClient> {
    daemon = await FakeLibvirtd.start(handler);
    client = await LibvirtClient.connect({ socketPath: daemon.socketPath, uri: "test:///default", ...options });
    return client;
  }

  afterEach(async () => {
    client?.connection.destroy();
    client = undefined;
    await daemon?.stop();
  });

  describe("handshake", () => {
    it("sends libvirt's handshake calls in order", async () => {
      await connect();

      assert.deepEqual(
        daemon.calls.map((call) => call.procedure),
        [RemoteProcedure.AUTH_LIST, RemoteProcedure.CONNECT_SUPPORTS_FEATURE, RemoteProcedure.CONNECT_OPEN],
      );
      const [authList, feature, open] = daemon.calls;
      assert.equal(authList.args.length, 0);
      assert.equal(feature.args.toString("hex"), "0000000a", "feature 10, PROGRAM_KEEPALIVE");
      assert.equal(
        open.args.toString("hex"),
        "00000001" + "0000000f" + Buffer.from("test:///default").toString("hex") + "00" + "00000000",
        "name: present, length 15, the URI and 1 byte of padding; flags 0",
      );
      assert.equal(client?.connected, true);
    });

    it("uses qemu:///system when no URI is given", async () => {
      daemon = await FakeLibvirtd.start();
      client = await LibvirtClient.connect({ socketPath: daemon.socketPath });

      const open = daemon.callsOf(RemoteProcedure.CONNECT_OPEN)[0];
      assert.equal(new XdrReader(open.args).readOptional((r) => r.readString()), "qemu:///system");
    });

    it("calls AUTH_POLKIT when the socket requires polkit", async () => {
      daemon = await FakeLibvirtd.start();
      daemon.authTypes = [AuthType.POLKIT];

      client = await LibvirtClient.connect({ socketPath: daemon.socketPath });

      assert.deepEqual(
        daemon.calls.map((call) => call.procedure),
        [
          RemoteProcedure.AUTH_LIST,
          RemoteProcedure.AUTH_POLKIT,
          RemoteProcedure.CONNECT_SUPPORTS_FEATURE,
          RemoteProcedure.CONNECT_OPEN,
        ],
      );
    });

    it("rejects SASL-only authentication and closes the socket", async () => {
      daemon = await FakeLibvirtd.start();
      daemon.authTypes = [AuthType.SASL];

      const error = await rejectionOf(LibvirtClient.connect({ socketPath: daemon.socketPath }));

      assert.ok(error instanceof LibvirtConnectionError);
      assert.equal(error.reason, "unsupported-auth");
      assert.match(error.message, /requires authentication by sasl, which this client does not support/);
      assert.deepEqual(
        daemon.calls.map((call) => call.procedure),
        [RemoteProcedure.AUTH_LIST],
      );
      await daemon.waitFor(() => daemon.clients[0].socket.destroyed, undefined, "the client to close the socket");
    });

    it("passes on a CONNECT_OPEN error as LibvirtError", async () => {
      daemon = await FakeLibvirtd.start((call) => {
        if (call.procedure !== RemoteProcedure.CONNECT_OPEN) {
          return false;
        }
        call.replyError({ code: 38, domain: 7, message: "Failed to connect socket to '/run/libvirt/virtqemud-sock'" });
        return true;
      });

      const error = await rejectionOf(LibvirtClient.connect({ socketPath: daemon.socketPath }));

      assert.ok(error instanceof LibvirtError);
      assert.equal(error.code, 38);
      assert.match(error.message, /virtqemud-sock/);
    });

    it("times out an unanswered handshake", async () => {
      daemon = await FakeLibvirtd.start((call) => call.procedure === RemoteProcedure.AUTH_LIST);

      const error = await rejectionOf(LibvirtClient.connect({ socketPath: daemon.socketPath, connectTimeoutMs: 50 }));

      assert.ok(error instanceof Error);
      assert.equal(error.name, "LibvirtTimeoutError");
      assert.match(error.message, /remote procedure 66 got no reply within 50 ms/);
    });

    it("sends no PINGs without keepalive support", async () => {
      daemon = await FakeLibvirtd.start();
      daemon.featureSupported = 0;
      client = await LibvirtClient.connect({ socketPath: daemon.socketPath, keepaliveIntervalMs: 10 });

      await new Promise((resolve) => setTimeout(resolve, 100));

      assert.deepEqual(daemon.clients[0].keepalivePackets, []);
      assert.equal(client.connected, true);
    });

    it("sends PINGs with keepalive support", async () => {
      await connect({ keepaliveIntervalMs: 10 });

      await daemon.waitFor(() => daemon.clients[0].keepalivePackets.length > 0, undefined, "a PING");

      assert.equal(daemon.clients[0].keepalivePackets[0].procedure, KeepaliveProcedure.PING);
    });
  });

  describe("network procedures", () => {
    it("networkLookupByName returns the network", async () => {
      await connect();

      const network = await client!.networkLookupByName("default");

      assert.equal(network.name, "default");
      assert.deepEqual(network.uuid, FAKE_DEFAULT_NETWORK.uuid);
      const call = daemon.callsOf(RemoteProcedure.NETWORK_LOOKUP_BY_NAME)[0];
      assert.equal(call.args.toString("hex"), "00000007" + Buffer.from("default").toString("hex") + "00");
    });

    it("networkLookupByName rejects missing network", async () => {
      await connect();

      const error = await rejectionOf(client!.networkLookupByName("x"));

      assert.ok(error instanceof LibvirtError);
      assert.ok(error.isNoNetwork());
      assert.equal(error.domain, 19);
      assert.equal(error.message, "Network not found: no network with matching name 'x'");
      assert.equal(client!.connected, true);
    });

    it("networkLookupByUuid sends 16 raw bytes", async () => {
      await connect({}, (call) => {
        if (call.procedure !== RemoteProcedure.NETWORK_LOOKUP_BY_UUID) {
          return false;
        }
        call.reply(networkPayload(OTHER_NETWORK));
        return true;
      });

      const network = await client!.networkLookupByUuid(OTHER_NETWORK.uuid);

      assert.deepEqual(network, OTHER_NETWORK);
      const call = daemon.callsOf(RemoteProcedure.NETWORK_LOOKUP_BY_UUID)[0];
      assert.equal(call.args.toString("hex"), OTHER_NETWORK.uuid.toString("hex"));
    });

    it("networkLookupByUuid rejects a UUID of the wrong length", async () => {
      await connect();

      await assert.rejects(client!.networkLookupByUuid(Buffer.alloc(15)), /must be 16 bytes, got 15/);
    });

    it("listAllNetworks sends flags, returns list", async () => {
      await connect({}, (call) => {
        if (call.procedure !== RemoteProcedure.CONNECT_LIST_ALL_NETWORKS) {
          return false;
        }
        const writer = new XdrWriter();
        writer.writeArray([FAKE_DEFAULT_NETWORK, OTHER_NETWORK], 16384, writeNetworkRef);
        writer.writeUint(2);
        call.reply(writer.finish());
        return true;
      });

      const networks = await client!.listAllNetworks(ListNetworksFlag.ACTIVE | ListNetworksFlag.PERSISTENT);

      assert.deepEqual(
        networks.map((n) => n.name),
        ["default", "lab"],
      );
      assert.deepEqual(networks[1].uuid, OTHER_NETWORK.uuid);
      const call = daemon.callsOf(RemoteProcedure.CONNECT_LIST_ALL_NETWORKS)[0];
      assert.equal(call.args.toString("hex"), "00000001" + "00000006", "need_results 1, flags ACTIVE | PERSISTENT");
    });

    it("lifecycle calls send the network", async () => {
      const xml = "<network><name>lab</name></network>";
      await connect({}, (call) => {
        switch (call.procedure) {
          case RemoteProcedure.NETWORK_DEFINE_XML:
          case RemoteProcedure.NETWORK_CREATE_XML:
            call.reply(networkPayload(OTHER_NETWORK));
            return true;
          case RemoteProcedure.NETWORK_CREATE:
          case RemoteProcedure.NETWORK_DESTROY:
          case RemoteProcedure.NETWORK_UNDEFINE:
            call.reply();
            return true;
          default:
            return false;
        }
      });

      assert.deepEqual(await client!.networkDefineXml(xml), OTHER_NETWORK);
      assert.deepEqual(await client!.networkCreateXml(xml), OTHER_NETWORK);
      await client!.networkCreate(OTHER_NETWORK);
      await client!.networkDestroy(OTHER_NETWORK);
      await client!.networkUndefine(OTHER_NETWORK);

      for (const procedure of [RemoteProcedure.NETWORK_DEFINE_XML, RemoteProcedure.NETWORK_CREATE_XML]) {
        assert.equal(new XdrReader(daemon.callsOf(procedure)[0].args).readString(), xml);
      }
      for (const procedure of [
        RemoteProcedure.NETWORK_CREATE,
        RemoteProcedure.NETWORK_DESTROY,
        RemoteProcedure.NETWORK_UNDEFINE,
      ]) {
        const [network, reader] = readNetworkArgs(daemon.callsOf(procedure)[0]);
        assert.deepEqual(network, OTHER_NETWORK, `network of procedure ${procedure}`);
        reader.expectEnd();
      }
    });

    it("networkGetXmlDesc sends the flags and returns the XML", async () => {
      await connect({}, (call) => {
        if (call.procedure !== RemoteProcedure.NETWORK_GET_XML_DESC) {
          return false;
        }
        call.reply(new XdrWriter().writeString("<network/>").finish());
        return true;
      });

      const xml = await client!.networkGetXmlDesc(OTHER_NETWORK, NetworkXmlFlag.INACTIVE);

      assert.equal(xml, "<network/>");
      const [network, reader] = readNetworkArgs(daemon.callsOf(RemoteProcedure.NETWORK_GET_XML_DESC)[0]);
      assert.deepEqual(network, OTHER_NETWORK);
      assert.equal(reader.readUint(), 1);
      reader.expectEnd();
    });

    it("state getters decode booleans", async () => {
      const answers = new Map<number, number>([
        [RemoteProcedure.NETWORK_GET_AUTOSTART, 1],
        [RemoteProcedure.NETWORK_IS_ACTIVE, 0],
        [RemoteProcedure.NETWORK_IS_PERSISTENT, 1],
      ]);
      await connect({}, (call) => {
        if (call.procedure === RemoteProcedure.NETWORK_SET_AUTOSTART) {
          call.reply();
          return true;
        }
        const answer = answers.get(call.procedure);
        if (answer === undefined) {
          return false;
        }
        call.reply(new XdrWriter().writeInt(answer).finish());
        return true;
      });

      assert.equal(await client!.networkGetAutostart(OTHER_NETWORK), true);
      assert.equal(await client!.networkIsActive(OTHER_NETWORK), false);
      assert.equal(await client!.networkIsPersistent(OTHER_NETWORK), true);
      await client!.networkSetAutostart(OTHER_NETWORK, true);
      await client!.networkSetAutostart(OTHER_NETWORK, false);

      const setCalls = daemon.callsOf(RemoteProcedure.NETWORK_SET_AUTOSTART);
      const values = setCalls.map((call) => {
        const [network, reader] = readNetworkArgs(call);
        assert.deepEqual(network, OTHER_NETWORK);
        return reader.readInt();
      });
      assert.deepEqual(values, [1, 0]);
    });
  });

  describe("networkUpdate", () => {
    const update = {
      command: NetworkUpdateCommand.ADD_LAST,
      section: NetworkUpdateSection.IP_DHCP_HOST,
      parentIndex: 0,
      xml: "<host mac='52:54:00:00:00:01' ip='10.77.0.10'/>",
      flags: NetworkUpdateFlag.LIVE | NetworkUpdateFlag.CONFIG,
    };

    /** Decodes NETWORK_UPDATE args in wire order: the two words after the network, then the rest. */
    function readUpdateArgs(call: FakeCall) {
      const [network, reader] = readNetworkArgs(call);
      const first = reader.readUint();
      const second = reader.readUint();
      const parentIndex = reader.readInt();
      const xml = reader.readString();
      const flags = reader.readUint();
      reader.expectEnd();
      return { network, first, second, parentIndex, xml, flags };
    }

    function acceptUpdates(call: FakeCall): boolean {
      if (call.procedure !== RemoteProcedure.NETWORK_UPDATE) {
        return false;
      }
      call.reply();
      return true;
    }

    it("sends command before section when the daemon has the correct order", async () => {
      await connect({}, acceptUpdates);

      await client!.networkUpdate(FAKE_DEFAULT_NETWORK, update);

      const args = readUpdateArgs(daemon.callsOf(RemoteProcedure.NETWORK_UPDATE)[0]);
      assert.equal(args.first, NetworkUpdateCommand.ADD_LAST);
      assert.equal(args.second, NetworkUpdateSection.IP_DHCP_HOST);
      assert.equal(args.parentIndex, 0);
      assert.equal(args.xml, update.xml);
      assert.equal(args.flags, 3);
      assert.deepEqual(args.network, FAKE_DEFAULT_NETWORK);
    });

    it("swaps command and section for a daemon without feature 16", async () => {
      daemon = await FakeLibvirtd.start(acceptUpdates);
      daemon.featureOverrides.set(DriverFeature.NETWORK_UPDATE_HAS_CORRECT_ORDER, 0);
      client = await LibvirtClient.connect({ socketPath: daemon.socketPath });

      await client.networkUpdate(FAKE_DEFAULT_NETWORK, update);

      const args = readUpdateArgs(daemon.callsOf(RemoteProcedure.NETWORK_UPDATE)[0]);
      assert.equal(args.first, NetworkUpdateSection.IP_DHCP_HOST);
      assert.equal(args.second, NetworkUpdateCommand.ADD_LAST);
    });

    it("asks for the order once per connection", async () => {
      await connect({}, acceptUpdates);

      await client!.networkUpdate(FAKE_DEFAULT_NETWORK, update);
      await client!.networkUpdate(FAKE_DEFAULT_NETWORK, { ...update, command: NetworkUpdateCommand.DELETE });

      const orderQuestions = daemon
        .callsOf(RemoteProcedure.CONNECT_SUPPORTS_FEATURE)
        .filter((call) => new XdrReader(call.args).readInt() === DriverFeature.NETWORK_UPDATE_HAS_CORRECT_ORDER);
      assert.equal(orderQuestions.length, 1);
      assert.equal(daemon.callsOf(RemoteProcedure.NETWORK_UPDATE).length, 2);
    });

    it("passes on the daemon's error", async () => {
      await connect({}, (call) => {
        if (call.procedure !== RemoteProcedure.NETWORK_UPDATE) {
          return false;
        }
        call.replyError({ code: 55, domain: 19, message: "Requested operation is not valid: can't update 'ip' section of network 'default'" });
        return true;
      });

      const error = await rejectionOf(client!.networkUpdate(FAKE_DEFAULT_NETWORK, update));

      assert.ok(error instanceof LibvirtError);
      assert.equal(error.code, 55);
      assert.match(error.message, /can't update 'ip' section/);
    });
  });

  describe("networkGetDhcpLeases", () => {
    const lease: DhcpLease = {
      iface: "na-lab",
      expiryTime: 1_767_225_600n,
      type: 0,
      mac: "52:54:00:00:00:01",
      iaid: undefined,
      ipAddress: "10.77.0.10",
      prefix: 24,
      hostname: "guest1",
      clientId: "01:52:54:00:00:00:01",
    };

    function replyWithLeases(leases: DhcpLease[]): FakeCallHandler {
      return (call) => {
        if (call.procedure !== RemoteProcedure.NETWORK_GET_DHCP_LEASES) {
          return false;
        }
        const writer = new XdrWriter().writeArray(leases, 65536, writeDhcpLease).writeUint(leases.length);
        call.reply(writer.finish());
        return true;
      };
    }

    it("decodes every lease field", async () => {
      await connect({}, replyWithLeases([lease]));

      const leases = await client!.networkGetDhcpLeases(FAKE_DEFAULT_NETWORK);

      assert.deepEqual(leases, [lease]);
    });

    it("sends the MAC filter, need_results 1 and flags 0", async () => {
      await connect({}, replyWithLeases([]));

      await client!.networkGetDhcpLeases(FAKE_DEFAULT_NETWORK, "52:54:00:00:00:01");

      const [network, reader] = readNetworkArgs(daemon.callsOf(RemoteProcedure.NETWORK_GET_DHCP_LEASES)[0]);
      assert.deepEqual(network, FAKE_DEFAULT_NETWORK);
      assert.equal(reader.readOptional((r) => r.readString()), "52:54:00:00:00:01");
      assert.equal(reader.readInt(), 1);
      assert.equal(reader.readUint(), 0);
    });

    it("sends no MAC filter when none is given", async () => {
      await connect({}, replyWithLeases([]));

      await client!.networkGetDhcpLeases(FAKE_DEFAULT_NETWORK);

      const [, reader] = readNetworkArgs(daemon.callsOf(RemoteProcedure.NETWORK_GET_DHCP_LEASES)[0]);
      assert.equal(reader.readOptional((r) => r.readString()), undefined);
    });
  });

  describe("connection procedures", () => {
    it("connection getters decode results", async () => {
      await connect({}, (call) => {
        if (call.procedure === RemoteProcedure.CONNECT_GET_HOSTNAME) {
          call.reply(new XdrWriter().writeString("host.example.org").finish());
          return true;
        }
        if (call.procedure === RemoteProcedure.CONNECT_GET_LIB_VERSION) {
          call.reply(new XdrWriter().writeUhyper(9_000_000n).finish());
          return true;
        }
        return false;
      });

      assert.equal(await client!.getHostname(), "host.example.org");
      assert.equal(await client!.getLibVersion(), 9_000_000n);
      assert.equal(await client!.supportsFeature(16), true);
      const featureCalls = daemon.callsOf(RemoteProcedure.CONNECT_SUPPORTS_FEATURE);
      assert.equal(featureCalls[featureCalls.length - 1].args.toString("hex"), "00000010");
    });

    it("rejects a reply with left-over bytes", async () => {
      await connect({}, (call) => {
        if (call.procedure !== RemoteProcedure.CONNECT_GET_HOSTNAME) {
          return false;
        }
        call.reply(new XdrWriter().writeString("h").writeInt(1).finish());
        return true;
      });

      await assert.rejects(client!.getHostname(), /unexpected 4 bytes after the end of the XDR data/);
    });

    it("call passes raw payloads", async () => {
      await connect({}, (call) => {
        if (call.procedure !== 9999) {
          return false;
        }
        call.reply(call.args);
        return true;
      });

      const reply = await client!.call(9999, Buffer.from("0000002a", "hex"));

      assert.equal(reply.toString("hex"), "0000002a");
    });
  });

  describe("close", () => {
    it("close sends CONNECT_CLOSE first", async () => {
      await connect();
      const causes: Array<Error | undefined> = [];
      client!.on("close", (cause) => causes.push(cause));

      await client!.close();

      assert.equal(daemon.callsOf(RemoteProcedure.CONNECT_CLOSE).length, 1);
      assert.deepEqual(causes, [undefined]);
      assert.equal(client!.connected, false);
      const error = await rejectionOf(client!.getHostname());
      assert.ok(error instanceof LibvirtConnectionError);
      assert.equal(error.reason, "not-connected");
    });

    it("closes the socket even when CONNECT_CLOSE fails", async () => {
      await connect({}, (call) => {
        if (call.procedure !== RemoteProcedure.CONNECT_CLOSE) {
          return false;
        }
        call.replyError({ code: 1, domain: 13, message: "internal error" });
        return true;
      });

      await client!.close();

      assert.equal(client!.connected, false);
    });

    it("emits close with the cause when libvirtd goes away", async () => {
      await connect();
      const closed = once(client!, "close");

      daemon.clients[0].socket.destroy();

      const [cause] = (await closed) as [Error | undefined];
      assert.ok(cause instanceof LibvirtConnectionError);
      assert.equal(cause.reason, "connection-lost");
      assert.equal(client!.connected, false);
    });
  });
});

describe("UUID helpers", () => {
  it("formatUuid gives the 8-4-4-4-12 form in lowercase", () => {
    const uuid = Buffer.from("DD8FE8846C02601E7551CCA97DF1C5DF", "hex");

    assert.equal(formatUuid(uuid), "dd8fe884-6c02-601e-7551-cca97df1c5df");
  });

  it("parseUuid inverts formatUuid and accepts upper case", () => {
    const text = "DD8FE884-6C02-601E-7551-CCA97DF1C5DF";

    assert.equal(formatUuid(parseUuid(text)), text.toLowerCase());
  });

  it("reject input of the wrong shape", () => {
    assert.throws(() => formatUuid(Buffer.alloc(8)), /expected 16 bytes, got 8/);
    assert.throws(() => parseUuid("dd8fe8846c02601e7551cca97df1c5df"), /invalid UUID/);
    assert.throws(() => parseUuid("dd8fe884-6c02-601e-7551-cca97df1c5dg"), /invalid UUID/);
  });
});
