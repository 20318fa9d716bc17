import assert from "node:assert/strict";

import {
  isLibvirtConnectionError,
  isLibvirtError,
  LibvirtConnectionError,
  LibvirtError,
  LibvirtTimeoutError,
} from "./errors";
import { ErrorCode, ErrorDomain } from "./protocol";
import { readRemoteError, writeRemoteError } from "./structs";
import { XdrReader, XdrWriter } from "./xdr";

const NOT_FOUND_MESSAGE = "Network not found: no network with matching name 'x'";

// The remote_error payload libvirtd sends for a lookup of the missing network "x", field by field.
const NETWORK_NOT_FOUND_PAYLOAD = [
  "0000002b", // code: 43, VIR_ERR_NO_NETWORK
  "00000013", // domain: 19, VIR_FROM_NETWORK
  "00000001", // message: optional string, present
  "00000034", //   length 52
  Buffer.from(NOT_FOUND_MESSAGE).toString("hex"), //   the text; 52 is a multiple of 4, so no padding
  "00000002", // level: 2, VIR_ERR_ERROR
  "00000000", // dom: absent
  "00000001", // str1: present
  "00000001", //   length 1
  "78" + "000000", //   "x" and 3 bytes of padding
  "00000000", // str2: absent
  "00000000", // str3: absent
  "00000000", // int1: 0
  "00000000", // int2: 0
  "00000000", // net: absent
].join("");

describe("remote_error", () => {
  it("decodes libvirt's network-not-found payload", () => {
    const reader = new XdrReader(Buffer.from(NETWORK_NOT_FOUND_PAYLOAD, "hex"));

    const fields = readRemoteError(reader);

    reader.expectEnd();
    assert.equal(fields.code, ErrorCode.NO_NETWORK);
    assert.equal(fields.domain, ErrorDomain.NETWORK);
    assert.equal(fields.message, NOT_FOUND_MESSAGE);
    assert.equal(fields.level, 2);
    assert.equal(fields.dom, undefined);
    assert.equal(fields.str1, "x");
    assert.equal(fields.str2, undefined);
    assert.equal(fields.str3, undefined);
    assert.equal(fields.int1, 0);
    assert.equal(fields.int2, 0);
    assert.equal(fields.net, undefined);
  });

  it("encodes back to the same bytes", () => {
    const fields = readRemoteError(new XdrReader(Buffer.from(NETWORK_NOT_FOUND_PAYLOAD, "hex")));
    const writer = new XdrWriter();

    writeRemoteError(writer, fields);

    assert.equal(writer.finish().toString("hex"), NETWORK_NOT_FOUND_PAYLOAD);
  });

  it("round trips the deprecated dom and net fields", () => {
    const uuid = Buffer.alloc(16, 0xab);
    const writer = new XdrWriter();
    writeRemoteError(writer, {
      code: 1,
      domain: 20,
      level: 2,
      int1: -1,
      int2: 7,
      dom: { name: "vm1", uuid, id: 4 },
      net: { name: "net1", uuid },
    });

    const fields = readRemoteError(new XdrReader(writer.finish()));

    assert.equal(fields.message, undefined);
    assert.deepEqual(fields.dom, { name: "vm1", uuid, id: 4 });
    assert.deepEqual(fields.net, { name: "net1", uuid });
    assert.equal(fields.int1, -1);
    assert.equal(fields.int2, 7);
  });
});

describe("LibvirtError", () => {
  it("uses libvirt's message as its own", () => {
    const fields = readRemoteError(new XdrReader(Buffer.from(NETWORK_NOT_FOUND_PAYLOAD, "hex")));

    const error = new LibvirtError(fields, 46);

    assert.equal(error.message, NOT_FOUND_MESSAGE);
    assert.equal(error.libvirtMessage, NOT_FOUND_MESSAGE);
    assert.equal(error.name, "LibvirtError");
    assert.equal(error.code, 43);
    assert.equal(error.domain, 19);
    assert.equal(error.level, 2);
    assert.equal(error.procedure, 46);
    assert.equal(error.fields.str1, "x");
  });

  it("describes an error without a message", () => {
    const error = new LibvirtError({ code: 9, domain: 19 });

    assert.equal(error.message, "libvirt error code 9 (error domain 19) without a message");
    assert.equal(error.libvirtMessage, undefined);
    assert.equal(error.level, 2);
  });

  const predicates: Array<[string, (error: LibvirtError) => boolean, ConstructorParameters<typeof LibvirtError>[0], boolean]> = [
    ["isNoNetwork on code 43", (e) => e.isNoNetwork(), { code: 43, domain: 19 }, true],
    ["isNoNetwork on code 42", (e) => e.isNoNetwork(), { code: 42, domain: 20 }, false],
    ["isNoDomain on code 42", (e) => e.isNoDomain(), { code: 42, domain: 20 }, true],
    ["isNetworkExists on code 37", (e) => e.isNetworkExists(), { code: 37, domain: 19 }, true],
    [
      "isNetworkExists on code 9 with 'already exists'",
      (e) => e.isNetworkExists(),
      { code: 9, domain: 19, message: "operation failed: network 'x' already exists with uuid 1234" },
      true,
    ],
    [
      "isNetworkExists on code 9 with another message",
      (e) => e.isNetworkExists(),
      { code: 9, domain: 19, message: "operation failed: dnsmasq exited" },
      false,
    ],
    ["isOperationInvalid on code 55", (e) => e.isOperationInvalid(), { code: 55, domain: 19 }, true],
    [
      "isUnknownProcedure on libvirtd's message",
      (e) => e.isUnknownProcedure(),
      { code: 39, domain: 7, message: "unknown procedure: 9999" },
      true,
    ],
    ["isUnknownProcedure without a message", (e) => e.isUnknownProcedure(), { code: 39, domain: 7 }, false],
  ];
  for (const [name, predicate, fields, expected] of predicates) {
    it(`${name} returns ${expected}`, () => {
      assert.equal(predicate(new LibvirtError(fields)), expected);
    });
  }
});

describe("error brands", () => {
  it("keep the three error classes apart", () => {
    const libvirtError = new LibvirtError({ code: 43, domain: 19 });
    const connectionError = new LibvirtConnectionError("libvirtd closed the connection");
    const timeoutError = new LibvirtTimeoutError(46, 100);

    assert.ok(libvirtError instanceof LibvirtError);
    assert.ok(!(libvirtError instanceof LibvirtConnectionError));
    assert.ok(connectionError instanceof LibvirtConnectionError);
    assert.ok(!(connectionError instanceof LibvirtError));
    assert.ok(timeoutError instanceof LibvirtTimeoutError);
    assert.ok(!(timeoutError instanceof LibvirtConnectionError));
    assert.ok(libvirtError instanceof Error);
  });

  it("reject plain errors and non-objects", () => {
    assert.ok(!(new Error("x") instanceof LibvirtError));
    assert.equal(isLibvirtError(undefined), false);
    assert.equal(isLibvirtError("LibvirtError"), false);
    assert.equal(isLibvirtConnectionError(null), false);
  });

  it("match errors from another copy of the module", () => {
    const modulePath = require.resolve("./errors");
    const cached = require.cache[modulePath];
    delete require.cache[modulePath];
    let copy: typeof import("./errors");
    try {
      copy = require("./errors") as typeof import("./errors");
    } finally {
      require.cache[modulePath] = cached;
    }
    assert.notEqual(copy.LibvirtError, LibvirtError, "the test needs a second copy of the module");

    const foreignLibvirtError = new copy.LibvirtError({ code: 43, domain: 19 });
    const foreignConnectionError = new copy.LibvirtConnectionError("lost", { reason: "protocol-violation" });

    assert.ok(foreignLibvirtError instanceof LibvirtError);
    assert.ok(isLibvirtError(foreignLibvirtError));
    assert.ok(foreignConnectionError instanceof LibvirtConnectionError);
    assert.ok(isLibvirtConnectionError(foreignConnectionError));
    assert.ok(!(foreignConnectionError instanceof LibvirtError));
    assert.ok(new LibvirtError({ code: 1, domain: 7 }) instanceof copy.LibvirtError);
  });

  it("give LibvirtConnectionError a default reason and keep the cause", () => {
    const cause = new Error("EPIPE");

    const error = new LibvirtConnectionError("libvirt connection failed: EPIPE", { cause });

    assert.equal(error.reason, "connection-lost");
    assert.equal(error.cause, cause);
  });
});
