import { createConnection, createServer, Server, Socket } from "node:net";
import { rm } from "node:fs/promises";

import { MessageType, REMOTE_PROGRAM, RemoteProcedure } from "@netagent/server/dist/libvirt";
import { PacketDecoder } from "@netagent/server/dist/libvirt/framing";

const PROCEDURE_NAMES = new Map<number, string>(Object.entries(RemoteProcedure).map(([name, value]) => [value, name]));

/**
 * A UNIX-socket proxy between the agent and libvirtd that counts the libvirt
 * calls passing through it, by procedure. It copies bytes unchanged in both
 * directions and only reads the client's packets, so the agent cannot tell
 * it from libvirtd except by the extra hop's latency. Use it to count calls,
 * never while timing them.
 */
export class LibvirtCallCounter {
  private readonly counts = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;

  constructor(
    /** Path of the proxy's socket: pass it to the agent's --libvirt-socket. */
    readonly socketPath: string,
    private readonly libvirtSocket: string,
  ) {}

  async start(): Promise<void> {
    await rm(this.socketPath, { force: true });
    const server = createServer((client) => this.relay(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.socketPath, () => resolve());
    });
  }

  /** Returns the calls counted so far, by procedure name (REMOTE_PROC_ without the prefix), and resets the counts. */
  take(): Record<string, number> {
    const counts = Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : 1)));
    this.counts.clear();
    return counts;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) {
      socket.destroy();
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private relay(client: Socket): void {
    const daemon = createConnection(this.libvirtSocket);
    const decoder = new PacketDecoder();
    this.sockets.add(client).add(daemon);

    client.on("data", (chunk: Buffer) => {
      for (const packet of decoder.push(chunk)) {
        if (packet.program === REMOTE_PROGRAM && packet.type === MessageType.CALL) {
          const name = PROCEDURE_NAMES.get(packet.procedure) ?? `procedure ${packet.procedure}`;
          this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
        }
      }
      daemon.write(chunk);
    });
    daemon.pipe(client);

    const close = () => {
      client.destroy();
      daemon.destroy();
      this.sockets.delete(client);
      this.sockets.delete(daemon);
    };
    client.on("close", close).on("error", close);
    daemon.on("close", close).on("error", close);
  }
}

/** Total of a count table from LibvirtCallCounter.take(). */
export function totalCalls(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, count) => total + count, 0);
}
