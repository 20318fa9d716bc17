#!/usr/bin/env node
// A gRPC server that returns one fixed response to GetNetwork and does
// nothing else: the floor that any gRPC agent on the same stack pays per call.
//
//   node echo-server.js --stack STACK --listen unix:///PATH --response FILE
//
// FILE holds a GetNetworkResponse in the proto3 JSON mapping, normally the
// agent's own answer, so every server sends a message of the same size.
// STACK is one of:
//   grpc-js           a plain @grpc/grpc-js Server that sends the response
//                     encoded once at start-up and never decodes the request
//   nice-grpc         nice-grpc's createServer() with no middleware, which
//                     decodes each request and encodes the response with
//                     ts-proto, as the agent's server does
//   agent-middleware  nice-grpc with the agent's own middleware (call log,
//                     error details, status mapping), logging one JSON line
//                     per call to stdout with pino as the agent does
// Prints "serving" on stderr once it listens; stops on SIGTERM.
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { parseArgs } from "node:util";

import * as grpc from "@grpc/grpc-js";
import { GetNetworkResponse, NetworkServiceDefinition } from "@netagent/proto";
import { createAgentServerBase } from "@netagent/server/dist/grpc/server";
import { createServer, ServerError, Status } from "nice-grpc";
import pino from "pino";

const GET_NETWORK_PATH = "/netagent.v1.NetworkService/GetNetwork";

interface Stoppable {
  stop(): Promise<void>;
}

async function startGrpcJs(address: string, response: GetNetworkResponse): Promise<Stoppable> {
  const encoded = Buffer.from(GetNetworkResponse.encode(response).finish());
  const identity = (bytes: Buffer) => bytes;
  const server = new grpc.Server();
  server.addService(
    {
      getNetwork: {
        path: GET_NETWORK_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    { getNetwork: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, encoded) },
  );
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
  return { stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

async function startNiceGrpc(address: string, response: GetNetworkResponse, withAgentMiddleware: boolean): Promise<Stoppable> {
  const unimplemented = async (): Promise<never> => {
    throw new ServerError(Status.UNIMPLEMENTED, "the echo server implements only GetNetwork");
  };
  // The agent's own interceptor and middleware, with the agent's default logger settings.
  const server = withAgentMiddleware
    ? createAgentServerBase({ logger: pino({ level: "info", base: { service: "netagent" } }) })
    : createServer();
  const methods = Object.fromEntries(Object.keys(NetworkServiceDefinition.methods).map((name) => [name, unimplemented]));
  server.add(NetworkServiceDefinition, { ...methods, getNetwork: async () => response } as never);
  await server.listen(address);
  return { stop: () => server.shutdown() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stack: { type: "string" }, listen: { type: "string" }, response: { type: "string" } },
  });
  const { stack, listen, response: responseFile } = values;
  if (listen === undefined || !listen.startsWith("unix://") || responseFile === undefined) {
    throw new Error("usage: echo-server.js --stack grpc-js|nice-grpc|agent-middleware --listen unix:///PATH --response FILE");
  }
  const response = GetNetworkResponse.fromJSON(JSON.parse(readFileSync(responseFile, "utf8")));
  await rm(listen.slice("unix://".length), { force: true });

  let server: Stoppable;
  if (stack === "grpc-js") {
    server = await startGrpcJs(listen, response);
  } else if (stack === "nice-grpc" || stack === "agent-middleware") {
    server = await startNiceGrpc(listen, response, stack === "agent-middleware");
  } else {
    throw new Error(`invalid --stack ${JSON.stringify(stack)}: use grpc-js, nice-grpc or agent-middleware`);
  }
  process.stderr.write("serving\n");

  process.once("SIGTERM", () => {
    void server.stop().then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`echo-server: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
