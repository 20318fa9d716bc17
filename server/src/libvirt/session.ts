import { UnavailableError } from "../errors";
import { LibvirtClient, LibvirtClientOptions } from "./client";

/**
 * Holds the agent's one connection to libvirtd and opens it again on the
 * next call after it was lost, so a libvirtd restart needs no agent restart.
 * Calls made while libvirtd is unreachable fail at once with UnavailableError.
 */
export class LibvirtSession {
  private current: LibvirtClient | undefined;
  private connecting: Promise<LibvirtClient> | undefined;

  constructor(private readonly options: LibvirtClientOptions) {}

  /** Returns the connected client, connecting first when needed. */
  async client(): Promise<LibvirtClient> {
    if (this.current?.connected) {
      return this.current;
    }
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Whether a connection to libvirtd is open now. */
  get connected(): boolean {
    return this.current?.connected ?? false;
  }

  /** Closes the connection, if open. */
  async close(): Promise<void> {
    const client = this.current;
    this.current = undefined;
    await client?.close();
  }

  private async connect(): Promise<LibvirtClient> {
    try {
      this.current = await LibvirtClient.connect(this.options);
      return this.current;
    } catch (error) {
      const socket = this.options.socketPath ?? "/run/libvirt/libvirt-sock";
      throw new UnavailableError(`libvirtd is not reachable at ${socket}: ${(error as Error).message}`, { cause: error });
    }
  }
}
