import { readFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";

/** Both ends of a TCP connection as the agent sees it. */
export interface TcpEnds {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/**
 * Finds the uid that owns the peer's socket of a TCP connection made on this
 * machine, as identd would: the peer's socket is the row of /proc/net/tcp or
 * /proc/net/tcp6 whose local end is our remote end and whose remote end is
 * our local end. Only works for peers in the agent's network namespace, which
 * is every peer of a loopback listener.
 * @returns the uid, or undefined when no such row exists.
 */
export function findTcpPeerOwner(ends: TcpEnds, procNet = "/proc/net"): number | undefined {
  const peerLocal = encodeEnd(ends.remoteAddress, ends.remotePort);
  const peerRemote = encodeEnd(ends.localAddress, ends.localPort);
  if (peerLocal === undefined || peerRemote === undefined) {
    return undefined;
  }

  for (const file of ["tcp", "tcp6"]) {
    let table: string;
    try {
      table = readFileSync(`${procNet}/${file}`, "utf8");
    } catch {
      continue;
    }
    // Columns: sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
    for (const line of table.split("\n").slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns.length > 7 && sameEnd(columns[1], peerLocal) && sameEnd(columns[2], peerRemote)) {
        return Number(columns[7]);
      }
    }
  }
  return undefined;
}

/** An address and port in both forms the kernel may list them: IPv4 in tcp, IPv4-mapped IPv6 in tcp6. */
interface EncodedEnd {
  addresses: string[];
  port: string;
}

function sameEnd(column: string, end: EncodedEnd): boolean {
  const [address, port] = column.split(":");
  return port === end.port && end.addresses.includes(address);
}

function encodeEnd(address: string, port: number): EncodedEnd | undefined {
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ipv4 = mapped ? mapped[1] : isIPv4(address) ? address : undefined;
  if (ipv4 !== undefined) {
    const bytes = ipv4.split(".").map(Number);
    return { addresses: [hexWords(bytes), hexWords([...Array(10).fill(0), 0xff, 0xff, ...bytes])], port: portHex };
  }
  if (isIPv6(address)) {
    return { addresses: [hexWords(ipv6Bytes(address))], port: portHex };
  }
  return undefined;
}

/** Formats bytes as the kernel prints addresses: each 32-bit word in host (little-endian) byte order. */
function hexWords(bytes: number[]): string {
  let text = "";
  for (let word = 0; word < bytes.length; word += 4) {
    for (let i = 3; i >= 0; i--) {
      text += bytes[word + i].toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return text;
}

function ipv6Bytes(address: string): number[] {
  const [head, tail] = address.includes("::") ? address.split("::") : [address, undefined];
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array(tail === undefined ? 0 : missing).fill("0"), ...tailGroups];
  return groups.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}
