import assert from "node:assert/strict";

import { LibvirtClient } from "./client";
import { LibvirtError } from "./errors";
import { FakeCall, FakeCallHandler, FakeLibvirtd } from "./fake-libvirtd";
import { DomainDeviceModifyFlag, DomainXmlFlag, ErrorCode, ErrorDomain, InterfaceAddressesSource, RemoteProcedure } from "./protocol";
import { DomainRef, readDomainRef, writeDomainRef } from "./structs";
import { XdrReader, XdrWriter } from "./xdr";

const GUEST: DomainRef = {
  name: "guest",
  uuid: Buffer.from("0102030405060708090a0b0c0d0e0f10", "hex"),
  id: 7,
};

const STOPPED: DomainRef = {
  name: "stopped",
  uuid: Buffer.from("a1a2a3a4a5a6a7a8a9aaabacadaeafb0", "hex"),
  id: -1,
};

function domainPayload(domain: DomainRef): Buffer {
  const writer = new XdrWriter();
  writeDomainRef(writer, domain);
  return writer.finish();
}

/** Reads the domain at the start of call args and returns it with a reader positioned after it. */
function readDomainArgs(call: FakeCall): [DomainRef, XdrReader] {
  const reader = new XdrReader(call.args);
  return [readDomainRef(reader), reader];
}

describe("LibvirtClient domain procedures", () => {
  let daemon: FakeLibvirtd;
  let client: LibvirtClient | undefined;

  async function connect(handler: FakeCallHandler): Promise<LibvirtClient> {
    daemon = await FakeLibvirtd.start(handler);
    client = await LibvirtClient.connect({ socketPath: daemon.socketPath, uri: "test:///default" });
    return client;
  }

  afterEach(async () => {
    client?.connection.destroy();
    client = undefined;
    await daemon?.stop();
  });

  it("domainLookupByName returns the domain", async () => {
    await connect((call) => {
      if (call.procedure !== RemoteProcedure.DOMAIN_LOOKUP_BY_NAME) {
        return false;
      }
      call.reply(domainPayload(GUEST));
      return true;
    });

    const domain = await client!.domainLookupByName("guest");

    assert.deepEqual(domain, GUEST);
    const call = daemon.callsOf(RemoteProcedure.DOMAIN_LOOKUP_BY_NAME)[0];
    assert.equal(call.args.toString("hex"), "00000005" + Buffer.from("guest").toString("hex") + "000000");
  });

  it("domainLookupByName rejects missing domain", async () => {
    await connect((call) => {
      if (call.procedure !== RemoteProcedure.DOMAIN_LOOKUP_BY_NAME) {
        return false;
      }
      call.replyError({ code: ErrorCode.NO_DOMAIN, domain: ErrorDomain.QEMU, message: "Domain not found: no domain with matching name 'x'" });
      return true;
    });

    const error = await client!.domainLookupByName("x").then(
      () => assert.fail("the lookup succeeded"),
      (rejection: unknown) => rejection,
    );

    assert.ok(error instanceof LibvirtError);
    assert.ok(error.isNoDomain());
  });

  it("listAllDomains sends flags, returns list", async () => {
    await connect((call) => {
      if (call.procedure !== RemoteProcedure.CONNECT_LIST_ALL_DOMAINS) {
        return false;
      }
      const writer = new XdrWriter();
      writer.writeArray([GUEST, STOPPED], 16384, writeDomainRef);
      writer.writeUint(2);
      call.reply(writer.finish());
      return true;
    });

    const domains = await client!.listAllDomains(4);

    assert.deepEqual(domains, [GUEST, STOPPED]);
    const call = daemon.callsOf(RemoteProcedure.CONNECT_LIST_ALL_DOMAINS)[0];
    assert.equal(call.args.toString("hex"), "00000001" + "00000004", "need_results 1, flags 4");
  });

  it("domainGetXmlDesc sends the flags and returns the XML", async () => {
    await connect((call) => {
      if (call.procedure !== RemoteProcedure.DOMAIN_GET_XML_DESC) {
        return false;
      }
      call.reply(new XdrWriter().writeString("<domain/>").finish());
      return true;
    });

    const xml = await client!.domainGetXmlDesc(GUEST, DomainXmlFlag.INACTIVE);

    assert.equal(xml, "<domain/>");
    const [domain, reader] = readDomainArgs(daemon.callsOf(RemoteProcedure.DOMAIN_GET_XML_DESC)[0]);
    assert.deepEqual(domain, GUEST);
    assert.equal(reader.readUint(), DomainXmlFlag.INACTIVE);
    reader.expectEnd();
  });

  it("state getters decode booleans", async () => {
    const answers = new Map<number, number>([
      [RemoteProcedure.DOMAIN_IS_ACTIVE, 1],
      [RemoteProcedure.DOMAIN_IS_PERSISTENT, 0],
    ]);
    await connect((call) => {
      const answer = answers.get(call.procedure);
      if (answer === undefined) {
        return false;
      }
      call.reply(new XdrWriter().writeInt(answer).finish());
      return true;
    });

    assert.equal(await client!.domainIsActive(GUEST), true);
    assert.equal(await client!.domainIsPersistent(GUEST), false);

    for (const procedure of answers.keys()) {
      const [domain, reader] = readDomainArgs(daemon.callsOf(procedure)[0]);
      assert.deepEqual(domain, GUEST, `domain of procedure ${procedure}`);
      reader.expectEnd();
    }
  });

  it("device calls send domain, XML and flags", async () => {
    const procedures = [
      RemoteProcedure.DOMAIN_ATTACH_DEVICE_FLAGS,
      RemoteProcedure.DOMAIN_DETACH_DEVICE_FLAGS,
      RemoteProcedure.DOMAIN_UPDATE_DEVICE_FLAGS,
    ];
    await connect((call) => {
      if (!(procedures as number[]).includes(call.procedure)) {
        return false;
      }
      call.reply();
      return true;
    });
    const xml = "<interface type='network'><source network='lab'/></interface>";
    const both = DomainDeviceModifyFlag.LIVE | DomainDeviceModifyFlag.CONFIG;

    await client!.domainAttachDeviceFlags(GUEST, xml, both);
    await client!.domainDetachDeviceFlags(GUEST, xml, DomainDeviceModifyFlag.CONFIG);
    await client!.domainUpdateDeviceFlags(GUEST, xml, DomainDeviceModifyFlag.LIVE);

    const expectedFlags = [both, DomainDeviceModifyFlag.CONFIG, DomainDeviceModifyFlag.LIVE];
    procedures.forEach((procedure, index) => {
      const [domain, reader] = readDomainArgs(daemon.callsOf(procedure)[0]);
      assert.deepEqual(domain, GUEST, `domain of procedure ${procedure}`);
      assert.equal(reader.readString(), xml, `XML of procedure ${procedure}`);
      assert.equal(reader.readUint(), expectedFlags[index], `flags of procedure ${procedure}`);
      reader.expectEnd();
    });
  });

  it("domainDetachDeviceAlias sends the alias", async () => {
    await connect((call) => {
      if (call.procedure !== RemoteProcedure.DOMAIN_DETACH_DEVICE_ALIAS) {
        return false;
      }
      call.reply();
      return true;
    });

    await client!.domainDetachDeviceAlias(GUEST, "net1", DomainDeviceModifyFlag.LIVE);

    const [domain, reader] = readDomainArgs(daemon.callsOf(RemoteProcedure.DOMAIN_DETACH_DEVICE_ALIAS)[0]);
    assert.deepEqual(domain, GUEST);
    assert.equal(reader.readString(), "net1");
    assert.equal(reader.readUint(), DomainDeviceModifyFlag.LIVE);
    reader.expectEnd();
  });

  it("domainInterfaceAddresses decodes interfaces", async () => {
    await connect((call) => {
      if (call.procedure !== RemoteProcedure.DOMAIN_INTERFACE_ADDRESSES) {
        return false;
      }
      const writer = new XdrWriter();
      writer.writeUint(2);
      // vnet0 with a MAC and one IPv4 address.
      writer.writeString("vnet0");
      writer.writeOptional("52:54:00:12:34:56", (w, mac) => w.writeString(mac));
      writer.writeUint(1);
      writer.writeInt(0).writeString("10.77.0.23").writeUint(24);
      // vnet1 without a MAC or addresses.
      writer.writeString("vnet1");
      writer.writeOptional(undefined, (w, mac: string) => w.writeString(mac));
      writer.writeUint(0);
      call.reply(writer.finish());
      return true;
    });

    const interfaces = await client!.domainInterfaceAddresses(GUEST, InterfaceAddressesSource.LEASE);

    assert.deepEqual(interfaces, [
      { name: "vnet0", hwaddr: "52:54:00:12:34:56", addresses: [{ type: 0, address: "10.77.0.23", prefix: 24 }] },
      { name: "vnet1", hwaddr: undefined, addresses: [] },
    ]);
    const [domain, reader] = readDomainArgs(daemon.callsOf(RemoteProcedure.DOMAIN_INTERFACE_ADDRESSES)[0]);
    assert.deepEqual(domain, GUEST);
    assert.equal(reader.readUint(), InterfaceAddressesSource.LEASE, "source");
    assert.equal(reader.readUint(), 0, "flags");
    reader.expectEnd();
  });
});
