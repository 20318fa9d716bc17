import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

import { createNetAgentClient, NetAgentClient, NetAgentError, NetworkServiceDefinition, NetworkType, Status } from "@netagent/client";
import { ChannelCredentials, ClientError, createChannel, createClient } from "nice-grpc";

import { RunningAgent, startAgent } from "./agent";
import { CertificateFiles, TestCa } from "./certificates";
import { deviceExists } from "./host-state";
import { Sandbox, startSandbox } from "./sandbox";

const runFile = promisify(execFile);

/** The SDK as a process running as another user loads it from here. */
const CLIENT_PACKAGE = resolve(__dirname, "../../client/dist/index.js");

/** Awaits a call that must fail and returns its error with code and message. */
async function failure(call: Promise<unknown>): Promise<{ code: Status; details: string }> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof NetAgentError || error instanceof ClientError, `expected a gRPC error, got ${String(error)}`);
    return { code: error.code, details: error.details };
  }
  assert.fail("expected the call to fail");
}

describe("security", function () {
  this.timeout(120_000);

  let sandbox: Sandbox;
  let dir: string;
  let ca: TestCa;
  let otherCa: TestCa;
  let server: CertificateFiles;
  let operator: CertificateFiles;
  let reader: CertificateFiles;
  let stranger: CertificateFiles;
  let tlsAgent: RunningAgent;
  let auditLog: string;
  const clients: NetAgentClient[] = [];

  /** Creates an SDK client for the TLS agent with the given client certificate. */
  function tlsClient(certificate: CertificateFiles, caCert: Buffer): NetAgentClient {
    const client = createNetAgentClient({
      address: tlsAgent.address,
      defaultDeadlineMs: 20_000,
      retry: false,
      tls: { ca: caCert, cert: certificate.cert, key: certificate.key, serverName: "localhost" },
    });
    clients.push(client);
    return client;
  }

  before(async () => {
    sandbox = await startSandbox({ name: "security" });
    dir = await mkdtemp(join(tmpdir(), "netagent-security-"));
    ca = await TestCa.create(dir, "netagent-test-ca");
    otherCa = await TestCa.create(dir, "other-ca");
    server = await ca.issue("netagent-agent", { usage: "server", sans: ["DNS:localhost", "IP:127.0.0.1"] });
    operator = await ca.issue("control-plane", { usage: "client", sans: ["URI:spiffe://example.net/control-plane"] });
    reader = await ca.issue("dashboard", { usage: "client" });
    stranger = await ca.issue("stranger", { usage: "client", sans: ["DNS:stranger.example.net"] });

    const config = join(dir, "netagent.yaml");
    await writeFile(
      config,
      [
        "identities:",
        "  - role: operator",
        '    sans: ["URI:spiffe://example.net/control-plane"]',
        "  - role: reader",
        "    common-names: [dashboard]",
        "protected-networks: [infra-*]",
        "",
      ].join("\n"),
    );
    auditLog = join(dir, "audit", "audit.log");
    tlsAgent = await startAgent(sandbox, {
      name: "tls",
      hostNamespace: true,
      listen: "127.0.0.1:0",
      args: ["--config", config, "--tls-cert", server.certFile, "--tls-key", server.keyFile, "--tls-client-ca", ca.certFile, "--audit-log", auditLog],
    });
  });

  after(async () => {
    for (const client of clients) {
      client.close();
    }
    await tlsAgent?.stop();
    await sandbox?.stop();
    if (dir) {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe("mutual TLS", () => {
    it("serves a client with a trusted certificate", async () => {
      const response = await tlsClient(operator, await ca.cert()).networks.listNetworks({});
      assert.deepEqual(response.networks, []);
    });

    it("serves netagentctl with --tls options", async () => {
      const cli = resolve(__dirname, "../../client/dist/cli/main.js");
      const { stdout } = await runFile(
        process.execPath,
        [cli, "--address", tlsAgent.address, "--tls-ca", ca.certFile, "--tls-cert", reader.certFile, "--tls-key", reader.keyFile, "--json", "network", "list"],
        { timeout: 60_000 },
      );
      assert.ok(Array.isArray(JSON.parse(stdout)));
    });

    it("rejects a client without a certificate", async () => {
      const channel = createChannel(tlsAgent.address, ChannelCredentials.createSsl(await ca.cert()));
      try {
        const error = await failure(createClient(NetworkServiceDefinition, channel).listNetworks({}, { signal: AbortSignal.timeout(20_000) }));
        assert.equal(error.code, Status.UNAVAILABLE);
      } finally {
        channel.close();
      }
    });

    it("rejects a certificate from another CA", async () => {
      const foreign = await otherCa.issue("control-plane", { usage: "client", sans: ["URI:spiffe://example.net/control-plane"] });
      const error = await failure(tlsClient(foreign, await ca.cert()).networks.listNetworks({}));
      assert.equal(error.code, Status.UNAVAILABLE);
    });

    it("rejects an expired certificate", async () => {
      const expired = await ca.issue("control-plane", { usage: "client", sans: ["URI:spiffe://example.net/control-plane"], expired: true });
      const error = await failure(tlsClient(expired, await ca.cert()).networks.listNetworks({}));
      assert.equal(error.code, Status.UNAVAILABLE);
    });

    it("rejects a plaintext client", async () => {
      const client = createNetAgentClient({ address: tlsAgent.address, defaultDeadlineMs: 5_000, retry: false });
      clients.push(client);
      const error = await failure(client.networks.listNetworks({}));
      assert.equal(error.code, Status.UNAVAILABLE);
    });

    it("keeps serving after rejected handshakes", async () => {
      const response = await tlsClient(reader, await ca.cert()).networks.listNetworks({});
      assert.ok(Array.isArray(response.networks));
    });
  });

  describe("roles", () => {
    it("lets a reader list but not create", async () => {
      const client = tlsClient(reader, await ca.cert());
      await client.networks.listNetworks({});

      const error = await failure(client.networks.createNetwork({
        network: { name: "reader-net", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.81.0.1/24", dhcpRanges: [] } },
      }));

      assert.equal(error.code, Status.PERMISSION_DENIED);
      assert.match(error.details, /^CreateNetwork needs the operator role; certificate CN=dashboard \(127\.0\.0\.1:\d+\) has the reader role$/);
      assert.equal((await sandbox.virsh(["net-list", "--all", "--name"])).includes("reader-net"), false);
    });

    it("rejects a trusted certificate that has no role", async () => {
      const error = await failure(tlsClient(stranger, await ca.cert()).networks.listNetworks({}));
      assert.equal(error.code, Status.PERMISSION_DENIED);
      assert.match(error.details, /ListNetworks needs the reader role, and certificate CN=stranger, DNS:stranger\.example\.net .* has no role/);
    });

    it("lets an operator create and delete a network", async () => {
      const client = tlsClient(operator, await ca.cert());
      await client.networks.createNetwork({
        network: { name: "ops-net", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.82.0.1/24", dhcpRanges: [] } },
      });
      await client.networks.deleteNetwork({ name: "ops-net" });
      assert.equal((await sandbox.virsh(["net-list", "--all", "--name"])).includes("ops-net"), false);
    });
  });

  describe("protected networks", () => {
    before(async () => {
      await tlsClient(operator, await ca.cert()).networks.createNetwork({
        network: { name: "infra-mgmt", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.83.0.1/24", dhcpRanges: [] } },
      });
    });

    it("cannot be deleted by an operator", async () => {
      const error = await failure(tlsClient(operator, await ca.cert()).networks.deleteNetwork({ name: "infra-mgmt" }));

      assert.equal(error.code, Status.PERMISSION_DENIED);
      assert.equal(error.details, 'network "infra-mgmt" is protected by the rule "infra-*" in protected-networks, so DeleteNetwork is not allowed on it; remove the rule from the agent\'s configuration to change the network through the agent');
      assert.match(await sandbox.virsh(["net-list", "--all", "--name"]), /^infra-mgmt$/m);
    });

    it("cannot be stopped", async () => {
      const error = await failure(tlsClient(operator, await ca.cert()).networks.stopNetwork({ name: "infra-mgmt" }));

      assert.equal(error.code, Status.PERMISSION_DENIED);
      const { network } = await tlsClient(reader, await ca.cert()).networks.getNetwork({ name: "infra-mgmt" });
      assert.equal(network?.active, true);
      assert.equal(await deviceExists(sandbox, network!.bridge), true);
    });
  });

  describe("audit log", () => {
    it("has one record per mutating call with identity, target and result", async () => {
      const records = (await readFile(auditLog, "utf8")).trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      const deletes = records.filter((record) => record.method === "/netagent.v1.NetworkService/DeleteNetwork");

      const allowed = deletes.find((record) => record.target === "ops-net");
      assert.ok(allowed, `no DeleteNetwork record for ops-net in ${JSON.stringify(records)}`);
      assert.equal(allowed.code, "OK");
      assert.equal(allowed.role, "operator");
      assert.match(String(allowed.caller), /^certificate CN=control-plane, URI:spiffe:\/\/example\.net\/control-plane /);
      assert.equal(typeof allowed.durationMs, "number");

      const denied = deletes.find((record) => record.target === "infra-mgmt");
      assert.equal(denied?.code, "PERMISSION_DENIED");

      const readerCreate = records.find((record) => record.target === "reader-net");
      assert.equal(readerCreate?.code, "PERMISSION_DENIED");
      assert.equal(readerCreate?.role, "reader");

      assert.equal(records.some((record) => String(record.method).endsWith("/ListNetworks")), false);
    });
  });

  describe("UNIX socket peers", () => {
    let unixAgent: RunningAgent;
    let socketDir: string;

    before(async () => {
      // The peers below run as uid 65534, so every folder on the way to the
      // socket must let them through, and a folder under TMPDIR may not.
      socketDir = await mkdtemp("/tmp/netagent-socket-");
      await chmod(socketDir, 0o711);
      const config = join(dir, "unix.yaml");
      await writeFile(config, ["identities:", "  - role: admin", "    users: [0]", "  - role: reader", "    groups: [4242]", ""].join("\n"));
      unixAgent = await startAgent(sandbox, { name: "unix", listen: `unix://${join(socketDir, "agent.sock")}`, args: ["--config", config, "--socket-group", "65534"] });
    });

    after(async () => {
      await unixAgent?.stop();
      await rm(socketDir, { recursive: true, force: true });
    });

    /**
     * Runs one SDK call in a process with the given ids and returns its result
     * or its error. The process loads the SDK as root and then drops to the
     * ids before the channel connects, so that the repository need not be
     * readable by those ids.
     */
    async function callAs(ids: { uid: number; gid: number; groups: number[] }, call: "list" | "create"): Promise<{ ok?: boolean; code?: number; details?: string }> {
      const script = `
        const { createNetAgentClient, NetworkType } = require(${JSON.stringify(CLIENT_PACKAGE)});
        const agent = createNetAgentClient({ address: ${JSON.stringify(unixAgent.address)}, defaultDeadlineMs: 20000, retry: false });
        process.setgroups(${JSON.stringify(ids.groups)});
        process.setgid(${ids.gid});
        process.setuid(${ids.uid});
        const call = ${JSON.stringify(call)} === "list"
          ? agent.networks.listNetworks({})
          : agent.networks.createNetwork({ network: { name: "peer-net", type: NetworkType.NETWORK_TYPE_ISOLATED, ipv4: { address: "10.84.0.1/24", dhcpRanges: [] } } });
        call.then(
          () => console.log(JSON.stringify({ ok: true })),
          (error) => console.log(JSON.stringify({ code: error.code, details: error.details })),
        ).finally(() => agent.close());
      `;
      const { stdout } = await runFile(process.execPath, ["-e", script], { cwd: "/", timeout: 60_000 });
      return JSON.parse(stdout.trim().split("\n").pop()!) as { ok?: boolean; code?: number; details?: string };
    }

    it("gets mode 0660 and the configured group", async () => {
      const info = await stat(join(socketDir, "agent.sock"));
      assert.equal(info.mode & 0o777, 0o660);
      assert.equal(info.uid, 0);
      assert.equal(info.gid, 65534);
    });

    it("rejects a peer with an unmapped uid", async () => {
      const result = await callAs({ uid: 65534, gid: 65534, groups: [] }, "list");

      assert.equal(result.code, Status.PERMISSION_DENIED);
      assert.match(result.details ?? "", /^ListNetworks needs the reader role, and uid 65534 \(gid 65534, pid \d+\) has no role/);
    });

    it("gives a peer the role of its supplementary group", async () => {
      const list = await callAs({ uid: 65534, gid: 65534, groups: [4242] }, "list");
      assert.deepEqual(list, { ok: true });

      const create = await callAs({ uid: 65534, gid: 65534, groups: [4242] }, "create");
      assert.equal(create.code, Status.PERMISSION_DENIED);
      assert.match(create.details ?? "", /CreateNetwork needs the operator role; uid 65534 .* has the reader role/);
    });
  });
});
