import { isIP } from "node:net";

/** Where the agent listens: a UNIX socket path or a TCP address. */
export type ListenAddress = { kind: "unix"; path: string } | TcpAddress;

/** A TCP host (name, IPv4 or IPv6 address without brackets) and port. */
export interface TcpAddress {
  kind: "tcp";
  host: string;
  port: number;
}

/**
 * Parses --listen: "unix:///absolute/path" or "HOST:PORT". Whether plaintext
 * is allowed on that address is decided by the configuration (config.ts).
 * @throws Error with the accepted forms.
 */
export function parseListenAddress(text: string, option = "--listen"): ListenAddress {
  if (text.startsWith("unix://")) {
    const path = text.slice("unix://".length);
    if (!path.startsWith("/")) {
      throw new Error(`invalid ${option} ${JSON.stringify(text)}: the UNIX socket path must be absolute, for example unix:///run/netagent/netagent.sock`);
    }
    return { kind: "unix", path };
  }
  return parseTcpAddress(text, option, "use unix:///path/to.sock or HOST:PORT, for example 127.0.0.1:50051");
}

/**
 * Parses "HOST:PORT", with IPv6 hosts in brackets.
 * @throws Error naming the option, with `hint` as the fix.
 */
export function parseTcpAddress(text: string, option: string, hint = "use HOST:PORT, for example 127.0.0.1:9464"): TcpAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  const host = match ? (match[1] ?? match[2]) : undefined;
  const port = match ? Number(match[3]) : NaN;
  if (host === undefined || !(port >= 0 && port <= 65535) || (match![1] !== undefined && isIP(match![1]) !== 6)) {
    throw new Error(`invalid ${option} ${JSON.stringify(text)}: ${hint}`);
  }
  return { kind: "tcp", host, port };
}

/** Formats an address the way grpc-js binds it. */
export function formatForGrpc(address: ListenAddress): string {
  if (address.kind === "unix") {
    return `unix://${address.path}`;
  }
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Whether a host is a loopback address: 127.0.0.0/8, ::1 or localhost. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") {
    return true;
  }
  if (isIP(host) === 4) {
    return host.startsWith("127.");
  }
  return host === "::1";
}
