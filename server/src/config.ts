import { existsSync } from "node:fs";
import { parseArgs } from "node:util";

import { AccountFiles, resolveGroup } from "./auth/accounts";
import { DEFAULT_IDENTITY_RULES, IdentityRule } from "./auth/roles";
import { ConfigFile, readConfigFile } from "./config-file";
import { isLoopback, ListenAddress, parseListenAddress, parseTcpAddress, TcpAddress } from "./grpc/listen-address";
import { DEFAULT_SUBNET_POOL, SubnetPool } from "./networks/subnet-pool";

/** The agent's settings, merged from flags, environment, configuration file and defaults. */
export interface AgentConfig {
  /** The configuration file that was read, if any. */
  configFile?: string;
  listen: ListenAddress;
  /** Permission bits of the UNIX socket. */
  socketMode: number;
  /** Group that owns the UNIX socket; undefined keeps the agent's own group. */
  socketGroup?: number;
  /** Server certificate, its key and the CA that client certificates must chain to. */
  tls?: { certFile: string; keyFile: string; clientCaFile: string };
  /** Plaintext TCP was allowed explicitly (loopback only). */
  insecureTcp: boolean;
  /** Where the Prometheus endpoint listens; undefined turns it off. */
  metricsListen?: TcpAddress;
  libvirtSocket: string;
  libvirtUri: string;
  logLevel: string;
  /** File for audit records; undefined writes them to the agent's log. */
  auditLog?: string;
  identities: IdentityRule[];
  protectedNetworks: string[];
  /** Pool that NAT and ISOLATED networks created without a subnet get their /24 from. */
  subnetPool: SubnetPool;
  /** Time between two full reads of libvirt's networks, in milliseconds; 0 turns them off. */
  networkResyncPeriodMs: number;
}

interface OptionSpec {
  name: string;
  kind: "string" | "boolean";
  /** The value's placeholder in the help text, with its unit where it has one. */
  value?: string;
  /** The default as the help text shows it. */
  defaultText: string;
  help: string;
}

export const DEFAULT_CONFIG_FILE = "/etc/netagent/netagent.yaml";

// One table drives flag parsing, environment variables (NETAGENT_ plus the
// name in upper case with underscores), configuration file keys and --help.
const OPTIONS: OptionSpec[] = [
  { name: "listen", kind: "string", value: "ADDRESS", defaultText: "unix:///run/netagent/netagent.sock", help: "where to serve gRPC: unix:///PATH, or HOST:PORT with TLS (or --insecure-tcp on loopback)" },
  { name: "socket-mode", kind: "string", value: "MODE", defaultText: "0660", help: "permission bits of the UNIX socket, in octal" },
  { name: "socket-group", kind: "string", value: "GROUP", defaultText: "the agent's group", help: "group (name or gid) that owns the UNIX socket; its members can connect" },
  { name: "tls-cert", kind: "string", value: "PATH", defaultText: "none", help: "server certificate chain (PEM) for TCP; needs --tls-key and --tls-client-ca" },
  { name: "tls-key", kind: "string", value: "PATH", defaultText: "none", help: "private key (PEM) of the server certificate" },
  { name: "tls-client-ca", kind: "string", value: "PATH", defaultText: "none", help: "CA certificates (PEM) that client certificates must chain to; clients without one are rejected" },
  { name: "insecure-tcp", kind: "boolean", defaultText: "false", help: "allow plaintext TCP, only on a loopback --listen address" },
  { name: "metrics-listen", kind: "string", value: "HOST:PORT", defaultText: "off", help: "serve Prometheus metrics over HTTP at /metrics on this address" },
  { name: "libvirt-socket", kind: "string", value: "PATH", defaultText: "/run/libvirt/libvirt-sock", help: "libvirtd's UNIX socket" },
  { name: "libvirt-uri", kind: "string", value: "URI", defaultText: "qemu:///system", help: "libvirt connection URI opened on that socket" },
  { name: "log-level", kind: "string", value: "LEVEL", defaultText: "info", help: "trace, debug, info, warn or error" },
  { name: "audit-log", kind: "string", value: "PATH", defaultText: "the agent's log on stdout", help: "file that receives one JSON line per mutating call (reopened on SIGHUP)" },
  { name: "subnet-pool", kind: "string", value: "CIDR", defaultText: DEFAULT_SUBNET_POOL, help: "IPv4 range that NAT and ISOLATED networks created without a subnet get a free /24 from" },
  { name: "network-resync-period", kind: "string", value: "SECONDS", defaultText: "60", help: "read every libvirt network again this often, to catch changes libvirt sends no event for (autostart, net-update); 0 turns it off" },
];

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"];

function envName(option: string): string {
  return `NETAGENT_${option.toUpperCase().replace(/-/g, "_")}`;
}

const FILE_ONLY: Array<[string, string]> = [
  [
    "identities",
    "list of {role, users, groups, common-names, sans} entries that give UNIX peers (by uid or group), " +
      "loopback TCP peers (by uid) and TLS peers (by certificate common name, or SAN written DNS:..., URI:..., IP:..., email:...) " +
      "the role reader, operator or admin; the highest matching role applies (default: root is admin, nobody else has a role)",
  ],
  ["protected-networks", "names or glob patterns (such as mgmt-*) of networks that cannot be stopped, updated or deleted through the agent (default: none)"],
];

/** The text `netagent --help` prints. */
export const USAGE = renderUsage();

function renderUsage(): string {
  const entries: Array<[string, string[]]> = [
    ["--config PATH", ["configuration file (YAML)", `(env NETAGENT_CONFIG; default ${DEFAULT_CONFIG_FILE}, read only if it exists)`]],
    ...OPTIONS.map((option): [string, string[]] => [
      `--${option.name}${option.value ? ` ${option.value}` : ""}`,
      [option.help, `(env ${envName(option.name)}; default ${option.defaultText})`],
    ]),
    ["-h, --help", ["print this help and exit"]],
  ];
  const width = Math.max(...entries.map(([flag]) => flag.length)) + 2;
  const indent = " ".repeat(width + 2);

  return [
    "Usage: netagent [options]",
    "",
    "Serves netagent's gRPC API and manages libvirt networks on this host.",
    "",
    "Each option is taken from the first of these that sets it: the flag, the environment",
    "variable, the configuration file (key = the flag's name without dashes), the default.",
    "",
    "Options:",
    ...entries.flatMap(([flag, help]) => help.flatMap((text) => wrap(text, 96 - indent.length)).map((line, i) => (i === 0 ? `  ${flag.padEnd(width)}${line}` : `${indent}${line}`))),
    "",
    "Only in the configuration file:",
    ...FILE_ONLY.flatMap(([key, text]) => wrap(text, 96 - indent.length).map((line, i) => (i === 0 ? `  ${key.padEnd(width)}${line}` : `${indent}${line}`))),
    "",
    "Roles: reader may get, list and watch; operator may also create, update, start, stop,",
    "delete, attach and detach; admin may call every method.",
    "",
  ].join("\n");
}

/** Splits text into lines of at most `width` characters at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}

/** A setting and where it came from (a flag, a variable or a file key), for error messages. */
interface Value<T> {
  value: T;
  source: string;
}

/**
 * Reads the configuration. Flags win over environment variables, which win
 * over the configuration file, which wins over defaults.
 * @param options.accounts passwd and group files for user and group names, for tests.
 * @throws Error naming the invalid option, where it was set, and the accepted values.
 */
export function loadConfig(
  argv: string[],
  env: NodeJS.ProcessEnv,
  options: { accounts?: AccountFiles; defaultConfigFile?: string } = {},
): AgentConfig | "help" {
  const parseOptions: Record<string, { type: "string" | "boolean"; short?: string }> = {
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
  };
  for (const option of OPTIONS) {
    parseOptions[option.name] = { type: option.kind };
  }
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({ args: argv, options: parseOptions, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new Error((error as Error).message.replace(/^Unknown option/, "unknown option").replace(/\. To specify a positional argument.*$/, ""));
  }
  if (flags.help) {
    return "help";
  }

  const file = readFile(flags, env, options);
  const lookup = (name: string): Value<string | boolean> | undefined => {
    const sources: Array<[string | boolean | undefined, string]> = [
      [flags[name], `--${name}`],
      [env[envName(name)], envName(name)],
      [file?.options.get(name), `${name} in ${file?.path}`],
    ];
    for (const [value, where] of sources) {
      if (value !== undefined) {
        return { value, source: where };
      }
    }
    return undefined;
  };
  const text = (name: string, fallback: string): Value<string> => {
    const found = lookup(name);
    return found === undefined ? { value: fallback, source: `--${name}` } : { value: String(found.value), source: found.source };
  };
  const optionalText = (name: string): Value<string> | undefined => {
    const found = lookup(name);
    return found === undefined || found.value === "" ? undefined : { value: String(found.value), source: found.source };
  };

  const logLevel = text("log-level", "info");
  if (!LOG_LEVELS.includes(logLevel.value)) {
    throw new Error(`invalid ${logLevel.source} ${JSON.stringify(logLevel.value)}: use one of ${LOG_LEVELS.join(", ")}`);
  }

  const listenValue = text("listen", "unix:///run/netagent/netagent.sock");
  const listen = parseListenAddress(listenValue.value, listenValue.source);
  const tls = readTls(optionalText("tls-cert"), optionalText("tls-key"), optionalText("tls-client-ca"));
  const insecureTcp = readBoolean(lookup("insecure-tcp"));
  checkTransport(listen, listenValue, tls, insecureTcp);

  const metrics = optionalText("metrics-listen");
  return {
    configFile: file?.path,
    listen,
    socketMode: readSocketMode(text("socket-mode", "0660")),
    socketGroup: readSocketGroup(optionalText("socket-group"), options.accounts),
    tls,
    insecureTcp: insecureTcp.value,
    metricsListen: metrics === undefined ? undefined : parseTcpAddress(metrics.value, metrics.source),
    libvirtSocket: text("libvirt-socket", "/run/libvirt/libvirt-sock").value,
    libvirtUri: text("libvirt-uri", "qemu:///system").value,
    logLevel: logLevel.value,
    auditLog: optionalText("audit-log")?.value,
    identities: file?.identities ?? [...DEFAULT_IDENTITY_RULES],
    protectedNetworks: file?.protectedNetworks ?? [],
    subnetPool: readSubnetPool(text("subnet-pool", DEFAULT_SUBNET_POOL)),
    networkResyncPeriodMs: readSeconds(text("network-resync-period", "60")),
  };
}

function readSeconds(seconds: Value<string>): number {
  if (!/^\d+(\.\d+)?$/.test(seconds.value)) {
    throw new Error(`invalid ${seconds.source} ${JSON.stringify(seconds.value)}: use a number of seconds such as 60, or 0 to turn it off`);
  }
  return Math.round(Number(seconds.value) * 1000);
}

function readSubnetPool(pool: Value<string>): SubnetPool {
  try {
    return new SubnetPool(pool.value);
  } catch (error) {
    throw new Error(`invalid ${pool.source}: ${(error as Error).message}`);
  }
}

/** Reads the file named by --config or NETAGENT_CONFIG, or the default file when it exists. */
function readFile(
  flags: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
  options: { accounts?: AccountFiles; defaultConfigFile?: string },
): ConfigFile | undefined {
  const named = (flags.config as string | undefined) ?? env.NETAGENT_CONFIG;
  const path = named ?? options.defaultConfigFile ?? DEFAULT_CONFIG_FILE;
  if (named === undefined && !existsSync(path)) {
    return undefined;
  }
  const kinds = new Map(OPTIONS.map((option) => [option.name, option.kind]));
  return readConfigFile(path, kinds, options.accounts);
}

function readBoolean(found: Value<string | boolean> | undefined): Value<boolean> {
  if (found === undefined) {
    return { value: false, source: "default" };
  }
  if (typeof found.value === "boolean") {
    return found as Value<boolean>;
  }
  const normalized = found.value.toLowerCase();
  if (["1", "true", "yes", "on"].includes(normalized)) {
    return { value: true, source: found.source };
  }
  if (["0", "false", "no", "off", ""].includes(normalized)) {
    return { value: false, source: found.source };
  }
  throw new Error(`invalid ${found.source} ${JSON.stringify(found.value)}: use true or false`);
}

function readSocketMode(mode: Value<string>): number {
  if (!/^0?[0-7]{3}$/.test(mode.value)) {
    throw new Error(`invalid ${mode.source} ${JSON.stringify(mode.value)}: use octal permission bits such as 0660`);
  }
  const bits = parseInt(mode.value, 8);
  if ((bits & 0o600) !== 0o600) {
    throw new Error(`invalid ${mode.source} ${JSON.stringify(mode.value)}: the owner needs read and write (0600), or the agent's own clients cannot connect`);
  }
  if ((bits & 0o007) !== 0) {
    throw new Error(`invalid ${mode.source} ${JSON.stringify(mode.value)}: other users must get no access; use --socket-group to let a group connect`);
  }
  return bits;
}

function readSocketGroup(group: Value<string> | undefined, accounts?: AccountFiles): number | undefined {
  if (group === undefined) {
    return undefined;
  }
  try {
    return resolveGroup(group.value, accounts);
  } catch (error) {
    throw new Error(`invalid ${group.source}: ${(error as Error).message}`);
  }
}

function readTls(cert?: Value<string>, key?: Value<string>, clientCa?: Value<string>): AgentConfig["tls"] {
  const set = [cert, key, clientCa].filter((value) => value !== undefined);
  if (set.length === 0) {
    return undefined;
  }
  if (set.length < 3) {
    const missing = [["--tls-cert", cert], ["--tls-key", key], ["--tls-client-ca", clientCa]].filter(([, value]) => value === undefined).map(([name]) => name);
    throw new Error(`incomplete TLS configuration: ${set.map((value) => value!.source).join(" and ")} also need ${missing.join(" and ")}; mutual TLS needs all three`);
  }
  return { certFile: cert!.value, keyFile: key!.value, clientCaFile: clientCa!.value };
}

function checkTransport(listen: ListenAddress, listenValue: Value<string>, tls: AgentConfig["tls"], insecureTcp: Value<boolean>): void {
  if (listen.kind === "unix") {
    if (tls !== undefined) {
      throw new Error(`TLS options apply to TCP only, but ${listenValue.source} is the UNIX socket ${listenValue.value}; remove the TLS options or listen on HOST:PORT`);
    }
    return;
  }
  if (tls !== undefined && insecureTcp.value) {
    throw new Error(`${insecureTcp.source} contradicts the TLS options: remove one of them`);
  }
  if (tls === undefined && !insecureTcp.value) {
    throw new Error(`TCP ${listenValue.source} ${JSON.stringify(listenValue.value)} needs mutual TLS (--tls-cert, --tls-key, --tls-client-ca), or --insecure-tcp for plaintext on a loopback address`);
  }
  if (tls === undefined && !isLoopback(listen.host)) {
    throw new Error(`invalid ${listenValue.source} ${JSON.stringify(listenValue.value)}: plaintext TCP is only allowed on loopback (127.0.0.0/8, ::1, localhost); use mutual TLS or a UNIX socket`);
  }
}
