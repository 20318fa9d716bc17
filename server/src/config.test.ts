import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { AgentConfig, loadConfig, USAGE } from "./config";

describe("loadConfig", () => {
  let dir: string;
  let accounts: { passwd: string; group: string };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "netagent-config-"));
    accounts = { passwd: join(dir, "passwd"), group: join(dir, "group") };
    writeFileSync(accounts.passwd, "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n");
    writeFileSync(accounts.group, "root:x:0:\nnetagent:x:990:alice\n");
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes a configuration file and returns its path. */
  function configFile(text: string): string {
    const path = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, text);
    return path;
  }

  function load(argv: string[], env: NodeJS.ProcessEnv = {}): AgentConfig {
    const config = loadConfig(argv, env, { accounts, defaultConfigFile: join(dir, "absent.yaml") });
    assert.notEqual(config, "help");
    return config as AgentConfig;
  }

  describe("defaults", () => {
    it("listens on the UNIX socket with mode 0660", () => {
      const config = load([]);
      assert.deepEqual(config.listen, { kind: "unix", path: "/run/netagent/netagent.sock" });
      assert.equal(config.socketMode, 0o660);
      assert.equal(config.socketGroup, undefined);
    });

    it("makes root admin and nobody else", () => {
      assert.deepEqual(load([]).identities, [{ role: "admin", uids: [0], gids: [], commonNames: [], sans: [] }]);
    });

    it("turns metrics, TLS and the audit file off", () => {
      const config = load([]);
      assert.equal(config.metricsListen, undefined);
      assert.equal(config.tls, undefined);
      assert.equal(config.auditLog, undefined);
    });
  });

  describe("precedence", () => {
    const file = () => configFile("log-level: warn\nlibvirt-uri: test:///default\nlibvirt-socket: /file/sock\n");

    it("takes a flag over the environment and the file", () => {
      assert.equal(load(["--config", file(), "--log-level", "debug"], { NETAGENT_LOG_LEVEL: "error" }).logLevel, "debug");
    });

    it("takes the environment over the file", () => {
      assert.equal(load(["--config", file()], { NETAGENT_LOG_LEVEL: "error" }).logLevel, "error");
    });

    it("takes the file over the default", () => {
      const config = load(["--config", file()]);
      assert.equal(config.logLevel, "warn");
      assert.equal(config.libvirtUri, "test:///default");
      assert.equal(config.libvirtSocket, "/file/sock");
    });

    it("reads the file named by NETAGENT_CONFIG", () => {
      assert.equal(load([], { NETAGENT_CONFIG: file() }).logLevel, "warn");
    });
  });

  describe("configuration file", () => {
    it("reads identities with user and group names", () => {
      const path = configFile(`
identities:
  - role: operator
    users: [alice, 1001]
    groups: [netagent]
  - role: reader
    common-names: [dashboard]
    sans: ["URI:spiffe://example.net/dashboard"]
`);
      assert.deepEqual(load(["--config", path]).identities, [
        { role: "operator", uids: [1000, 1001], gids: [990], commonNames: [], sans: [] },
        { role: "reader", uids: [], gids: [], commonNames: ["dashboard"], sans: ["URI:spiffe://example.net/dashboard"] },
      ]);
    });

    it("reads protected networks", () => {
      assert.deepEqual(load(["--config", configFile("protected-networks: [default, mgmt-*]\n")]).protectedNetworks, ["default", "mgmt-*"]);
    });

    it("rejects an unknown key with the known ones", () => {
      assert.throws(() => load(["--config", configFile("listne: unix:///x\n")]), /unknown key "listne" in .*: use one of audit-log, identities, .*listen/);
    });

    it("rejects an unknown role", () => {
      assert.throws(() => load(["--config", configFile("identities:\n  - role: root\n    users: [root]\n")]), /entry 1: role "root" is not one of reader, operator, admin/);
    });

    it("rejects an unknown user", () => {
      assert.throws(() => load(["--config", configFile("identities:\n  - role: reader\n    users: [bob]\n")]), /unknown user "bob": it is not in .*passwd; use its numeric id instead/);
    });

    it("rejects an entry that matches nobody", () => {
      assert.throws(() => load(["--config", configFile("identities:\n  - role: reader\n")]), /entry 1: it matches nobody/);
    });

    it("rejects a SAN without a type prefix", () => {
      assert.throws(() => load(["--config", configFile("identities:\n  - role: reader\n    sans: [cp.example.net]\n")]), /"cp.example.net" must start with one of DNS: URI: IP: email:/);
    });

    it("rejects an unquoted socket mode", () => {
      assert.throws(() => load(["--config", configFile("socket-mode: 0660\n")]), /socket-mode in .*: 660 is not a string; quote the value/);
    });

    it("rejects YAML syntax errors", () => {
      assert.throws(() => load(["--config", configFile("listen: [unclosed\n")]), /^Error: invalid configuration file .*config-.*\.yaml: /);
    });

    it("rejects a named file that does not exist", () => {
      assert.throws(() => load(["--config", join(dir, "missing.yaml")]), /cannot read the configuration file .*missing\.yaml: ENOENT/);
    });
  });

  describe("listening", () => {
    const tlsFlags = ["--tls-cert", "/tls/server.crt", "--tls-key", "/tls/server.key", "--tls-client-ca", "/tls/ca.crt"];

    it("accepts TCP on any address with mutual TLS", () => {
      const config = load(["--listen", "0.0.0.0:50051", ...tlsFlags]);
      assert.deepEqual(config.listen, { kind: "tcp", host: "0.0.0.0", port: 50051 });
      assert.deepEqual(config.tls, { certFile: "/tls/server.crt", keyFile: "/tls/server.key", clientCaFile: "/tls/ca.crt" });
    });

    it("accepts plaintext loopback TCP with --insecure-tcp", () => {
      const config = load(["--listen", "127.0.0.1:50051", "--insecure-tcp"]);
      assert.equal(config.insecureTcp, true);
    });

    it("accepts NETAGENT_INSECURE_TCP=true", () => {
      assert.equal(load(["--listen", "[::1]:50051"], { NETAGENT_INSECURE_TCP: "true" }).insecureTcp, true);
    });

    it("rejects plaintext TCP without --insecure-tcp", () => {
      assert.throws(() => load(["--listen", "127.0.0.1:50051"]), /TCP --listen "127.0.0.1:50051" needs mutual TLS .* or --insecure-tcp/);
    });

    it("rejects plaintext TCP beyond loopback even with --insecure-tcp", () => {
      assert.throws(() => load(["--listen", "0.0.0.0:50051", "--insecure-tcp"]), /plaintext TCP is only allowed on loopback/);
    });

    it("rejects an incomplete TLS configuration", () => {
      assert.throws(() => load(["--listen", "0.0.0.0:50051", "--tls-cert", "/c", "--tls-key", "/k"]), /--tls-cert and --tls-key also need --tls-client-ca/);
    });

    it("rejects TLS on a UNIX socket", () => {
      assert.throws(() => load(tlsFlags), /TLS options apply to TCP only/);
    });

    it("rejects --insecure-tcp together with TLS", () => {
      assert.throws(() => load(["--listen", "0.0.0.0:1", "--insecure-tcp", ...tlsFlags]), /--insecure-tcp contradicts the TLS options/);
    });

    it("rejects an invalid boolean in the environment", () => {
      assert.throws(() => load(["--listen", "127.0.0.1:1"], { NETAGENT_INSECURE_TCP: "maybe" }), /invalid NETAGENT_INSECURE_TCP "maybe": use true or false/);
    });
  });

  describe("socket", () => {
    it("resolves the socket group by name", () => {
      assert.equal(load(["--socket-group", "netagent"]).socketGroup, 990);
    });

    it("rejects an unknown socket group", () => {
      assert.throws(() => load(["--socket-group", "nope"]), /invalid --socket-group: unknown group "nope"/);
    });

    it("rejects a socket mode that is not octal", () => {
      assert.throws(() => load(["--socket-mode", "0990"]), /invalid --socket-mode "0990": use octal permission bits such as 0660/);
    });

    it("rejects a socket mode that opens the socket to everyone", () => {
      assert.throws(() => load(["--socket-mode", "0666"]), /other users must get no access/);
    });
  });

  it("parses the metrics address", () => {
    assert.deepEqual(load(["--metrics-listen", "127.0.0.1:9464"]).metricsListen, { kind: "tcp", host: "127.0.0.1", port: 9464 });
  });

  it("rejects an invalid metrics address from the environment", () => {
    assert.throws(() => load([], { NETAGENT_METRICS_LISTEN: "9464" }), /invalid NETAGENT_METRICS_LISTEN "9464": use HOST:PORT/);
  });

  it("rejects an invalid log level naming its source", () => {
    assert.throws(() => load([], { NETAGENT_LOG_LEVEL: "loud" }), /invalid NETAGENT_LOG_LEVEL "loud": use one of trace, debug, info, warn, error/);
  });

  it("rejects an unknown flag", () => {
    assert.throws(() => load(["--lisen", "x"]), /unknown option '--lisen'/);
  });

  it("returns help for --help", () => {
    assert.equal(loadConfig(["--help"], {}), "help");
  });

  it("defaults the subnet pool to 10.100.0.0/16", () => {
    assert.equal(load([]).subnetPool.toString(), "10.100.0.0/16");
  });

  it("takes the subnet pool from the flag before the environment", () => {
    const env = { NETAGENT_SUBNET_POOL: "10.200.0.0/16" };

    assert.equal(load([], env).subnetPool.toString(), "10.200.0.0/16");
    assert.equal(load(["--subnet-pool", "172.20.0.0/20"], env).subnetPool.toString(), "172.20.0.0/20");
  });

  it("reads the network resync period in seconds", () => {
    assert.equal(load([]).networkResyncPeriodMs, 60_000);
    assert.equal(load(["--network-resync-period", "2.5"]).networkResyncPeriodMs, 2500);
    assert.equal(load([], { NETAGENT_NETWORK_RESYNC_PERIOD: "0" }).networkResyncPeriodMs, 0);
  });

  it("rejects a resync period that is not seconds", () => {
    assert.throws(() => load(["--network-resync-period", "1m"]), /^Error: invalid --network-resync-period "1m": use a number of seconds/);
  });

  it("rejects an invalid subnet pool naming its source", () => {
    assert.throws(() => load(["--subnet-pool", "10.100.0.1/16"]), /^Error: invalid --subnet-pool: invalid subnet pool "10\.100\.0\.1\/16": use an IPv4 subnet/);
  });
});

describe("USAGE", () => {
  it("documents every flag with its environment variable", () => {
    for (const flag of ["listen", "socket-mode", "socket-group", "tls-cert", "tls-key", "tls-client-ca", "insecure-tcp", "metrics-listen", "libvirt-socket", "libvirt-uri", "log-level", "audit-log", "subnet-pool", "network-resync-period"]) {
      assert.match(USAGE, new RegExp(`--${flag}\\b`));
      assert.match(USAGE, new RegExp(`NETAGENT_${flag.toUpperCase().replace(/-/g, "_")}\\b`));
    }
  });

  it("documents the file-only keys", () => {
    assert.match(USAGE, /^ {2}identities /m);
    assert.match(USAGE, /^ {2}protected-networks /m);
  });
});
