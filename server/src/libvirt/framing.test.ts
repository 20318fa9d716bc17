import assert from "node:assert/strict";

import { isLibvirtConnectionError } from "./errors";
import { encodePacket, Packet, PacketDecoder, PacketHeader } from "./framing";
import { MAX_PACKET_LENGTH, MessageStatus, MessageType, REMOTE_PROGRAM, RemoteProcedure } from "./protocol";
import { XdrWriter } from "./xdr";

// CONNECT_OPEN(name = "test:///default", flags = 0) as call serial 3, field by field.
const CONNECT_OPEN_PACKET = [
  "00000038", // length: 56 bytes, the length word included
  "20008086", // program: REMOTE_PROGRAM
  "00000001", // version: 1
  "00000001", // procedure: CONNECT_OPEN
  "00000000", // type: CALL
  "00000003", // serial: 3
  "00000000", // status: OK
  "00000001", // name: optional string, present
  "0000000f", //   length 15
  "746573743a2f2f2f64656661756c74" + "00", // "test:///default" and 1 byte of padding
  "00000000", // flags: 0
].join("");

const CONNECT_OPEN_HEADER: PacketHeader = {
  program: REMOTE_PROGRAM,
  version: 1,
  procedure: RemoteProcedure.CONNECT_OPEN,
  type: MessageType.CALL,
  serial: 3,
  status: MessageStatus.OK,
};

function connectOpenArgs(): Buffer {
  return new XdrWriter()
    .writeOptional("test:///default", (w, uri) => w.writeString(uri))
    .writeUint(0)
    .finish();
}

function replyPacket(serial: number, payload: Buffer): Buffer {
  return encodePacket(
    {
      program: REMOTE_PROGRAM,
      version: 1,
      procedure: RemoteProcedure.CONNECT_GET_HOSTNAME,
      type: MessageType.REPLY,
      serial,
      status: MessageStatus.OK,
    },
    payload,
  );
}

function assertProtocolViolation(action: () => unknown, message: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(isLibvirtConnectionError(error), `expected LibvirtConnectionError, got ${String(error)}`);
    assert.equal(error.reason, "protocol-violation");
    assert.match(error.message, message);
    return true;
  });
}

describe("encodePacket", () => {
  it("encodes a CONNECT_OPEN call byte for byte", () => {
    const packet = encodePacket(CONNECT_OPEN_HEADER, connectOpenArgs());

    assert.equal(packet.toString("hex"), CONNECT_OPEN_PACKET);
  });

  it("encodes a void payload as the header alone", () => {
    const packet = encodePacket({ ...CONNECT_OPEN_HEADER, procedure: RemoteProcedure.CONNECT_CLOSE });

    assert.equal(packet.length, 28);
    assert.equal(packet.readUInt32BE(0), 28);
  });

  it("encodes a negative procedure as signed", () => {
    const packet = encodePacket({ ...CONNECT_OPEN_HEADER, procedure: -1 });

    assert.equal(packet.subarray(12, 16).toString("hex"), "ffffffff");
  });

  it("rejects a payload above the 16 MiB limit", () => {
    const payload = Buffer.alloc(MAX_PACKET_LENGTH - 28 + 1);

    assert.throws(() => encodePacket(CONNECT_OPEN_HEADER, payload), RangeError);
  });
});

describe("PacketDecoder", () => {
  it("decodes one whole packet", () => {
    const decoder = new PacketDecoder();

    const packets = decoder.push(Buffer.from(CONNECT_OPEN_PACKET, "hex"));

    assert.equal(packets.length, 1);
    const { payload, ...header } = packets[0];
    assert.deepEqual(header, CONNECT_OPEN_HEADER);
    assert.equal(payload.toString("hex"), connectOpenArgs().toString("hex"));
    assert.equal(decoder.buffered, 0);
  });

  it("reassembles a packet fed one byte at a time", () => {
    const decoder = new PacketDecoder();
    const bytes = Buffer.from(CONNECT_OPEN_PACKET, "hex");
    const packets: Packet[] = [];

    for (let i = 0; i < bytes.length; i++) {
      const completed = decoder.push(bytes.subarray(i, i + 1));
      if (i < bytes.length - 1) {
        assert.equal(completed.length, 0, `packet completed early at byte ${i}`);
      }
      packets.push(...completed);
    }

    assert.equal(packets.length, 1);
    assert.equal(packets[0].serial, 3);
    assert.equal(packets[0].payload.toString("hex"), connectOpenArgs().toString("hex"));
  });

  it("splits packets sharing one chunk", () => {
    const first = replyPacket(1, Buffer.from("00000001", "hex"));
    const second = replyPacket(2, Buffer.alloc(0));
    const third = replyPacket(3, Buffer.from("0000000200000003", "hex"));
    const decoder = new PacketDecoder();

    const packets = decoder.push(Buffer.concat([first, second, third.subarray(0, 10)]));

    assert.deepEqual(
      packets.map((p) => p.serial),
      [1, 2],
    );
    assert.equal(packets[0].payload.toString("hex"), "00000001");
    assert.equal(packets[1].payload.length, 0);
    assert.equal(decoder.buffered, 10);

    const rest = decoder.push(third.subarray(10));

    assert.equal(rest.length, 1);
    assert.equal(rest[0].serial, 3);
    assert.equal(rest[0].payload.toString("hex"), "0000000200000003");
  });

  it("reads a length word split across chunks", () => {
    const packet = replyPacket(9, Buffer.from("00000009", "hex"));
    const decoder = new PacketDecoder();

    assert.equal(decoder.push(packet.subarray(0, 2)).length, 0);
    assert.equal(decoder.push(packet.subarray(2, 3)).length, 0);
    const packets = decoder.push(packet.subarray(3));

    assert.equal(packets.length, 1);
    assert.equal(packets[0].serial, 9);
  });

  it("rejects a length below 28", () => {
    const decoder = new PacketDecoder();

    assertProtocolViolation(
      () => decoder.push(Buffer.from("0000001b", "hex")),
      /invalid libvirt packet length 27: it must be from 28 to 16777220 bytes/,
    );
  });

  it("rejects an oversized length without buffering", () => {
    const decoder = new PacketDecoder();
    const oversized = Buffer.alloc(4);
    oversized.writeUInt32BE(MAX_PACKET_LENGTH + 1);

    assertProtocolViolation(() => decoder.push(oversized), /invalid libvirt packet length 16777221/);
    assert.equal(decoder.buffered, 0);
  });

  it("accepts the maximum length and waits for the data", () => {
    const decoder = new PacketDecoder();
    const lengthWord = Buffer.alloc(4);
    lengthWord.writeUInt32BE(MAX_PACKET_LENGTH);

    assert.deepEqual(decoder.push(lengthWord), []);
    assert.equal(decoder.buffered, 4);
  });

  it("rejects an unknown message type", () => {
    const packet = Buffer.from(CONNECT_OPEN_PACKET, "hex");
    packet.writeInt32BE(9, 16);

    assertProtocolViolation(() => new PacketDecoder().push(packet), /unknown message type 9/);
  });

  it("rejects an unknown status", () => {
    const packet = Buffer.from(CONNECT_OPEN_PACKET, "hex");
    packet.writeInt32BE(3, 24);

    assertProtocolViolation(() => new PacketDecoder().push(packet), /unknown status 3/);
  });

  it("rejects all input after a protocol violation", () => {
    const decoder = new PacketDecoder();
    assert.throws(() => decoder.push(Buffer.from("00000000", "hex")));

    assertProtocolViolation(() => decoder.push(Buffer.from(CONNECT_OPEN_PACKET, "hex")), /packet length 0/);
  });
});
