#!/usr/bin/env node
import { readFileSync } from "node:fs";

import { Command, CommanderError, Option } from "commander";
import { Status } from "nice-grpc";

import { DnsConfig, GetHostResponse, Host, Ipv4Config, ListDhcpLeasesResponse, ListNetworksResponse, MacvtapMode, Network, WatchEventsResponse } from "@netagent/proto";

import { createNetAgentClient, DEFAULT_ADDRESS, NetAgentClient, NetAgentTlsOptions } from "../client";
import { NetAgentError } from "../errors";
import { eventLine, hostDetails, leasesTable, networkDetails, networkTable, parseType } from "./format";
import { optionForField } from "./field-options";
import { addInterfaceCommands } from "./interface-commands";
import { collect, parseDhcpHost, parseDnsHost, parseForwarder, parseIpv6DhcpHost, parseRange, parseWholeNumber } from "./options";
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

const network = program.command("network").description("create, list, inspect, update, start, stop and delete networks, and list DHCP leases");

network
  .command("create <name>")
  .description("create and start a network (all or nothing)")
  .requiredOption("--type <type>", "nat, isolated, very-isolated, bridge, macvtap, routed or open")
  .option("--subnet <cidr>", "IPv4 subnet, e.g. 10.77.0.0/24: host gets .1, DHCP the rest (NAT and isolated get one from the agent's pool when omitted)")
  .option("--host-address <cidr>", "IPv4 host address with prefix, e.g. 10.77.0.1/24 (instead of --subnet)")
  .option("--dhcp-range <start-end>", "IPv4 DHCP range, repeatable; replaces the --subnet default", collect, [])
  .option("--dhcp-host <mac,ip[,name]>", "IPv4 static DHCP host, repeatable", collect, [])
  .option("--no-dhcp", "serve no DHCP on the --subnet")
  .option("--ipv6 <cidr>", "IPv6 host address with prefix, e.g. 2001:db8:1::1/64")
  .option("--ipv6-dhcp-range <start-end>", "DHCPv6 range, repeatable", collect, [])
  .option("--ipv6-dhcp-host <name,ip>", "DHCPv6 static host, repeatable", collect, [])
  .option("--dns-domain <domain>", "DNS domain of the guests, e.g. lab.example")
  .option("--dns-host <ip=name[,name]>", "DNS name for an address, repeatable", collect, [])
  .option("--dns-forwarder <[domain=]address>", "upstream DNS server, repeatable", collect, [])
  .option("--no-dns", "serve no DNS to guests (DHCP stays)")
  .option("--mtu <bytes>", "bridge MTU in bytes, 68 to 65535")
  .option("--stp", "run the Spanning Tree Protocol on the bridge (default off)")
  .option("--forward-delay <seconds>", "bridge forward delay in seconds, 0 to 30")
  .option("--bridge <name>", "Linux bridge name, at most 15 bytes (generated when omitted)")
  .option("--host-bridge <name>", "bridge: the existing host bridge that holds the uplink, e.g. br0")
  .option("--uplink <name>", "macvtap: the interface guests attach to; nat and routed: the only interface traffic may leave by")
  .option("--macvtap-mode <mode>", "macvtap: bridge (default), vepa, private or passthrough")
  .option("--no-autostart", "do not start the network when libvirtd starts")
  .option("--validate-only", "run every check without changing anything")
  .action((name: string, options: CreateOptions) => run(async (agent) => {
    networkCommand = "create";
    const response = await agent.networks.createNetwork({ network: networkOf(name, options), validateOnly: options.validateOnly ?? false });
    printNetwork(response.network);
    if (options.validateOnly && !globals().json) {
      print("(validate only: every check passed and nothing was changed)");
    }
  }));

network
  .command("update <name>")
  .description("change a network; DHCP hosts, DHCP ranges and DNS hosts change live, other fields at the next start (or now with --restart)")
  .option("--add-dhcp-host <mac,ip[,name]>", "add an IPv4 static DHCP host, repeatable", collect, [])
  .option("--remove-dhcp-host <mac>", "remove the IPv4 static DHCP host with this MAC, repeatable", collect, [])
  .option("--add-dhcp-range <start-end>", "add an IPv4 DHCP range, repeatable", collect, [])
  .option("--remove-dhcp-range <start-end>", "remove an IPv4 DHCP range, repeatable", collect, [])
  .option("--add-dns-host <ip=name[,name]>", "add a DNS host, repeatable", collect, [])
  .option("--remove-dns-host <ip>", "remove the DNS hosts of this address, repeatable", collect, [])
  .option("--host-address <cidr>", "new IPv4 host address with prefix")
  .option("--ipv6 <cidr>", "new IPv6 host address with prefix")
  .option("--dns-domain <domain>", "new DNS domain")
  .option("--mtu <bytes>", "new bridge MTU in bytes, 68 to 65535")
  .option("--stp", "turn STP on")
  .option("--no-stp", "turn STP off")
  .option("--forward-delay <seconds>", "new bridge forward delay in seconds, 0 to 30")
  .option("--autostart", "start the network when libvirtd starts")
  .option("--no-autostart", "do not start the network when libvirtd starts")
  .option("--restart", "stop and start the network if a change needs it")
  .option("--validate-only", "run every check without changing anything")
  .action((name: string, options: UpdateOptions) => run(async (agent) => {
    networkCommand = "update";
    const current = (await agent.networks.getNetwork({ name })).network;
    if (current === undefined) {
      return;
    }
    const { network: changed, paths } = applyUpdateOptions(current, options);
    if (paths.length === 0) {
      throw new UsageError("nothing to change: give at least one option, see --help");
    }
    const response = await agent.networks.updateNetwork({ network: changed, updateMask: paths, validateOnly: options.validateOnly ?? false, restart: options.restart ?? false });
    if (globals().json) {
      print(JSON.stringify({ network: response.network && Network.toJSON(response.network), restartRequired: response.restartRequired, pendingFields: response.pendingFields }, null, 2));
      return;
    }
    printNetwork(response.network);
    if (response.restartRequired) {
      print(`Restart required:     ${response.pendingFields.join(", ")} (run again with --restart, or stop and start the network)`);
    }
  }));

network
  .command("leases <name>")
  .description("list the DHCP leases of a network")
  .option("--mac <mac>", "only leases of this MAC address")
  .action((name: string, options: { mac?: string }) => run(async (agent) => {
    const response: ListDhcpLeasesResponse = await agent.networks.listDhcpLeases({ name, mac: options.mac ?? "" });
    print(globals().json ? JSON.stringify(ListDhcpLeasesResponse.toJSON(response), null, 2) : leasesTable(response.leases, response.dhcpSource));
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

program
  .command("host")
  .description("show the host: uplinks, bridges, subnets in use and which network types it supports")
  .command("get")
  .description("show the host the agent runs on")
  .action(() => run(async (agent) => {
    const response: GetHostResponse = await agent.host.getHost({});
    if (response.host === undefined) {
      return;
    }
    print(globals().json ? JSON.stringify(Host.toJSON(response.host), null, 2) : hostDetails(response.host));
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
        onReconnecting: ({ error, delayMs }) => {
          // The same text and hint as other commands print, and then when the watch resumes.
          const [first, ...hints] = describeError(error);
          process.stderr.write([`${first}; watching again in ${Math.round(delayMs)} ms`, ...hints].join("\n") + "\n");
        },
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
  dhcpHost: string[];
  dhcp: boolean;
  ipv6?: string;
  ipv6DhcpRange: string[];
  ipv6DhcpHost: string[];
  dnsDomain?: string;
  dnsHost: string[];
  dnsForwarder: string[];
  dns: boolean;
  mtu?: string;
  stp?: boolean;
  forwardDelay?: string;
  bridge?: string;
  hostBridge?: string;
  uplink?: string;
  macvtapMode?: string;
  autostart: boolean;
  validateOnly?: boolean;
}

function networkOf(name: string, options: CreateOptions): Network {
  return Network.fromPartial({
    name,
    type: parseType(options.type),
    bridge: options.bridge ?? "",
    ipv4: ipv4Of(options),
    ipv6: options.ipv6
      ? { address: options.ipv6, dhcpRanges: options.ipv6DhcpRange.map((r) => parseRange(r, "--ipv6-dhcp-range")), dhcpHosts: options.ipv6DhcpHost.map(parseIpv6DhcpHost) }
      : undefined,
    dns: dnsOf(options),
    mtu: options.mtu === undefined ? 0 : parseWholeNumber(options.mtu, "--mtu", 68, 65535),
    stp: options.stp,
    forwardDelaySeconds: options.forwardDelay === undefined ? 0 : parseWholeNumber(options.forwardDelay, "--forward-delay", 0, 30),
    hostBridge: options.hostBridge ?? "",
    uplink: options.uplink ?? "",
    macvtapMode: options.macvtapMode === undefined ? MacvtapMode.MACVTAP_MODE_UNSPECIFIED : parseMacvtapMode(options.macvtapMode),
    autostart: options.autostart,
  });
}

function ipv4Of(options: CreateOptions): Ipv4Config | undefined {
  if (options.subnet && options.hostAddress) {
    throw new UsageError("use either --subnet or --host-address, not both");
  }
  const ranges = options.dhcpRange.map((r) => parseRange(r));
  const hosts = options.dhcpHost.map((h) => parseDhcpHost(h));
  if (options.subnet) {
    const ipv4 = ipv4FromSubnet(options.subnet, options.dhcp);
    return { ...ipv4, dhcpRanges: ranges.length > 0 ? ranges : ipv4.dhcpRanges, dhcpHosts: hosts };
  }
  if (options.hostAddress) {
    return { address: options.hostAddress, dhcpRanges: ranges, dhcpHosts: hosts };
  }
  if (ranges.length > 0 || hosts.length > 0) {
    throw new UsageError("--dhcp-range and --dhcp-host need --subnet or --host-address");
  }
  return undefined;
}

function dnsOf(options: CreateOptions): DnsConfig | undefined {
  const hosts = options.dnsHost.map((h) => parseDnsHost(h));
  const forwarders = options.dnsForwarder.map(parseForwarder);
  if (options.dns && !options.dnsDomain && hosts.length === 0 && forwarders.length === 0) {
    return undefined;
  }
  return { enabled: options.dns, domain: options.dnsDomain ?? "", hosts, forwarders };
}

function parseMacvtapMode(text: string): MacvtapMode {
  const value = (MacvtapMode as unknown as Record<string, MacvtapMode>)[`MACVTAP_MODE_${text.toUpperCase()}`];
  if (value === undefined || value === MacvtapMode.MACVTAP_MODE_UNSPECIFIED || value === MacvtapMode.UNRECOGNIZED) {
    throw new UsageError(`invalid --macvtap-mode ${JSON.stringify(text)}: use bridge, vepa, private or passthrough`);
  }
  return value;
}

interface UpdateOptions {
  addDhcpHost: string[];
  removeDhcpHost: string[];
  addDhcpRange: string[];
  removeDhcpRange: string[];
  addDnsHost: string[];
  removeDnsHost: string[];
  hostAddress?: string;
  ipv6?: string;
  dnsDomain?: string;
  mtu?: string;
  stp?: boolean;
  forwardDelay?: string;
  autostart?: boolean;
  restart?: boolean;
  validateOnly?: boolean;
}

/** Applies the update options to the current network and returns it with the field mask of what changed. */
function applyUpdateOptions(current: Network, options: UpdateOptions): { network: Network; paths: string[] } {
  const network = Network.fromPartial(current);
  const paths: string[] = [];
  const ipv4 = () => (network.ipv4 ??= { address: "", dhcpRanges: [], dhcpHosts: [] });
  const dns = () => (network.dns ??= { enabled: true, domain: "", hosts: [], forwarders: [] });

  // Removing what is not there fails like a delete, so a typo in a MAC does not pass silently.
  const missing = (what: string, value: string) =>
    fail(`NOT_FOUND: network '${current.name}' has no ${what} ${value}, so nothing was changed; see netagentctl network get ${current.name}`, Status.NOT_FOUND);
  for (const mac of options.removeDhcpHost) {
    if (!(current.ipv4?.dhcpHosts ?? []).some((host) => host.mac.toLowerCase() === mac.toLowerCase())) {
      missing("static DHCP host with MAC", mac);
    }
  }
  for (const text of options.removeDhcpRange) {
    const range = parseRange(text, "--remove-dhcp-range");
    if (!(current.ipv4?.dhcpRanges ?? []).some((r) => r.start === range.start && r.end === range.end)) {
      missing("DHCP range", text);
    }
  }
  for (const ip of options.removeDnsHost) {
    if (!(current.dns?.hosts ?? []).some((host) => host.ip === ip)) {
      missing("DNS host with address", ip);
    }
  }

  if (options.addDhcpHost.length > 0 || options.removeDhcpHost.length > 0) {
    const removed = new Set(options.removeDhcpHost.map((mac) => mac.toLowerCase()));
    ipv4().dhcpHosts = [...ipv4().dhcpHosts.filter((h) => !removed.has(h.mac.toLowerCase())), ...options.addDhcpHost.map((h) => parseDhcpHost(h, "--add-dhcp-host"))];
    paths.push("ipv4.dhcp_hosts");
  }
  if (options.addDhcpRange.length > 0 || options.removeDhcpRange.length > 0) {
    const removed = new Set(options.removeDhcpRange.map((r) => JSON.stringify(parseRange(r, "--remove-dhcp-range"))));
    ipv4().dhcpRanges = [...ipv4().dhcpRanges.filter((r) => !removed.has(JSON.stringify({ start: r.start, end: r.end }))), ...options.addDhcpRange.map((r) => parseRange(r, "--add-dhcp-range"))];
    paths.push("ipv4.dhcp_ranges");
  }
  if (options.addDnsHost.length > 0 || options.removeDnsHost.length > 0) {
    const removed = new Set(options.removeDnsHost);
    dns().hosts = [...dns().hosts.filter((h) => !removed.has(h.ip)), ...options.addDnsHost.map((h) => parseDnsHost(h, "--add-dns-host"))];
    paths.push("dns.hosts");
  }
  if (options.hostAddress !== undefined) {
    ipv4().address = options.hostAddress;
    paths.push("ipv4.address");
  }
  if (options.ipv6 !== undefined) {
    network.ipv6 = { address: options.ipv6, dhcpRanges: network.ipv6?.dhcpRanges ?? [], dhcpHosts: network.ipv6?.dhcpHosts ?? [] };
    paths.push("ipv6.address");
  }
  if (options.dnsDomain !== undefined) {
    dns().domain = options.dnsDomain;
    paths.push("dns.domain");
  }
  if (options.mtu !== undefined) {
    network.mtu = parseWholeNumber(options.mtu, "--mtu", 68, 65535);
    paths.push("mtu");
  }
  if (options.stp !== undefined) {
    network.stp = options.stp;
    paths.push("stp");
  }
  if (options.forwardDelay !== undefined) {
    network.forwardDelaySeconds = parseWholeNumber(options.forwardDelay, "--forward-delay", 0, 30);
    paths.push("forward_delay_seconds");
  }
  if (options.autostart !== undefined) {
    network.autostart = options.autostart;
    paths.push("autostart");
  }
  return { network, paths };
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

/** The network command that runs, whose options error messages name. */
let networkCommand: "create" | "update" | undefined;

function describeError(error: NetAgentError): string[] {
  if (error.violations.length > 0) {
    const lines = error.violations.map((v) => {
      const option = optionForField(v.field, networkCommand);
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
