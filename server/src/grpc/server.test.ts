import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";

import { credentials, Metadata as GrpcMetadata, makeGenericClientConstructor } from "@grpc/grpc-js";
import { NetworkServiceClient, NetworkServiceDefinition } from "@netagent/proto";
import { ClientError, createChannel, createClient, Metadata, Server, Status } from "nice-grpc";
import { HealthCheckResponse_ServingStatus, HealthDefinition } from "nice-grpc-server-health/lib/proto/grpc/health/v1/health";
import pino from "pino";

import { ProtectedNetworks } from "../auth/protection";
import { IdentityRule, Role } from "../auth/roles";
import { LibvirtSession } from "../libvirt/session";
import { InterfaceManager } from "../interfaces/manager";
import { NetworkManager } from "../networks/manager";
import { createAgentServer, listen } from "./server";

/** A server on a UNIX socket whose libvirtd does not exist, so every authorized call ends in UNAVAILABLE. */
interface TestServer {
  address: string;
  socketPath: string;
  networks: NetworkServiceClient;
  auditRecords: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

const ROOT_AS = (role: Role): IdentityRule[] => [{ role, uids: [process.getuid!()], gids: [], commonNames: [], sans: [] }];

async function startServer(options: { identities: IdentityRule[]; protectedNetworks?: string[]; socketMode?: number; socketGroup?: number }): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), "netagent-grpc-"));
  const socketPath = join(dir, "agent.sock");
  const session = new LibvirtSession({ socketPath: join(dir, "no-libvirtd.sock") });
  const auditRecords: Array<Record<string, unknown>> = [];
  const auditStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      auditRecords.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const server: Server = createAgentServer({
    manager: new NetworkManager(session),
    interfaces: new InterfaceManager(session, pino({ level: "silent" })),
    logger: pino({ level: "silent" }),
    identities: options.identities,
    protectedNetworks: new ProtectedNetworks(options.protectedNetworks ?? []),
    auditLogger: pino(auditStream),
  });
  await listen(server, { kind: "unix", path: socketPath }, { socketMode: options.socketMode, socketGroup: options.socketGroup });
  const channel = createChannel(`unix://${socketPath}`);
  return {
    address: `unix://${socketPath}`,
    socketPath,
    networks: createClient(NetworkServiceDefinition, channel),
    auditRecords,
    async close() {
      channel.close();
      await server.shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Awaits a call that must fail and returns its ClientError. */
async function failure(call: Promise<unknown>): Promise<ClientError> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof ClientError, `expected ClientError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

describe("agent server", () => {
  describe("UNIX socket", () => {
    it("gets mode 0660 by default", async () => {
      const server = await startServer({ identities: ROOT_AS("admin") });
      try {
        assert.equal((await stat(server.socketPath)).mode & 0o777, 0o660);
      } finally {
        await server.close();
      }
    });

    it("gets the configured group and mode", async () => {
      const server = await startServer({ identities: ROOT_AS("admin"), socketMode: 0o640, socketGroup: 65534 });
      try {
        const info = await stat(server.socketPath);
        assert.equal(info.mode & 0o777, 0o640);
        assert.equal(info.gid, 65534);
        assert.equal(info.uid, process.getuid!());
      } finally {
        await server.close();
      }
    });
  });

  describe("roles", () => {
    it("lets a reader list", async () => {
      const server = await startServer({ identities: ROOT_AS("reader") });
      try {
        const error = await failure(server.networks.listNetworks({}));
        assert.equal(error.code, Status.UNAVAILABLE);
      } finally {
        await server.close();
      }
    });

    it("denies create to a reader, naming the role needed", async () => {
      const server = await startServer({ identities: ROOT_AS("reader") });
      try {
        const error = await failure(server.networks.createNetwork({ network: { name: "lab" } }));
        assert.equal(error.code, Status.PERMISSION_DENIED);
        assert.match(error.details, /^CreateNetwork needs the operator role; uid 0 \(gid 0, pid \d+\) has the reader role$/);
      } finally {
        await server.close();
      }
    });

    it("denies every method to an unmapped peer", async () => {
      const server = await startServer({ identities: [{ role: "admin", uids: [12345], gids: [], commonNames: [], sans: [] }] });
      try {
        const error = await failure(server.networks.getNetwork({ name: "lab" }));
        assert.equal(error.code, Status.PERMISSION_DENIED);
        assert.match(error.details, /GetNetwork needs the reader role, and uid 0 .* has no role: map it in identities/);
      } finally {
        await server.close();
      }
    });

    it("ignores an identity a client sends in metadata", async () => {
      const server = await startServer({ identities: [{ role: "admin", uids: [12345], gids: [], commonNames: [], sans: [] }] });
      try {
        const forged = Buffer.from(JSON.stringify({ kind: "unix", uid: 12345, gid: 0, groups: [], pid: 1 }));
        const metadata = Metadata({ "netagent-peer-identity-bin": forged });
        const error = await failure(server.networks.getNetwork({ name: "lab" }, { metadata }));
        assert.equal(error.code, Status.PERMISSION_DENIED);
      } finally {
        await server.close();
      }
    });

    it("answers health checks from an unmapped peer", async () => {
      const server = await startServer({ identities: [] });
      try {
        const health = createClient(HealthDefinition, createChannel(server.address));
        const response = await health.check({ service: "" });
        assert.equal(response.status, HealthCheckResponse_ServingStatus.SERVING);
      } finally {
        await server.close();
      }
    });
  });

  describe("protected networks", () => {
    it("rejects delete naming the rule", async () => {
      const server = await startServer({ identities: ROOT_AS("admin"), protectedNetworks: ["default", "mgmt-*"] });
      try {
        const error = await failure(server.networks.deleteNetwork({ name: "mgmt-storage" }));
        assert.equal(error.code, Status.PERMISSION_DENIED);
        assert.equal(error.details, 'network "mgmt-storage" is protected by the rule "mgmt-*" in protected-networks, so DeleteNetwork is not allowed on it; remove the rule from the agent\'s configuration to change the network through the agent');
      } finally {
        await server.close();
      }
    });

    it("rejects stop", async () => {
      const server = await startServer({ identities: ROOT_AS("admin"), protectedNetworks: ["default"] });
      try {
        assert.equal((await failure(server.networks.stopNetwork({ name: "default" }))).code, Status.PERMISSION_DENIED);
      } finally {
        await server.close();
      }
    });

    it("allows reads and other networks", async () => {
      const server = await startServer({ identities: ROOT_AS("admin"), protectedNetworks: ["default"] });
      try {
        assert.equal((await failure(server.networks.getNetwork({ name: "default" }))).code, Status.UNAVAILABLE);
        assert.equal((await failure(server.networks.deleteNetwork({ name: "lab" }))).code, Status.UNAVAILABLE);
      } finally {
        await server.close();
      }
    });
  });

  describe("audit", () => {
    it("records a denied mutating call", async () => {
      const server = await startServer({ identities: ROOT_AS("reader") });
      try {
        await failure(server.networks.deleteNetwork({ name: "lab" }));
        assert.equal(server.auditRecords.length, 1);
        const record = server.auditRecords[0];
        assert.equal(record.method, "/netagent.v1.NetworkService/DeleteNetwork");
        assert.equal(record.target, "lab");
        assert.equal(record.code, "PERMISSION_DENIED");
        assert.equal(record.role, "reader");
        assert.match(String(record.caller), /^uid 0 /);
        assert.equal(typeof record.durationMs, "number");
      } finally {
        await server.close();
      }
    });

    it("records a failed create with its target", async () => {
      const server = await startServer({ identities: ROOT_AS("operator") });
      try {
        await failure(server.networks.createNetwork({ network: { name: "lab", type: 1, ipv4: { address: "10.77.0.1/24", dhcpRanges: [] } } }));
        assert.equal(server.auditRecords.length, 1);
        assert.equal(server.auditRecords[0].target, "lab");
        assert.equal(server.auditRecords[0].code, "UNAVAILABLE");
      } finally {
        await server.close();
      }
    });

    it("skips reads", async () => {
      const server = await startServer({ identities: ROOT_AS("operator") });
      try {
        await failure(server.networks.listNetworks({}));
        assert.equal(server.auditRecords.length, 0);
      } finally {
        await server.close();
      }
    });
  });

  describe("undecodable requests", () => {
    it("get INVALID_ARGUMENT instead of INTERNAL", async () => {
      const server = await startServer({ identities: ROOT_AS("admin") });
      const Client = makeGenericClientConstructor({}, "raw");
      const client = new Client(server.address, credentials.createInsecure());
      try {
        // Field 1 with wire type 7, which does not exist.
        const garbage = Buffer.from([0x0f, 0xff, 0xff]);
        const status = await new Promise<{ code: number; details: string }>((resolve) => {
          client.makeUnaryRequest(
            "/netagent.v1.NetworkService/GetNetwork",
            (bytes: Buffer) => bytes,
            (bytes: Buffer) => bytes,
            garbage,
            new GrpcMetadata(),
            (error) => resolve({ code: error?.code ?? Status.OK, details: error?.details ?? "" }),
          );
        });
        assert.equal(status.code, Status.INVALID_ARGUMENT);
        assert.match(status.details, /^request: not a valid protobuf encoding of the request message of \/netagent\.v1\.NetworkService\/GetNetwork/);
      } finally {
        client.close();
        await server.close();
      }
    });
  });
});
