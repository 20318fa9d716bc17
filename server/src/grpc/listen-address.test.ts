import assert from "node:assert/strict";

import { formatForGrpc, isLoopback, parseListenAddress, parseTcpAddress } from "./listen-address";

describe("parseListenAddress", () => {
  it("accepts an absolute UNIX socket path", () => {
    assert.deepEqual(parseListenAddress("unix:///run/netagent/netagent.sock"), { kind: "unix", path: "/run/netagent/netagent.sock" });
  });

  it("accepts TCP addresses", () => {
    assert.deepEqual(parseListenAddress("127.0.0.1:50051"), { kind: "tcp", host: "127.0.0.1", port: 50051 });
    assert.deepEqual(parseListenAddress("[::1]:0"), { kind: "tcp", host: "::1", port: 0 });
    assert.deepEqual(parseListenAddress("localhost:7000"), { kind: "tcp", host: "localhost", port: 7000 });
    assert.deepEqual(parseListenAddress("0.0.0.0:50051"), { kind: "tcp", host: "0.0.0.0", port: 50051 });
  });

  it("rejects relative socket paths and malformed addresses", () => {
    assert.throws(() => parseListenAddress("unix://netagent.sock"), /must be absolute/);
    assert.throws(() => parseListenAddress("127.0.0.1"), /use unix:\/\/\/path\/to\.sock or HOST:PORT/);
    assert.throws(() => parseListenAddress("127.0.0.1:70000"), /use unix:/);
    assert.throws(() => parseListenAddress("[example]:80"), /use unix:/);
  });

  it("names the option in errors", () => {
    assert.throws(() => parseTcpAddress("nowhere", "--metrics-listen"), /^Error: invalid --metrics-listen "nowhere": use HOST:PORT/);
  });

  it("formats IPv6 hosts in brackets for grpc-js", () => {
    assert.equal(formatForGrpc({ kind: "tcp", host: "::1", port: 5 }), "[::1]:5");
  });
});

describe("isLoopback", () => {
  it("accepts 127.0.0.0/8, ::1 and localhost", () => {
    assert.equal(isLoopback("127.0.0.1"), true);
    assert.equal(isLoopback("127.8.9.10"), true);
    assert.equal(isLoopback("::1"), true);
    assert.equal(isLoopback("localhost"), true);
  });

  it("rejects other addresses", () => {
    assert.equal(isLoopback("0.0.0.0"), false);
    assert.equal(isLoopback("192.0.2.10"), false);
    assert.equal(isLoopback("::"), false);
    assert.equal(isLoopback("example.net"), false);
  });
});
