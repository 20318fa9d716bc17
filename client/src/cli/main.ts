#!/usr/bin/env node
import { readFileSync } from "node:fs";

import { Command, CommanderError, Option } from "commander";
import { Status } from "nice-grpc";

import { ListNetworksResponse, Network, WatchEventsResponse } from "@netagent/proto";

import { createNetAgentClient, DEFAULT_ADDRESS, NetAgentClient, NetAgentTlsOptions } from "../client";
import { NetAgentError } from "../errors";
import { eventLine, networkDetails, networkTable, parseType } from "./format";
import { addInterfaceCommands } from "./interface-commands";
import { ipv4FromSubnet } from "./subnet";

/** Exit code for command-line usage errors (sysexits.h EX_USAGE). */
const EXIT_USAGE = 64;

interface GlobalOptions {
  address: string;
  timeout: string;
  json?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

const program = new Command()
  .name("netagentctl")
  .description("Manage libvirt networks and guest interfaces through a netagent agent.")
  .addOption(new Option("--address <address>", "agent address: unix:///PATH or HOST:PORT").env("NETAGENT_ADDRESS").default(DEFAULT_ADDRESS))
  .addOption(new Option("--timeout <seconds>", "deadline for each call, in seconds").default("30"))
  .option("--json", "print JSON (proto3 JSON mapping) instead of tables")
  .addOption(new Option("--tls-ca <path>", "CA certificate (PEM) of the agent's TLS certificate; turns on mutual TLS").env("NETAGENT_TLS_CA"))
  .addOption(new Option("--tls-cert <path>", "client certificate (PEM) for mutual TLS").env("NETAGENT_TLS_CERT"))
  .addOption(new Option("--tls-key <path>", "private key (PEM) of the client certificate").env("NETAGENT_TLS_KEY"))
  .showHelpAfterError()
  .exitOverride();

const network = program.command("network").description("create, list, inspect, start, stop and delete networks");

network
  .command("create <name>")
  .description("create and start a network (all or nothing)")
  .requiredOption("--type <type>", "nat, isolated or very-isolated")
  .option("--subnet <cidr>", "IPv4 subnet, e.g. 10.77.0.0/24: host gets .1, DHCP the rest")
  .option("--host-address <cidr>", "host address with prefix, e.g. 10.77.0.1/24 (instead of --subnet)")
  .option("--dhcp-range <start-end>", "DHCP range, repeatable; replaces the --subnet default", collect, [])
  .option("--no-dhcp", "serve no DHCP on the subnet")
  .option("--bridge <name>", "Linux bridge name, at most 15 bytes (generated when omitted)")
  .option("--no-autostart", "do not start the network when libvirtd starts")
  .option("--validate-only", "run every check without changing anything")
  .action((name: string, options: CreateOptions) => run(async (agent) => {
    const response = await agent.networks.createNetwork({
      network: { name, type: parseType(options.type), bridge: options.bridge ?? "", ipv4: ipv4Of(options), autostart: options.autostart },
      validateOnly: options.validateOnly ?? false,
    });
    printNetwork(response.network);
    if (options.validateOnly && !globals().json) {
      print("(validate only: every check passed and nothing was changed)");
    }
  }));

network
  .command("list")
  .description("list networks")
  .option("--type <type>", "only networks of this type")
  .addOption(new Option("--active", "only active networks").conflicts("inactive"))
  .option("--inactive", "only inactive networks")
  .action((options: { type?: string; active?: boolean; inactive?: boolean }) => run(async (agent) => {
    const networks: Network[] = [];
    let pageToken = "";
    do {
      const page: ListNetworksResponse = await agent.networks.listNetworks({
        pageToken,
        type: options.type ? parseType(options.type) : undefined,
        active: options.active ? true : options.inactive ? false : undefined,
      });
      networks.push(...page.networks);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");

    if (globals().json) {
      print(JSON.stringify(networks.map((n) => Network.toJSON(n)), null, 2));
    } else {
      print(networkTable(networks));
    }
  }));

network
  .command("get <name>")
  .description("show one network")
  .action((name: string) => run(async (agent) => {
    printNetwork((await agent.networks.getNetwork({ name })).network);
  }));

network
  .command("delete <name>")
  .description("stop a network and remove its definition")
  .option("--allow-missing", "succeed when the network does not exist")
  .action((name: string, options: { allowMissing?: boolean }) => run(async (agent) => {
    await agent.networks.deleteNetwork({ name, allowMissing: options.allowMissing ?? false });
    if (globals().json) {
      print(JSON.stringify({ deleted: name }));
    } else {
      print(`network ${name} deleted`);
    }
  }));

network
  .command("start <name>")
  .description("start a defined network")
  .action((name: string) => run(async (agent) => {
    printNetwork((await agent.networks.startNetwork({ name })).network);
  }));

network
  .command("stop <name>")
  .description("stop a running network and keep its definition")
  .action((name: string) => run(async (agent) => {
    printNetwork((await agent.networks.stopNetwork({ name })).network);
  }));

addInterfaceCommands(program, {
  run,
  print,
  warn: (text) => process.stderr.write(`netagentctl: warning: ${text}\n`),
  json: () => globals().json === true,
  timeoutMs: () => Number(globals().timeout) * 1000,
});

program
  .command("events")
  .description("print network and interface events as they happen, one line each, until interrupted")
  .option("--network <name>", "only events about this network")
  .option("--domain <name>", "only interface events of this domain (guest)")
  .action((options: { network?: string; domain?: string }) => run(async (agent) => {
    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    process.once("SIGTERM", () => stop.abort());

    const events = agent.watchEvents(
      { network: options.network ?? "", domain: options.domain ?? "" },
      {
        signal: stop.signal,
        onReconnecting: ({ error, delayMs }) =>
          process.stderr.write(`netagentctl: ${error.codeName}: ${error.details}; watching again in ${Math.round(delayMs)} ms\n`),
      },
    );
    for await (const response of events) {
      print(globals().json ? JSON.stringify(WatchEventsResponse.toJSON(response)) : eventLine(response));
    }
  }));

interface CreateOptions {
  type: string;
  subnet?: string;
  hostAddress?: string;
  dhcpRange: string[];
  dhcp: boolean;
  bridge?: string;
  autostart: boolean;
  validateOnly?: boolean;
}

function ipv4Of(options: CreateOptions) {
  if (options.subnet && options.hostAddress) {
    throw new UsageError("use either --subnet or --host-address, not both");
  }
  const ranges = options.dhcpRange.map(parseRange);
  if (options.subnet) {
    const ipv4 = ipv4FromSubnet(options.subnet, options.dhcp);
    return ranges.length > 0 ? { ...ipv4, dhcpRanges: ranges } : ipv4;
  }
  if (options.hostAddress) {
    return { address: options.hostAddress, dhcpRanges: ranges };
  }
  return undefined;
}

function parseRange(text: string) {
  const [start, end, ...rest] = text.split("-");
  if (!start || !end || rest.length > 0) {
    throw new UsageError(`invalid --dhcp-range ${JSON.stringify(text)}: use START-END, for example 10.77.0.100-10.77.0.200`);
  }
  return { start, end };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function globals(): GlobalOptions {
  return program.opts<GlobalOptions>();
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function printNetwork(network: Network | undefined): void {
  if (network === undefined) {
    return;
  }
  print(globals().json ? JSON.stringify(Network.toJSON(network), null, 2) : networkDetails(network));
}

class UsageError extends Error {}

/** Reads the --tls-* files; all three or none must be given. */
function tlsOptions(): NetAgentTlsOptions | undefined {
  const { tlsCa, tlsCert, tlsKey } = globals();
  if (tlsCa === undefined && tlsCert === undefined && tlsKey === undefined) {
    return undefined;
  }
  if (tlsCa === undefined || tlsCert === undefined || tlsKey === undefined) {
    fail("incomplete TLS options: mutual TLS needs --tls-ca, --tls-cert and --tls-key together", EXIT_USAGE);
  }
  const read = (path: string, option: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      fail(`cannot read ${option} ${path}: ${(error as Error).message}`, EXIT_USAGE);
    }
  };
  return { ca: read(tlsCa, "--tls-ca"), cert: read(tlsCert, "--tls-cert"), key: read(tlsKey, "--tls-key") };
}

/** Runs one command with a connected client and turns its failure into an exit code. */
async function run(action: (agent: NetAgentClient) => Promise<void>): Promise<void> {
  const { address, timeout } = globals();
  const seconds = Number(timeout);
  if (!(seconds > 0)) {
    fail(`invalid --timeout ${JSON.stringify(timeout)}: use a positive number of seconds`, EXIT_USAGE);
  }

  const agent = createNetAgentClient({ address, defaultDeadlineMs: seconds * 1000, tls: tlsOptions() });
  try {
    await action(agent);
  } catch (error) {
    reportAndExit(error);
  } finally {
    agent.close();
  }
}

function reportAndExit(error: unknown): never {
  if (error instanceof NetAgentError) {
    if (globals().json) {
      const body = { error: { code: error.codeName, message: error.details, violations: error.violations } };
      process.stderr.write(`${JSON.stringify(body)}\n`);
    } else {
      process.stderr.write(`${describeError(error).join("\n")}\n`);
    }
    // The exit code is the gRPC status code, so scripts can tell NOT_FOUND (5) from UNAVAILABLE (14).
    process.exit(error.code);
  }
  // Errors raised while building the request, such as a malformed --subnet, are usage errors.
  fail((error as Error).message, EXIT_USAGE);
}

/** The command-line option that sets each request field, so errors can name what to change. */
const OPTION_FOR_FIELD: Record<string, string> = {
  "network.name": "NAME",
  "network.type": "--type",
  "network.bridge": "--bridge",
  "network.ipv4": "--subnet/--host-address",
  "network.ipv4.address": "--subnet/--host-address",
  name: "NAME",
};

function describeError(error: NetAgentError): string[] {
  if (error.violations.length > 0) {
    const lines = error.violations.map((v) => {
      const option = OPTION_FOR_FIELD[v.field] ?? (v.field.startsWith("network.ipv4.dhcp_ranges") ? "--dhcp-range" : undefined);
      return `  ${v.field}${option ? ` (${option})` : ""}: ${v.description}`;
    });
    const count = error.violations.length === 1 ? "1 invalid field" : `${error.violations.length} invalid fields`;
    return [`netagentctl: ${error.codeName}: ${count}`, ...lines];
  }

  // grpc-js appends an empty "Resolution note:" to connection errors.
  const details = error.details.replace(/\s*Resolution note:\s*$/, "");
  const lines = [`netagentctl: ${error.codeName}: ${details}`];
  if (error.code === Status.UNAVAILABLE && !details.startsWith("libvirtd")) {
    const hint = connectionHint(details, globals().address);
    if (hint !== undefined) {
      lines.push(`  ${hint}`);
    }
  }
  return lines;
}

/**
 * Suggests a fix for an UNAVAILABLE that grpc-js raised before reaching the
 * agent, from the cause in its message. Returns undefined when the cause is
 * not recognised, rather than guessing.
 */
function connectionHint(details: string, address: string): string | undefined {
  if (/ENOENT|ECONNREFUSED/.test(details)) {
    return `is the agent running at ${address}? Start it with \`make run\`, or point --address (or NETAGENT_ADDRESS) at it.`;
  }
  if (/EACCES/.test(details)) {
    return `permission denied on the agent's socket: run as a member of the agent's --socket-group, or as root.`;
  }
  if (/Name resolution failed/.test(details) && address.startsWith("/")) {
    return `a UNIX socket address needs the unix:// prefix: use --address unix://${address}`;
  }
  if (/ALTNAME|altname|certificate|self.signed|SSL|TLS|ECONNRESET/.test(details)) {
    return "the TLS handshake failed: check that --tls-ca signed the agent's certificate, that the agent's certificate names the host or IP in --address, and that --tls-cert is current and signed by the agent's --tls-client-ca.";
  }
  if (/Failed to connect/.test(details) && !address.startsWith("unix:")) {
    return `no gRPC server answered at ${address}: if the agent uses TLS, pass --tls-ca, --tls-cert and --tls-key.`;
  }
  return undefined;
}

function fail(message: string, code: number): never {
  process.stderr.write(`netagentctl: ${message}\n`);
  process.exit(code);
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
  }
  fail((error as Error).message, 1);
});
