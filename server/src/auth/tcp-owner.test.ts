import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { AddressInfo, createServer, Socket } from "node:net";

import { findTcpPeerOwner } from "./tcp-owner";

/** Accepts one connection from a child process running as `uid` and returns the uid found for it. */
async function ownerOfConnectionFrom(host: string, uid: number): Promise<number | undefined> {
  const server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  server.listen(0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const client = spawn(process.execPath, ["-e", `require("net").connect(${port}, ${JSON.stringify(host)}); setTimeout(() => {}, 10000)`], { uid, cwd: "/", stdio: "ignore" });
  try {
    const socket = await accepted;
    const owner = findTcpPeerOwner({
      localAddress: socket.localAddress!,
      localPort: socket.localPort!,
      remoteAddress: socket.remoteAddress!,
      remotePort: socket.remotePort!,
    });
    socket.destroy();
    return owner;
  } finally {
    client.kill();
    server.close();
  }
}

describe("findTcpPeerOwner", () => {
  it("finds the uid of an IPv4 loopback peer", async () => {
    assert.equal(await ownerOfConnectionFrom("127.0.0.1", 65534), 65534);
  });

  it("finds the uid of an IPv6 loopback peer", async () => {
    assert.equal(await ownerOfConnectionFrom("::1", 65534), 65534);
  });

  it("returns undefined for a connection that does not exist", () => {
    assert.equal(findTcpPeerOwner({ localAddress: "127.0.0.1", localPort: 1, remoteAddress: "127.0.0.1", remotePort: 2 }), undefined);
  });
});
