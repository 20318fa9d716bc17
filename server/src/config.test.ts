import assert from "node:assert/strict";

import { loadConfig } from "./config";

describe("loadConfig", () => {
  it("defaults the subnet pool to 10.100.0.0/16", () => {
    const config = loadConfig([], {});

    assert.ok(config !== "help");
    assert.equal(config.subnetPool.toString(), "10.100.0.0/16");
  });

  it("takes the subnet pool from the flag before the environment", () => {
    const fromEnv = loadConfig([], { NETAGENT_SUBNET_POOL: "10.200.0.0/16" });
    const fromFlag = loadConfig(["--subnet-pool", "172.20.0.0/20"], { NETAGENT_SUBNET_POOL: "10.200.0.0/16" });

    assert.ok(fromEnv !== "help" && fromFlag !== "help");
    assert.equal(fromEnv.subnetPool.toString(), "10.200.0.0/16");
    assert.equal(fromFlag.subnetPool.toString(), "172.20.0.0/20");
  });

  it("rejects an invalid subnet pool naming the flag", () => {
    assert.throws(() => loadConfig(["--subnet-pool", "10.100.0.1/16"], {}), /^Error: invalid --subnet-pool: invalid subnet pool "10\.100\.0\.1\/16": use an IPv4 subnet/);
  });
});
