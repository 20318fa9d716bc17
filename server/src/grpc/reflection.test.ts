import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { DESCRIPTOR_SET_PATH } from "@netagent/proto";
import { createChannel, createClient } from "nice-grpc";
import { ServerReflectionService } from "nice-grpc-server-reflection";
import { ServerReflectionRequest, ServerReflectionResponse } from "nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb";
import { FileDescriptorProto } from "google-protobuf/google/protobuf/descriptor_pb";
import pino from "pino";

import { LibvirtSession } from "../libvirt/session";
import { InterfaceManager } from "../interfaces/manager";
import { NetworkManager } from "../networks/manager";
import { createAgentServer, listen } from "./server";

const REPOSITORY = resolve(__dirname, "../../..");

describe("descriptor set", () => {
  it("matches the .proto files", async function () {
    this.timeout(30_000);
    const dir = await mkdtemp(join(tmpdir(), "netagent-descriptor-"));
    try {
      const fresh = join(dir, "fresh.binpb");
      execFileSync(join(REPOSITORY, "node_modules/.bin/buf"), ["build", "-o", fresh], { cwd: REPOSITORY });
      const committed = await readFile(DESCRIPTOR_SET_PATH);
      assert.ok(committed.equals(await readFile(fresh)), "proto/descriptor-set.binpb is out of date: run `npm run gen` and commit the result");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("server reflection", () => {
  let dir: string;
  let server: ReturnType<typeof createAgentServer>;
  let address: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "netagent-reflection-"));
    const session = new LibvirtSession({ socketPath: join(dir, "no-libvirtd.sock") });
    server = createAgentServer({
      manager: new NetworkManager(session),
      interfaces: new InterfaceManager(session, pino({ level: "silent" })),
      logger: pino({ level: "silent" }),
    });
    address = `unix://${join(dir, "agent.sock")}`;
    await listen(server, { kind: "unix", path: join(dir, "agent.sock") });
  });

  after(async () => {
    await server.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  /** Sends one request on the bidirectional reflection stream and returns the response. */
  async function ask(request: ServerReflectionRequest): Promise<ServerReflectionResponse> {
    const channel = createChannel(address);
    const client = createClient(ServerReflectionService, channel);
    try {
      async function* requests() {
        yield request;
      }
      for await (const response of client.serverReflectionInfo(requests())) {
        return response;
      }
      assert.fail("the reflection stream ended without a response");
    } finally {
      channel.close();
    }
  }

  it("lists the netagent services", async () => {
    const request = new ServerReflectionRequest();
    request.setListServices("*");

    const response = await ask(request);

    const names = response.getListServicesResponse()!.getServiceList().map((service) => service.getName());
    assert.deepEqual(names.sort(), ["netagent.v1.EventService", "netagent.v1.HostService", "netagent.v1.InterfaceService", "netagent.v1.NetworkService"]);
  });

  it("returns the file that defines NetworkService", async () => {
    const request = new ServerReflectionRequest();
    request.setFileContainingSymbol("netagent.v1.NetworkService");

    const response = await ask(request);

    const files = response.getFileDescriptorResponse()!.getFileDescriptorProtoList_asU8().map((bytes) => FileDescriptorProto.deserializeBinary(bytes));
    const serviceFile = files.find((file) => file.getName() === "netagent/v1/network_service.proto");
    assert.ok(serviceFile, `files returned: ${files.map((file) => file.getName()).join(", ")}`);
    const methods = serviceFile.getServiceList()[0].getMethodList().map((method) => method.getName());
    assert.ok(methods.includes("CreateNetwork"), `methods: ${methods.join(", ")}`);
  });

  it("reports an unknown symbol as NOT_FOUND", async () => {
    const request = new ServerReflectionRequest();
    request.setFileContainingSymbol("netagent.v1.NoSuchService");

    const response = await ask(request);

    assert.equal(response.getErrorResponse()?.getErrorCode(), 5);
  });
});
