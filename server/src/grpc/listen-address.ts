import { isIP } from "node:net";

/** Where the agent listens: a UNIX socket path or a loopback TCP address. */
export type ListenAddress = { kind: "unix"; path: string } | { kind: "tcp"; host: string; port: number };

/**
 * Parses --listen. Accepts "unix:///absolute/path" and "HOST:PORT" where HOST
 * is a loopback address, because plaintext gRPC must not leave the machine.
 * @throws Error with the accepted forms.
 */
export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith("unix://")) {
    const path = text.slice("unix://".length);
    if (!path.startsWith("/")) {
      throw new Error(`invalid --listen ${JSON.stringify(text)}: the UNIX socket path must be absolute, for example unix:///run/netagent/netagent.sock`);
    }
    return { kind: "unix", path };
  }

  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):([0-9]{1,5})$/.exec(text);
  const host = match ? (match[1] ?? match[2]) : undefined;
  const port = match ? Number(match[3]) : NaN;
  if (host === undefined || !(port >= 0 && port <= 65535)) {
    throw new Error(`invalid --listen ${JSON.stringify(text)}: use unix:///path/to.sock or 127.0.0.1:PORT`);
  }
  if (!isLoopback(host)) {
    throw new Error(`invalid --listen ${JSON.stringify(text)}: plaintext TCP is only allowed on loopback (127.0.0.0/8, ::1, localhost); use a UNIX socket otherwise`);
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

function isLoopback(host: string): boolean {
  if (host === "localhost") {
    return true;
  }
  if (isIP(host) === 4) {
    return host.startsWith("127.");
  }
  return host === "::1";
}
