// Packet framing of libvirt's RPC stream: a 4-byte big-endian length that
// counts itself, a 24-byte header, then the payload.

import { LibvirtConnectionError } from "./errors";
import { HEADER_SIZE, LENGTH_WORD_SIZE, MAX_PACKET_LENGTH, MessageStatus, MessageType, MIN_PACKET_LENGTH } from "./protocol";

/** The header of a packet (virNetMessageHeader). */
export interface PacketHeader {
  program: number;
  version: number;
  /** Signed, because the header declares proc as int. */
  procedure: number;
  /** A MessageType value. */
  type: number;
  serial: number;
  /** A MessageStatus value. */
  status: number;
}

export interface Packet extends PacketHeader {
  payload: Buffer;
}

const KNOWN_TYPES = new Set<number>(Object.values(MessageType));
const KNOWN_STATUSES = new Set<number>(Object.values(MessageStatus));

/** Encodes one packet. Throws RangeError when the packet would exceed libvirt's size limit. */
export function encodePacket(header: PacketHeader, payload: Buffer = Buffer.alloc(0)): Buffer {
  const length = MIN_PACKET_LENGTH + payload.length;
  if (length > MAX_PACKET_LENGTH) {
    throw new RangeError(
      `libvirt packet of ${length} bytes exceeds the maximum of ${MAX_PACKET_LENGTH} bytes; send less data per call`,
    );
  }

  const packet = Buffer.alloc(length);
  packet.writeUInt32BE(length, 0);
  packet.writeUInt32BE(header.program, 4);
  packet.writeUInt32BE(header.version, 8);
  packet.writeInt32BE(header.procedure, 12);
  packet.writeInt32BE(header.type, 16);
  packet.writeUInt32BE(header.serial, 20);
  packet.writeInt32BE(header.status, 24);
  payload.copy(packet, MIN_PACKET_LENGTH);
  return packet;
}

/**
 * Splits a byte stream into packets. Feed it each chunk read from the socket,
 * and it returns the packets completed so far, in order, and keeps the rest.
 *
 * A length word outside 28 .. 16 MiB + 4, or a header with an unknown type or
 * status, raises LibvirtConnectionError "protocol-violation" as soon as it is
 * read, before any of that packet's payload is buffered. After that the
 * decoder rejects all input, because the stream can no longer be split.
 */
export class PacketDecoder {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** Length word of the packet being collected, once its 4 bytes have arrived. */
  private packetLength: number | undefined;
  private failure: LibvirtConnectionError | undefined;

  /** Number of bytes received but not yet returned in a packet. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  push(chunk: Buffer): Packet[] {
    if (this.failure) {
      throw this.failure;
    }
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;

    const packets: Packet[] = [];
    for (;;) {
      if (this.packetLength === undefined) {
        if (this.bufferedBytes < LENGTH_WORD_SIZE) {
          break;
        }
        this.packetLength = this.checkLength(this.peekLengthWord());
      }

      if (this.bufferedBytes < this.packetLength) {
        break;
      }
      const bytes = this.take(this.packetLength);
      this.packetLength = undefined;
      packets.push(this.parse(bytes));
    }
    return packets;
  }

  private checkLength(length: number): number {
    if (length < MIN_PACKET_LENGTH || length > MAX_PACKET_LENGTH) {
      this.fail(
        `invalid libvirt packet length ${length}: it must be from ${MIN_PACKET_LENGTH} to ${MAX_PACKET_LENGTH} bytes`,
      );
    }
    return length;
  }

  private parse(bytes: Buffer): Packet {
    const header: PacketHeader = {
      program: bytes.readUInt32BE(4),
      version: bytes.readUInt32BE(8),
      procedure: bytes.readInt32BE(12),
      type: bytes.readInt32BE(16),
      serial: bytes.readUInt32BE(20),
      status: bytes.readInt32BE(24),
    };
    if (!KNOWN_TYPES.has(header.type)) {
      this.fail(`invalid libvirt packet: unknown message type ${header.type} (procedure ${header.procedure})`);
    }
    if (!KNOWN_STATUSES.has(header.status)) {
      this.fail(`invalid libvirt packet: unknown status ${header.status} (procedure ${header.procedure})`);
    }
    return { ...header, payload: bytes.subarray(LENGTH_WORD_SIZE + HEADER_SIZE) };
  }

  private fail(message: string): never {
    this.failure = new LibvirtConnectionError(message, { reason: "protocol-violation" });
    this.chunks = [];
    this.bufferedBytes = 0;
    throw this.failure;
  }

  /** Reads the length word, which may span chunks, without consuming it. */
  private peekLengthWord(): number {
    const first = this.chunks[0];
    if (first.length >= LENGTH_WORD_SIZE) {
      return first.readUInt32BE(0);
    }
    return Buffer.concat(this.chunks, LENGTH_WORD_SIZE).readUInt32BE(0);
  }

  /** Removes and returns the first `size` buffered bytes, copying only when they span chunks. */
  private take(size: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= size) {
      this.consume(size);
      return first.subarray(0, size);
    }
    const bytes = Buffer.concat(this.chunks, size);
    this.consume(size);
    return bytes;
  }

  private consume(size: number): void {
    this.bufferedBytes -= size;
    let left = size;
    while (left > 0) {
      const first = this.chunks[0];
      if (first.length <= left) {
        this.chunks.shift();
        left -= first.length;
      } else {
        this.chunks[0] = first.subarray(left);
        left = 0;
      }
    }
  }
}
