import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import { create, createFileRegistry, DescField, DescMessage, DescMethod, fromBinary, ScalarType, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Client, credentials, Metadata, ServiceError } from "@grpc/grpc-js";
import { NetAgentClient, NetworkType, readDescriptorSet, Status } from "@netagent/client";
import * as proto from "@netagent/proto";

import { clientFor, RunningAgent, startAgent } from "./agent";
import { Sandbox, startSandbox } from "./sandbox";

// Every RPC of every service that @netagent/proto exports gets invalid,
// empty, oversized and random requests, and each must end in a status other
// than INTERNAL or UNKNOWN without hanging. The run is bounded per RPC in
// count and time, and repeats exactly for a given seed.

const SEED = Number(process.env.NETAGENT_BAD_INPUT_SEED ?? 20240611);
const STRUCTURED_PER_RPC = 60;
const RANDOM_BYTES_PER_RPC = 20;
const TIME_BUDGET_PER_RPC_MS = 20_000;
/** A unary call still running after this is a hang. */
const UNARY_DEADLINE_MS = 30_000;
/** A stream that is open and quiet this long counts as waiting for events, not as hung. */
const STREAM_QUIET_MS = 1_000;
const TEN_MB = 10 * 1024 * 1024;

const FIXTURE_NETWORK = "fixture-lab";

/** Strings that have broken network tools before: control characters, XML, paths, odd Unicode, names that exist. */
const NASTY_STRINGS = [
  "",
  " ",
  "lab\u0000",
  "lab\nnet",
  "\u0007\u0008\u001b[31mred",
  "tab\there",
  "a</name><forward mode='open'/>",
  "<![CDATA[x]]>",
  "&amp;&lt;",
  "'\"<>&",
  "<?xml version='1.0'?><network/>",
  "../../etc/libvirt/qemu/networks/default",
  "lab/28",
  "test net",
  "x".repeat(300),
  "\u202eevil",
  "ネットワーク",
  "😀",
  "\ud800",
  "10.77.0.1/24",
  "10.77.0.0/24",
  "300.1.1.1/24",
  "10.98.0.1/33",
  "::1/128",
  "fuzz-net",
  "fuzz-iso",
  FIXTURE_NETWORK,
  "na-bridge-name-too-long",
  "%s%s%n",
  "${jndi:ldap://x}",
  "after:",
  Buffer.from("after:fuzz").toString("base64url"),
];

const NASTY_INTS = [0, 1, -1, 2, 3, 7, 99, 1000, 2 ** 31 - 1, -(2 ** 31), 65535, 65536];

/**
 * Values that pass validation, used by the "almost valid" messages so that
 * random requests also get past validation and reach libvirt.
 */
const VALID_STRINGS = ["fuzz-net", "fuzz-iso", "10.99.0.1/24", "10.99.0.10", "10.99.0.20", "10.99.0.254", "na-fuzz", "52:54:00:12:34:56", "fuzz.example.net"];

/** Valid values for string fields by field name, where the name says what the field holds. */
const VALID_BY_FIELD: Record<string, string[]> = {
  name: ["fuzz-net", "fuzz-iso"],
  bridge: ["na-fuzz", ""],
  address: ["10.99.0.1/24"],
  start: ["10.99.0.10"],
  end: ["10.99.0.20"],
  mac: ["52:54:00:12:34:56"],
};

/** mulberry32: a small seeded PRNG, so failures repeat with the printed seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Generator {
  /** When set, strings and enums are mostly valid values, with an occasional bad one. */
  almostValid = false;

  constructor(private readonly random: () => number) {}

  int(below: number): number {
    return Math.floor(this.random() * below);
  }

  pick<T>(values: readonly T[]): T {
    return values[this.int(values.length)];
  }

  string(field?: string): string {
    if (this.almostValid && this.random() < 0.9) {
      return this.pick((field === undefined ? undefined : VALID_BY_FIELD[field]) ?? VALID_STRINGS);
    }
    if (this.random() < 0.7) {
      return this.pick(NASTY_STRINGS);
    }
    const length = this.int(40);
    let text = "";
    for (let i = 0; i < length; i++) {
      text += String.fromCharCode(this.random() < 0.8 ? 0x20 + this.int(0x5f) : this.int(0x2000));
    }
    return text;
  }

  scalar(type: ScalarType, field?: string): unknown {
    switch (type) {
      case ScalarType.STRING:
        return this.string(field);
      case ScalarType.BYTES:
        return Uint8Array.from({ length: this.int(64) }, () => this.int(256));
      case ScalarType.BOOL:
        return this.random() < 0.5;
      case ScalarType.DOUBLE:
      case ScalarType.FLOAT:
        return this.pick([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e308]);
      case ScalarType.INT64:
      case ScalarType.SINT64:
      case ScalarType.SFIXED64:
        return this.pick([0n, -1n, 2n ** 63n - 1n, -(2n ** 63n)]);
      case ScalarType.UINT64:
      case ScalarType.FIXED64:
        return this.pick([0n, 1n, 2n ** 64n - 1n]);
      case ScalarType.UINT32:
      case ScalarType.FIXED32:
        return this.pick([0, 1, 100, 2 ** 32 - 1]);
      default:
        return this.pick(NASTY_INTS);
    }
  }

  /** Returns an enum number: a defined value most of the time, otherwise one out of range. */
  enumValue(values: readonly { number: number }[]): number {
    return this.random() < (this.almostValid ? 0.95 : 0.6) ? this.pick(values).number : this.pick([-1, 99, 2 ** 31 - 1, values.length]);
  }

  /** Returns a random init object for create(), with each field set or left out at random. */
  message(desc: DescMessage, depth = 0): Record<string, unknown> {
    const init: Record<string, unknown> = {};
    if (depth > 4) {
      return init;
    }
    const oneofsDone = new Set<string>();
    for (const field of desc.fields) {
      if (this.random() < (this.almostValid ? 0.1 : 0.35)) {
        continue;
      }
      if (field.oneof !== undefined) {
        if (oneofsDone.has(field.oneof.localName)) {
          continue;
        }
        oneofsDone.add(field.oneof.localName);
        init[field.oneof.localName] = { case: field.localName, value: this.single(field, depth) };
        continue;
      }
      init[field.localName] = this.fieldValue(field, depth);
    }
    return init;
  }

  private fieldValue(field: DescField, depth: number): unknown {
    switch (field.fieldKind) {
      case "list": {
        const count = this.random() < 0.05 && !this.almostValid ? 500 : this.int(this.almostValid ? 3 : 5);
        return Array.from({ length: count }, () =>
          field.listKind === "message" ? this.message(field.message, depth + 1) : field.listKind === "enum" ? this.enumValue(field.enum.values) : this.scalar(field.scalar, field.localName),
        );
      }
      case "map": {
        const entries: Record<string, unknown> = {};
        for (let i = this.int(4); i > 0; i--) {
          const key = String(this.scalar(field.mapKey));
          entries[key] = field.mapKind === "message" ? this.message(field.message, depth + 1) : field.mapKind === "enum" ? this.enumValue(field.enum.values) : this.scalar(field.scalar);
        }
        return entries;
      }
      default:
        return this.single(field, depth);
    }
  }

  private single(field: DescField, depth: number): unknown {
    if (field.fieldKind === "message") {
      return this.message(field.message, depth + 1);
    }
    if (field.fieldKind === "enum") {
      return this.enumValue(field.enum.values);
    }
    if (field.fieldKind === "scalar") {
      return this.scalar(field.scalar, field.localName);
    }
    return undefined;
  }
}

/** Sets the first string field found (depth first) to `value`; returns false when the message has none. */
function setSomeString(desc: DescMessage, init: Record<string, unknown>, value: string, depth = 0): boolean {
  for (const field of desc.fields) {
    if (field.fieldKind === "scalar" && field.scalar === ScalarType.STRING && field.oneof === undefined) {
      init[field.localName] = value;
      return true;
    }
  }
  for (const field of desc.fields) {
    if (field.fieldKind === "message" && field.oneof === undefined && depth < 3) {
      const nested: Record<string, unknown> = {};
      if (setSomeString(field.message, nested, value, depth + 1)) {
        init[field.localName] = nested;
        return true;
      }
    }
  }
  return false;
}

/** The RPCs to test: every method of every service definition that @netagent/proto exports. */
function methodsUnderTest(): DescMethod[] {
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readDescriptorSet()));
  const services = (Object.values(proto) as unknown[]).filter((value): value is { fullName: string } => typeof value === "object" && value !== null && "fullName" in value && "methods" in value);
  return services.flatMap((service) => {
    const desc = registry.getService(service.fullName);
    assert.ok(desc, `${service.fullName} is missing from proto/descriptor-set.binpb; run npm run gen`);
    return desc.methods;
  });
}

interface CallResult {
  code: Status;
  details: string;
}

const identity = (bytes: Buffer) => bytes;

/** Sends raw request bytes and resolves with the final status. */
function callRaw(client: Client, method: DescMethod, bytes: Uint8Array): Promise<CallResult> {
  const path = `/${method.parent.typeName}/${method.name}`;
  const request = Buffer.from(bytes);
  if (method.methodKind === "unary") {
    return new Promise((resolve) => {
      client.makeUnaryRequest(path, identity, identity, request, new Metadata(), { deadline: Date.now() + UNARY_DEADLINE_MS }, (error: ServiceError | null) => {
        resolve({ code: error?.code ?? Status.OK, details: error?.details ?? "" });
      });
    });
  }
  if (method.methodKind === "server_streaming") {
    return new Promise((resolve) => {
      const stream = client.makeServerStreamRequest(path, identity, identity, request, new Metadata(), { deadline: Date.now() + UNARY_DEADLINE_MS });
      let settled = false;
      const finish = (result: CallResult) => {
        if (!settled) {
          settled = true;
          clearTimeout(quiet);
          resolve(result);
        }
      };
      // A watch with a valid filter stays open until something happens, so
      // an open, quiet stream counts as a response: it is cancelled and counted OK.
      const quiet = setTimeout(() => {
        finish({ code: Status.OK, details: "stream open and quiet" });
        stream.cancel();
      }, STREAM_QUIET_MS);
      stream.on("data", () => {
        finish({ code: Status.OK, details: "stream sent a message" });
        stream.cancel();
      });
      stream.on("error", (error: ServiceError) => finish({ code: error.code, details: error.details }));
      stream.on("status", (status: { code: Status; details: string }) => finish({ code: status.code, details: status.details }));
    });
  }
  throw new Error(`${path} is ${method.methodKind}; extend this test to send requests for that kind of RPC`);
}

describe("bad input", function () {
  this.timeout(TIME_BUDGET_PER_RPC_MS * 2 + 120_000);

  let sandbox: Sandbox;
  let agent: RunningAgent;
  let sdk: NetAgentClient;
  let raw: Client;
  let initialNetworks: string[];
  let initialLinks: string[];
  const created = new Set<string>();

  async function networkNames(): Promise<string[]> {
    return (await sandbox.virsh(["net-list", "--all", "--name"])).split("\n").filter((line) => line.trim() !== "").sort();
  }

  async function linkNames(): Promise<string[]> {
    const result = await sandbox.exec(["ip", "-o", "link", "show"]);
    return result.stdout.split("\n").filter((line) => line !== "").map((line) => line.split(":")[1].trim().split("@")[0]).sort();
  }

  before(async () => {
    console.log(`      bad-input seed ${SEED} (set NETAGENT_BAD_INPUT_SEED to change it)`);
    sandbox = await startSandbox({ name: "bad-input" });
    const config = join(sandbox.dir, "netagent.yaml");
    await writeFile(config, `protected-networks: ["fixture-*"]\n`);
    agent = await startAgent(sandbox, { args: ["--config", config] });
    sdk = clientFor(agent);
    await sdk.networks.createNetwork({ network: { name: FIXTURE_NETWORK, type: NetworkType.NETWORK_TYPE_NAT, ipv4: { address: "10.96.0.1/24", dhcpRanges: [{ start: "10.96.0.10", end: "10.96.0.20" }] } } });
    initialNetworks = await networkNames();
    initialLinks = await linkNames();
    raw = new Client(agent.address, credentials.createInsecure(), { "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 });
  });

  after(async () => {
    raw?.close();
    sdk?.close();
    await agent?.stop();
    await sandbox?.stop();
  });

  const methods = methodsUnderTest();
  let seedOffset = 0;
  for (const method of methods) {
    const methodSeed = SEED + seedOffset++;

    it(`${method.name} answers every bad request`, async function () {
      this.timeout(TIME_BUDGET_PER_RPC_MS + 4 * UNARY_DEADLINE_MS);
      const generate = new Generator(prng(methodSeed));
      const started = Date.now();
      const failures: string[] = [];
      const codes = new Map<string, number>();

      const check = async (label: string, bytes: Uint8Array, init?: Record<string, unknown>) => {
        const result = await callRaw(raw, method, bytes);
        codes.set(Status[result.code], (codes.get(Status[result.code]) ?? 0) + 1);
        if (result.code === Status.INTERNAL || result.code === Status.UNKNOWN || result.code === Status.DEADLINE_EXCEEDED) {
          failures.push(`${label}: ${Status[result.code]} ${result.details} for ${JSON.stringify(init ?? Buffer.from(bytes.slice(0, 64)).toString("hex"), (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)).slice(0, 400)}`);
        }
        const name = (init?.network as { name?: unknown } | undefined)?.name;
        if (result.code === Status.OK && method.name === "CreateNetwork" && typeof name === "string") {
          created.add(name);
        }
      };

      await check("empty message", new Uint8Array());

      const tenMb = "n".repeat(TEN_MB);
      const oversized: Record<string, unknown> = {};
      await check("10 MB string", setSomeString(method.input, oversized, tenMb) ? toBinary(method.input, create(method.input, oversized)) : new Uint8Array(TEN_MB).fill(0x41));
      const nearLimit: Record<string, unknown> = {};
      if (setSomeString(method.input, nearLimit, "\u0001".repeat(3 * 1024 * 1024))) {
        await check("3 MB control characters", toBinary(method.input, create(method.input, nearLimit)));
      }

      for (let i = 0; i < RANDOM_BYTES_PER_RPC && Date.now() - started < TIME_BUDGET_PER_RPC_MS; i++) {
        const bytes = Uint8Array.from({ length: 1 + generate.int(200) }, () => generate.int(256));
        await check(`random bytes #${i}`, bytes);
      }

      for (let i = 0; i < STRUCTURED_PER_RPC && Date.now() - started < TIME_BUDGET_PER_RPC_MS; i++) {
        generate.almostValid = i % 2 === 1;
        const init = generate.message(method.input);
        await check(`random message #${i}`, toBinary(method.input, create(method.input, init)), init);
      }

      console.log(`        ${method.name}: ${[...codes].map(([code, count]) => `${code} ${count}`).join(", ")} in ${Date.now() - started} ms`);
      assert.deepEqual(failures, [], `seed ${methodSeed}`);
      assert.equal(agent.pid > 0 && process.kill(agent.pid, 0), true, "the agent process is gone");
    });
  }

  it("keeps the agent serving", async () => {
    const { network } = await sdk.networks.getNetwork({ name: FIXTURE_NETWORK });
    assert.equal(network?.active, true);
    const errors = agent.logLines().filter((line) => line.msg === "call" && line.code === "INTERNAL");
    assert.deepEqual(errors, []);
  });

  it("leaves nothing behind in libvirt", async () => {
    const leftovers = (await networkNames()).filter((name) => !initialNetworks.includes(name));
    const unexplained = leftovers.filter((name) => !created.has(name));
    assert.deepEqual(unexplained, [], "networks that no successful CreateNetwork made");

    // Networks that a random but valid request created are removed, and the
    // host must then look as it did before the run.
    for (const name of leftovers) {
      await sdk.networks.deleteNetwork({ name });
    }
    assert.deepEqual(await networkNames(), initialNetworks);
    assert.deepEqual(await linkNames(), initialLinks);
  });
});
