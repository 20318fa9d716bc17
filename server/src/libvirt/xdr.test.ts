import assert from "node:assert/strict";

import { REMOTE_STRING_MAX, XdrError, XdrReader, XdrWriter } from "./xdr";

function hex(bytes: Buffer): string {
  return bytes.toString("hex");
}

describe("XdrWriter and XdrReader", () => {
  describe("integers", () => {
    it("int encodes big-endian two's complement", () => {
      const bytes = new XdrWriter().writeInt(1).writeInt(-2).writeInt(0x7fffffff).writeInt(-0x80000000).finish();

      assert.equal(hex(bytes), "00000001" + "fffffffe" + "7fffffff" + "80000000");
      const reader = new XdrReader(bytes);
      assert.equal(reader.readInt(), 1);
      assert.equal(reader.readInt(), -2);
      assert.equal(reader.readInt(), 0x7fffffff);
      assert.equal(reader.readInt(), -0x80000000);
      reader.expectEnd();
    });

    it("unsigned int round trips its full range", () => {
      const bytes = new XdrWriter().writeUint(0).writeUint(0xffffffff).finish();

      assert.equal(hex(bytes), "00000000" + "ffffffff");
      const reader = new XdrReader(bytes);
      assert.equal(reader.readUint(), 0);
      assert.equal(reader.readUint(), 0xffffffff);
    });

    it("hyper and unsigned hyper use 8 bytes and BigInt", () => {
      const bytes = new XdrWriter()
        .writeHyper(-1n)
        .writeHyper(2n ** 63n - 1n)
        .writeUhyper(9_000_000n)
        .writeUhyper(2n ** 64n - 1n)
        .finish();

      assert.equal(
        hex(bytes),
        "ffffffffffffffff" + "7fffffffffffffff" + "0000000000895440" + "ffffffffffffffff",
      );
      const reader = new XdrReader(bytes);
      assert.equal(reader.readHyper(), -1n);
      assert.equal(reader.readHyper(), 2n ** 63n - 1n);
      assert.equal(reader.readUhyper(), 9_000_000n);
      assert.equal(reader.readUhyper(), 2n ** 64n - 1n);
    });

    const outOfRange: Array<[string, (writer: XdrWriter) => void]> = [
      ["int above 2^31-1", (w) => w.writeInt(0x80000000)],
      ["int below -2^31", (w) => w.writeInt(-0x80000001)],
      ["int that is not an integer", (w) => w.writeInt(1.5)],
      ["int NaN", (w) => w.writeInt(Number.NaN)],
      ["unsigned int below 0", (w) => w.writeUint(-1)],
      ["unsigned int above 2^32-1", (w) => w.writeUint(2 ** 32)],
      ["hyper above 2^63-1", (w) => w.writeHyper(2n ** 63n)],
      ["unsigned hyper below 0", (w) => w.writeUhyper(-1n)],
      ["unsigned hyper above 2^64-1", (w) => w.writeUhyper(2n ** 64n)],
    ];
    for (const [name, write] of outOfRange) {
      it(`rejects ${name}`, () => {
        assert.throws(() => write(new XdrWriter()), XdrError);
      });
    }
  });

  describe("bool", () => {
    it("encodes as int 0 or 1", () => {
      const bytes = new XdrWriter().writeBool(true).writeBool(false).finish();

      assert.equal(hex(bytes), "00000001" + "00000000");
      const reader = new XdrReader(bytes);
      assert.equal(reader.readBool(), true);
      assert.equal(reader.readBool(), false);
    });

    it("rejects a value other than 0 or 1", () => {
      assert.throws(() => new XdrReader(Buffer.from("00000002", "hex")).readBool(), /expected 0 or 1, got 2/);
    });
  });

  describe("string", () => {
    it("pads to a multiple of 4 with zero bytes", () => {
      const bytes = new XdrWriter().writeString("abcde").finish();

      // length 5 | "abcde" | 3 bytes of padding
      assert.equal(hex(bytes), "00000005" + "6162636465" + "000000");
      assert.equal(new XdrReader(bytes).readString(), "abcde");
    });

    it("adds no padding at a multiple of 4", () => {
      const bytes = new XdrWriter().writeString("abcd").writeString("").finish();

      // length 4 | "abcd" | length 0
      assert.equal(hex(bytes), "00000004" + "61626364" + "00000000");
      const reader = new XdrReader(bytes);
      assert.equal(reader.readString(), "abcd");
      assert.equal(reader.readString(), "");
      reader.expectEnd();
    });

    it("counts UTF-8 bytes, not characters", () => {
      const bytes = new XdrWriter().writeString("né").finish();

      // length 3 | "n" 0xc3 0xa9 | 1 byte of padding
      assert.equal(hex(bytes), "00000003" + "6ec3a9" + "00");
      assert.equal(new XdrReader(bytes).readString(), "né");
    });

    it("rejects a NUL character", () => {
      assert.throws(() => new XdrWriter().writeString("a\0b"), /NUL/);
    });

    it("writes up to the maximum and rejects one byte more", () => {
      const atLimit = "x".repeat(REMOTE_STRING_MAX);
      const bytes = new XdrWriter().writeString(atLimit).finish();

      assert.equal(bytes.length, 4 + REMOTE_STRING_MAX);
      assert.equal(new XdrReader(bytes).readString(), atLimit);
      assert.throws(() => new XdrWriter().writeString(atLimit + "x"), /exceeds the maximum of 4194304 bytes/);
    });

    it("rejects oversized declared length", () => {
      // length 4 MiB + 1, with no data following
      const bytes = Buffer.from("00400001", "hex");

      assert.throws(() => new XdrReader(bytes).readString(), /declares 4194305 bytes, more than the maximum of 4194304/);
    });

    it("honours a smaller maximum", () => {
      const bytes = new XdrWriter().writeString("abcdef").finish();

      assert.throws(() => new XdrReader(bytes).readString(5), XdrError);
      assert.throws(() => new XdrWriter().writeString("abcdef", 5), XdrError);
    });
  });

  describe("opaque", () => {
    it("fixed opaque has no length and is padded", () => {
      const bytes = new XdrWriter().writeFixedOpaque(Buffer.from("010203", "hex"), 3).finish();

      assert.equal(hex(bytes), "010203" + "00");
      const reader = new XdrReader(bytes);
      assert.equal(hex(reader.readFixedOpaque(3)), "010203");
      reader.expectEnd();
    });

    it("fixed opaque rejects the wrong length", () => {
      assert.throws(() => new XdrWriter().writeFixedOpaque(Buffer.alloc(15), 16), /must be 16 bytes, got 15/);
    });

    it("variable opaque has a length and is padded", () => {
      const bytes = new XdrWriter().writeVariableOpaque(Buffer.from("aabb", "hex"), 10).finish();

      // length 2 | 0xaa 0xbb | 2 bytes of padding
      assert.equal(hex(bytes), "00000002" + "aabb" + "0000");
      assert.equal(hex(new XdrReader(bytes).readVariableOpaque(10)), "aabb");
    });

    it("variable opaque enforces its maximum both ways", () => {
      assert.throws(() => new XdrWriter().writeVariableOpaque(Buffer.alloc(11), 10), XdrError);
      const bytes = new XdrWriter().writeVariableOpaque(Buffer.alloc(11), 11).finish();
      assert.throws(() => new XdrReader(bytes).readVariableOpaque(10), XdrError);
    });

    it("reader returns independent copies", () => {
      const input = new XdrWriter().writeFixedOpaque(Buffer.from("01020304", "hex"), 4).finish();
      const value = new XdrReader(input).readFixedOpaque(4);

      input.fill(0);

      assert.equal(hex(value), "01020304");
    });
  });

  describe("optional", () => {
    const writeString = (writer: XdrWriter, value: string) => writer.writeString(value);

    it("absent value is the flag 0", () => {
      const bytes = new XdrWriter().writeOptional(undefined, writeString).finish();

      assert.equal(hex(bytes), "00000000");
      assert.equal(new XdrReader(bytes).readOptional((r) => r.readString()), undefined);
    });

    it("present value is the flag 1 then the value", () => {
      const bytes = new XdrWriter().writeOptional("ab", writeString).finish();

      // flag 1 | length 2 | "ab" | 2 bytes of padding
      assert.equal(hex(bytes), "00000001" + "00000002" + "6162" + "0000");
      assert.equal(new XdrReader(bytes).readOptional((r) => r.readString()), "ab");
    });

    it("rejects a flag other than 0 or 1", () => {
      const bytes = Buffer.from("00000002", "hex");

      assert.throws(() => new XdrReader(bytes).readOptional((r) => r.readInt()), /optional flag .* got 2/);
    });
  });

  describe("array", () => {
    it("has a count then the items", () => {
      const bytes = new XdrWriter().writeArray([7, 8], 5, (w, item) => w.writeInt(item)).finish();

      assert.equal(hex(bytes), "00000002" + "00000007" + "00000008");
      assert.deepEqual(
        new XdrReader(bytes).readArray(5, (r) => r.readInt()),
        [7, 8],
      );
    });

    it("enforces its maximum count both ways", () => {
      assert.throws(() => new XdrWriter().writeArray([1, 2, 3], 2, (w, item) => w.writeInt(item)), XdrError);
      const bytes = Buffer.from("00000003", "hex");
      assert.throws(() => new XdrReader(bytes).readArray(2, (r) => r.readInt()), /declares 3 items, more than the maximum of 2/);
    });
  });

  describe("truncated input", () => {
    const cases: Array<[string, string, (reader: XdrReader) => unknown]> = [
      ["int with 3 bytes", "000000", (r) => r.readInt()],
      ["hyper with 4 bytes", "00000000", (r) => r.readHyper()],
      ["string missing its data", "0000000a" + "6162", (r) => r.readString()],
      ["string missing its padding", "00000001" + "61", (r) => r.readString()],
      ["fixed opaque of 16 with 8 bytes", "0001020304050607", (r) => r.readFixedOpaque(16)],
      ["optional missing its value", "00000001", (r) => r.readOptional((x) => x.readInt())],
      ["array missing an item", "00000002" + "00000001", (r) => r.readArray(5, (x) => x.readInt())],
    ];
    for (const [name, input, read] of cases) {
      it(`throws a clear error for ${name}`, () => {
        assert.throws(() => read(new XdrReader(Buffer.from(input, "hex"))), (error: unknown) => {
          assert.ok(error instanceof XdrError);
          assert.match(error.message, /truncated XDR data: reading .* at offset \d+ needs \d+ bytes, but only \d+ remain/);
          return true;
        });
      });
    }
  });

  it("expectEnd reports left-over bytes", () => {
    const reader = new XdrReader(Buffer.from("0000000100000002", "hex"));
    reader.readInt();

    assert.throws(() => reader.expectEnd(), /unexpected 4 bytes after the end of the XDR data at offset 4/);
  });

  it("writer grows past its initial capacity", () => {
    const writer = new XdrWriter(4);
    for (let i = 0; i < 100; i++) {
      writer.writeInt(i);
    }
    const reader = new XdrReader(writer.finish());

    for (let i = 0; i < 100; i++) {
      assert.equal(reader.readInt(), i);
    }
    reader.expectEnd();
  });
});
