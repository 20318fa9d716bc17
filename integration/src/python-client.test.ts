import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { RunningAgent, startAgent } from "./agent";
import { interfaceIpv4 } from "./host-state";
import { Sandbox, startSandbox } from "./sandbox";

const PYTHON_DIR = resolve(__dirname, "../python");

// Debian's interpreter, because python3-grpcio and python3-grpc-tools are installed for it; a
// python3 earlier in PATH (pyenv, a virtualenv) does not see them.
const PYTHON = "/usr/bin/python3";

interface PythonResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a script from integration/python with the generated stubs on PYTHONPATH; resolves with any exit code. */
function python(script: string, args: string[], stubsDir: string): Promise<PythonResult> {
  return new Promise((resolvePromise, reject) => {
    const env = { ...process.env, PYTHONPATH: stubsDir, PYTHONDONTWRITEBYTECODE: "1" };
    execFile(PYTHON, [join(PYTHON_DIR, script), ...args], { env, timeout: 60_000, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error === null) {
        resolvePromise({ code: 0, stdout, stderr });
      } else if (typeof error.code === "number") {
        resolvePromise({ code: error.code, stdout, stderr });
      } else {
        reject(new Error(`${script} ${args.join(" ")} failed: ${error.message}\n${stderr}`));
      }
    });
  });
}

describe("Python client", function () {
  this.timeout(120_000);

  let sandbox: Sandbox;
  let agent: RunningAgent;
  let stubsDir: string;

  const client = (args: string[]) => python("netagent_client.py", ["--address", agent.address, ...args], stubsDir);

  before(async () => {
    stubsDir = await mkdtemp(join(tmpdir(), "netagent-python-"));
    sandbox = await startSandbox({ name: "python" });
    agent = await startAgent(sandbox);
  });

  after(async () => {
    await agent?.stop();
    await sandbox?.stop();
    await rm(stubsDir, { recursive: true, force: true });
  });

  it("generates stubs with grpc_tools", async () => {
    const result = await python("generate_stubs.py", [stubsDir], stubsDir);

    assert.equal(result.code, 0, result.stderr);
    for (const module of ["network_pb2.py", "network_service_pb2.py", "network_service_pb2_grpc.py"]) {
      assert.ok(existsSync(join(stubsDir, "netagent", "v1", module)), `${module} was not generated`);
    }
  });

  it("creates a network", async () => {
    const result = await client(["create", "py-lab", "--type", "isolated", "--host-address", "10.78.0.1/24", "--dhcp-range", "10.78.0.10-10.78.0.99"]);

    assert.equal(result.code, 0, result.stderr);
    const { network } = JSON.parse(result.stdout);
    assert.equal(network.name, "py-lab");
    assert.equal(network.type, "NETWORK_TYPE_ISOLATED");
    assert.equal(network.active, true);
    assert.deepEqual(network.ipv4.dhcpRanges, [{ start: "10.78.0.10", end: "10.78.0.99" }]);
    assert.deepEqual(await interfaceIpv4(sandbox, network.bridge), ["10.78.0.1/24"]);
  });

  it("lists the network", async () => {
    const result = await client(["list"]);

    assert.equal(result.code, 0, result.stderr);
    const { networks } = JSON.parse(result.stdout);
    assert.deepEqual(
      networks.map((network: { name: string }) => network.name),
      ["py-lab"],
    );
  });

  it("exits with INVALID_ARGUMENT's code", async () => {
    const result = await client(["create", "py-bad", "--type", "isolated", "--host-address", "10.78.1.0/24"]);

    assert.equal(result.code, 3);
    assert.match(result.stderr, /^netagent_client: INVALID_ARGUMENT: network\.ipv4\.address: /);
  });

  it("deletes the network", async () => {
    const deleted = await client(["delete", "py-lab"]);
    const fetched = await client(["get", "py-lab"]);

    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(fetched.code, 5, fetched.stderr);
    assert.equal((await sandbox.virsh(["net-list", "--all", "--name"])).trim(), "");
  });
});
