import assert from "node:assert/strict";

import { describeIdentity, IdentityRule, PeerIdentity, roleCovers, roleOf } from "./roles";

const rules: IdentityRule[] = [
  { role: "admin", uids: [0], gids: [], commonNames: [], sans: [] },
  { role: "operator", uids: [], gids: [990], commonNames: ["control-plane"], sans: [] },
  { role: "reader", uids: [1000], gids: [], commonNames: [], sans: ["URI:spiffe://example.net/dashboard", "DNS:cp.example.net"] },
];

const unix = (uid: number, gid: number, groups: number[] = []): PeerIdentity => ({ kind: "unix", uid, gid, groups, pid: 1 });
const certificate = (commonName: string | undefined, sans: string[] = []): PeerIdentity => ({ kind: "certificate", address: "127.0.0.1:1", commonName, sans });

describe("roleOf", () => {
  it("matches a UNIX peer by uid", () => {
    assert.equal(roleOf(unix(0, 0), rules), "admin");
  });

  it("matches a UNIX peer by primary group", () => {
    assert.equal(roleOf(unix(2000, 990), rules), "operator");
  });

  it("matches a UNIX peer by supplementary group", () => {
    assert.equal(roleOf(unix(2000, 2000, [990]), rules), "operator");
  });

  it("gives the highest of several matching roles", () => {
    assert.equal(roleOf(unix(1000, 990), rules), "operator");
  });

  it("gives no role to an unmapped UNIX peer", () => {
    assert.equal(roleOf(unix(2000, 2000, [2001]), rules), undefined);
  });

  it("matches a loopback TCP peer by uid only", () => {
    assert.equal(roleOf({ kind: "tcp", address: "127.0.0.1:5", uid: 1000 }, rules), "reader");
    assert.equal(roleOf({ kind: "tcp", address: "127.0.0.1:5" }, rules), undefined);
  });

  it("matches a certificate by common name", () => {
    assert.equal(roleOf(certificate("control-plane"), rules), "operator");
  });

  it("matches a certificate by subject alternative name", () => {
    assert.equal(roleOf(certificate(undefined, ["DNS:other", "URI:spiffe://example.net/dashboard"]), rules), "reader");
  });

  it("gives no role to an unmapped certificate", () => {
    assert.equal(roleOf(certificate("stranger", ["DNS:stranger.example.net"]), rules), undefined);
  });

  it("gives no role to an unknown peer", () => {
    assert.equal(roleOf({ kind: "unknown", reason: "test" }, rules), undefined);
  });
});

describe("roleCovers", () => {
  it("orders reader, operator, admin", () => {
    assert.equal(roleCovers("admin", "operator"), true);
    assert.equal(roleCovers("operator", "operator"), true);
    assert.equal(roleCovers("reader", "operator"), false);
  });
});

describe("describeIdentity", () => {
  it("names a UNIX peer's uid", () => {
    assert.equal(describeIdentity(unix(1000, 100)), "uid 1000 (gid 100, pid 1)");
  });

  it("names a certificate's subject names", () => {
    assert.equal(describeIdentity(certificate("cp", ["DNS:cp.example.net"])), "certificate CN=cp, DNS:cp.example.net (127.0.0.1:1)");
  });
});
