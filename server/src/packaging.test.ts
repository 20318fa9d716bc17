import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { AgentConfig, loadConfig } from "./config";

const PACKAGING = resolve(__dirname, "../../packaging");

describe("packaging", () => {
  it("ships an example configuration that loads", () => {
    const config = loadConfig(["--config", join(PACKAGING, "netagent.yaml")], {}) as AgentConfig;

    assert.deepEqual(config.listen, { kind: "unix", path: "/run/netagent/netagent.sock" });
    assert.equal(config.socketMode, 0o660);
    assert.deepEqual(config.metricsListen, { kind: "tcp", host: "127.0.0.1", port: 9464 });
    assert.deepEqual(config.identities, [{ role: "admin", uids: [0], gids: [], commonNames: [], sans: [] }]);
    assert.deepEqual(config.protectedNetworks, ["default", "mgmt-*"]);
  });

  it("ships a systemd unit whose options the agent accepts", () => {
    const unit = readFileSync(join(PACKAGING, "netagent.service"), "utf8");
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1];
    assert.ok(execStart, "the unit has no ExecStart");
    const [launcher, ...args] = execStart.split(" ");
    assert.equal(launcher, "/opt/netagent/server/bin/netagent");

    const configIndex = args.indexOf("--config");
    assert.equal(args[configIndex + 1], "/etc/netagent/netagent.yaml");
    args[configIndex + 1] = join(PACKAGING, "netagent.yaml");
    assert.notEqual(loadConfig(args, {}), "help");
  });

  it("creates the folders the example configuration uses", () => {
    const unit = readFileSync(join(PACKAGING, "netagent.service"), "utf8");
    assert.match(unit, /^RuntimeDirectory=netagent$/m);
    assert.match(unit, /^LogsDirectory=netagent$/m);
  });
});
