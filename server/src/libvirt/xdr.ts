// XDR (RFC 4506) encoding as libvirt's RPC uses it: big-endian, every item
// padded to a multiple of 4 bytes, 64-bit integers ("hyper") as BigInt.

/**
 * Maximum length in bytes of a libvirt string (REMOTE_STRING_MAX and
 * VIR_NET_MESSAGE_STRING_MAX in libvirt's remote_protocol.x and virnetprotocol.x).
 */
export const REMOTE_STRING_MAX = 4 * 1024 * 1024;

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;
const UINT32_MAX = 0xffff_ffff;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** Invalid input to an XDR writer or reader: a value out of range, a limit exceeded or truncated data. */
export class XdrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "XdrError";
  }
}

function paddingOf(length: number): number {
  return (4 - (length % 4)) % 4;
}

/** Builds an XDR byte string. Each write method returns the writer so that calls can be chained. */
export class XdrWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = Buffer.alloc(initialCapacity);
  }

  /** Writes a signed 32-bit integer (XDR int, also used for enums). */
  writeInt(value: number): this {
    checkInteger(value, INT32_MIN, INT32_MAX, "int");
    const at = this.grow(4);
    this.buffer.writeInt32BE(value, at);
    return this;
  }

  /** Writes an unsigned 32-bit integer (XDR unsigned int). */
  writeUint(value: number): this {
    checkInteger(value, 0, UINT32_MAX, "unsigned int");
    const at = this.grow(4);
    this.buffer.writeUInt32BE(value, at);
    return this;
  }

  /** Writes a signed 64-bit integer (XDR hyper). */
  writeHyper(value: bigint): this {
    checkBigInt(value, INT64_MIN, INT64_MAX, "hyper");
    const at = this.grow(8);
    this.buffer.writeBigInt64BE(value, at);
    return this;
  }

  /** Writes an unsigned 64-bit integer (XDR unsigned hyper). */
  writeUhyper(value: bigint): this {
    checkBigInt(value, 0n, UINT64_MAX, "unsigned hyper");
    const at = this.grow(8);
    this.buffer.writeBigUInt64BE(value, at);
    return this;
  }

  /** Writes an XDR bool as the integer 0 or 1. */
  writeBool(value: boolean): this {
    return this.writeInt(value ? 1 : 0);
  }

  /**
   * Writes a UTF-8 string: its byte length, the bytes and zero padding.
   * Rejects a NUL byte because libvirtd reads strings as C strings and would cut the value there.
   */
  writeString(value: string, maxLength = REMOTE_STRING_MAX): this {
    if (value.includes("\0")) {
      throw new XdrError("invalid XDR string: it contains a NUL character, which libvirt cannot represent");
    }
    return this.writeVariableOpaque(Buffer.from(value, "utf8"), maxLength, "string");
  }

  /** Writes fixed-length opaque data, such as a 16-byte UUID. The length is not sent. */
  writeFixedOpaque(bytes: Uint8Array, expectedLength: number): this {
    if (bytes.length !== expectedLength) {
      throw new XdrError(`fixed XDR opaque must be ${expectedLength} bytes, got ${bytes.length}`);
    }
    this.writeBytesPadded(bytes);
    return this;
  }

  /** Writes variable-length opaque data: its length, the bytes and zero padding. */
  writeVariableOpaque(bytes: Uint8Array, maxLength: number, itemName = "opaque"): this {
    if (bytes.length > maxLength) {
      throw new XdrError(`XDR ${itemName} of ${bytes.length} bytes exceeds the maximum of ${maxLength} bytes`);
    }
    this.writeUint(bytes.length);
    this.writeBytesPadded(bytes);
    return this;
  }

  /** Writes an XDR optional (`*T`): the flag 0 for undefined, else the flag 1 and the value. */
  writeOptional<T>(value: T | undefined, writeValue: (writer: this, value: T) => void): this {
    if (value === undefined) {
      return this.writeInt(0);
    }
    this.writeInt(1);
    writeValue(this, value);
    return this;
  }

  /** Writes a variable-length array: the item count, then each item. */
  writeArray<T>(items: readonly T[], maxCount: number, writeItem: (writer: this, item: T) => void): this {
    if (items.length > maxCount) {
      throw new XdrError(`XDR array of ${items.length} items exceeds the maximum of ${maxCount} items`);
    }
    this.writeUint(items.length);
    for (const item of items) {
      writeItem(this, item);
    }
    return this;
  }

  /** Returns a copy of the bytes written so far. */
  finish(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }

  private writeBytesPadded(bytes: Uint8Array): void {
    const start = this.grow(bytes.length + paddingOf(bytes.length));
    this.buffer.set(bytes, start);
    this.buffer.fill(0, start + bytes.length, this.length);
  }

  /** Makes room for `size` more bytes and returns the offset at which they start. */
  private grow(size: number): number {
    const start = this.length;
    const needed = start + size;
    if (needed > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(needed, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, start);
      this.buffer = grown;
    }
    this.length = needed;
    return start;
  }
}

/** Reads XDR items in order from a byte string. Every read throws XdrError on truncated or invalid input. */
export class XdrReader {
  private offset = 0;

  constructor(private readonly buffer: Buffer) {}

  /** Number of bytes not read yet. */
  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  /** Reads a signed 32-bit integer (XDR int or enum). */
  readInt(): number {
    const value = this.view(4, "int").readInt32BE(0);
    this.offset += 4;
    return value;
  }

  /** Reads an unsigned 32-bit integer. */
  readUint(): number {
    const value = this.view(4, "unsigned int").readUInt32BE(0);
    this.offset += 4;
    return value;
  }

  /** Reads a signed 64-bit integer (XDR hyper). */
  readHyper(): bigint {
    const value = this.view(8, "hyper").readBigInt64BE(0);
    this.offset += 8;
    return value;
  }

  /** Reads an unsigned 64-bit integer (XDR unsigned hyper). */
  readUhyper(): bigint {
    const value = this.view(8, "unsigned hyper").readBigUInt64BE(0);
    this.offset += 8;
    return value;
  }

  /** Reads an XDR bool, which must be 0 or 1. */
  readBool(): boolean {
    const at = this.offset;
    const value = this.readInt();
    if (value !== 0 && value !== 1) {
      throw new XdrError(`invalid XDR bool at offset ${at}: expected 0 or 1, got ${value}`);
    }
    return value === 1;
  }

  /** Reads a string and decodes it as UTF-8. */
  readString(maxLength = REMOTE_STRING_MAX): string {
    return this.readVariableOpaque(maxLength, "string").toString("utf8");
  }

  /** Reads `length` bytes of fixed-length opaque data and skips its padding. Returns a copy. */
  readFixedOpaque(length: number): Buffer {
    return Buffer.from(this.readBytesPadded(length, "fixed opaque"));
  }

  /** Reads variable-length opaque data and skips its padding. Returns a copy. */
  readVariableOpaque(maxLength: number, itemName = "opaque"): Buffer {
    const at = this.offset;
    const length = this.readUint();
    if (length > maxLength) {
      throw new XdrError(`XDR ${itemName} at offset ${at} declares ${length} bytes, more than the maximum of ${maxLength}`);
    }
    return Buffer.from(this.readBytesPadded(length, itemName));
  }

  /** Reads an XDR optional (`*T`): undefined when the flag is 0, else the value. */
  readOptional<T>(readValue: (reader: this) => T): T | undefined {
    const at = this.offset;
    const flag = this.readInt();
    if (flag === 0) {
      return undefined;
    }
    if (flag !== 1) {
      throw new XdrError(`invalid XDR optional flag at offset ${at}: expected 0 or 1, got ${flag}`);
    }
    return readValue(this);
  }

  /** Reads a variable-length array: the item count (at most `maxCount`), then each item. */
  readArray<T>(maxCount: number, readItem: (reader: this) => T): T[] {
    const at = this.offset;
    const count = this.readUint();
    if (count > maxCount) {
      throw new XdrError(`XDR array at offset ${at} declares ${count} items, more than the maximum of ${maxCount}`);
    }
    const items: T[] = [];
    for (let i = 0; i < count; i++) {
      items.push(readItem(this));
    }
    return items;
  }

  /**
   * Throws unless every byte was read. Left-over bytes mean that the reader
   * and the sender disagree about the structure.
   */
  expectEnd(): void {
    if (this.remaining !== 0) {
      throw new XdrError(`unexpected ${this.remaining} bytes after the end of the XDR data at offset ${this.offset}`);
    }
  }

  private readBytesPadded(length: number, itemName: string): Buffer {
    const padded = length + paddingOf(length);
    const bytes = this.view(padded, itemName).subarray(0, length);
    this.offset += padded;
    return bytes;
  }

  /** Returns the next `size` bytes without advancing, or throws when fewer remain. */
  private view(size: number, itemName: string): Buffer {
    if (this.remaining < size) {
      throw new XdrError(
        `truncated XDR data: reading ${itemName} at offset ${this.offset} needs ${size} bytes, but only ${this.remaining} remain`,
      );
    }
    return this.buffer.subarray(this.offset, this.offset + size);
  }
}

function checkInteger(value: number, min: number, max: number, typeName: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new XdrError(`invalid XDR ${typeName}: ${value} is not an integer from ${min} to ${max}`);
  }
}

function checkBigInt(value: bigint, min: bigint, max: bigint, typeName: string): void {
  if (typeof value !== "bigint" || value < min || value > max) {
    throw new XdrError(`invalid XDR ${typeName}: ${String(value)} is not a BigInt from ${min} to ${max}`);
  }
}
