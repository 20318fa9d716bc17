import assert from "node:assert/strict";

import { formatForGrpc, parseListenAddress } from "./listen-address";

describe("parseListenAddress", () => {
  it("accepts an absolute UNIX socket path", () => {
    assert.deepEqual(parseListenAddress("unix:///run/netagent/netagent.sock"), { kind: "unix", path: "/run/netagent/netagent.sock" });
  });

  it("accepts loopback TCP addresses", () => {
    assert.deepEqual(parseListenAddress("127.0.0.1:50051"), { kind: "tcp", host: "127.0.0.1", port: 50051 });
    assert.deepEqual(parseListenAddress("[::1]:0"), { kind: "tcp", host: "::1", port: 0 });
    assert.deepEqual(parseListenAddress("localhost:7000"), { kind: "tcp", host: "localhost", port: 7000 });
  });

  it("rejects plaintext TCP beyond loopback", () => {
    assert.throws(() => parseListenAddress("0.0.0.0:50051"), /only allowed on loopback/);
    assert.throws(() => parseListenAddress("192.0.2.10:50051"), /only allowed on loopback/);
  });

  it("rejects relative socket paths and malformed addresses", () => {
    assert.throws(() => parseListenAddress("unix://netagent.sock"), /must be absolute/);
    assert.throws(() => parseListenAddress("127.0.0.1"), /use unix:\/\/\/path\/to\.sock or 127\.0\.0\.1:PORT/);
    assert.throws(() => parseListenAddress("127.0.0.1:70000"), /use unix:/);
  });

  it("formats IPv6 hosts in brackets for grpc-js", () => {
    assert.equal(formatForGrpc({ kind: "tcp", host: "::1", port: 5 }), "[::1]:5");
  });
});
