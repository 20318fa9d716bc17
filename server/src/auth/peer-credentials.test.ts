import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { readPeerCredentials } from "./peer-credentials";

describe("readPeerCredentials", () => {
  it("reads the peer's pid, uid, gid and supplementary groups", async () => {
    const dir = await mkdtemp(join(tmpdir(), "netagent-peercred-"));
    const path = join(dir, "test.sock");
    const server = createServer();
    const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
    server.listen(path);
    await once(server, "listening");

    // setpriv gives the client process supplementary groups that this one lacks.
    const client = spawn("setpriv", ["--groups", "4,27", process.execPath, "-e", `require("net").connect(${JSON.stringify(path)}); setTimeout(() => {}, 10000)`], { stdio: "ignore" });
    try {
      const socket = await accepted;
      const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;

      const credentials = readPeerCredentials(fd);

      assert.equal(credentials.pid, client.pid);
      assert.equal(credentials.uid, process.getuid!());
      assert.equal(credentials.gid, process.getgid!());
      assert.deepEqual(credentials.groups, [4, 27]);
      socket.destroy();
    } finally {
      client.kill();
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("throws for a descriptor that is not a socket", () => {
    assert.throws(() => readPeerCredentials(0xffff), /SO_PEERCRED.*errno 9/);
  });
});
