import assert from "node:assert/strict";
import { once } from "node:events";

import { UnavailableError } from "../errors";
import type { LibvirtClient } from "./client";
import { FakeLibvirtd } from "./fake-libvirtd";
import { LibvirtSession, LibvirtSessionOptions } from "./session";

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function eventually(condition: () => boolean, description: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await delay(5);
  }
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected the promise to reject");
}

interface LogEntry {
  level: string;
  context: Record<string, unknown>;
  message: string;
}

describe("LibvirtSession", () => {
  let daemon: FakeLibvirtd;
  let session: LibvirtSession;
  let log: LogEntry[];

  async function setup(options: LibvirtSessionOptions = {}): Promise<void> {
    daemon = await FakeLibvirtd.start();
    log = [];
    const record = (level: string) => (context: object, message: string) =>
      log.push({ level, context: context as Record<string, unknown>, message });
    session = new LibvirtSession({
      socketPath: daemon.socketPath,
      keepaliveIntervalMs: 0,
      reconnectInitialDelayMs: 10,
      reconnectMaxDelayMs: 40,
      logger: { debug: record("debug"), warn: record("warn"), error: record("error") },
      ...options,
    });
  }

  afterEach(async () => {
    await session?.close();
    await daemon?.stop();
  });

  it("connects on first use", async () => {
    await setup();

    const client = await session.client();

    assert.equal(client.connected, true);
    assert.equal(session.state, "ready");
    assert.equal(daemon.clients.length, 1);
  });

  it("fails fast while libvirtd is down", async () => {
    await setup();
    await daemon.kill();
    session.start();
    await once(session, "unavailable");

    const started = Date.now();
    const error = await rejectionOf(session.client());

    assert.ok(error instanceof UnavailableError, `expected UnavailableError, got ${String(error)}`);
    assert.match(error.message, /^libvirtd is not reachable at [^ ]*libvirt-sock: [^/]*; start libvirtd \(systemctl start libvirtd\); the agent keeps reconnecting$/);
    assert.ok(Date.now() - started < 50, "client() must not wait for the next attempt");
  });

  it("reconnects after libvirtd restarts", async () => {
    await setup();
    let hookRuns = 0;
    session.onConnect(async () => {
      hookRuns++;
    });
    const first = await session.client();
    const unavailable = once(session, "unavailable");

    await daemon.kill();
    const [cause] = (await unavailable) as [Error];
    assert.match(cause.message, /libvirtd closed the connection/);
    assert.ok((await rejectionOf(session.client())) instanceof UnavailableError);
    const ready = once(session, "ready");
    await daemon.restart();
    const [second] = (await ready) as [LibvirtClient];

    assert.notEqual(second, first);
    assert.equal(await session.client(), second);
    assert.equal(hookRuns, 2);
  });

  it("doubles the delay up to the maximum", async () => {
    await setup();
    await daemon.kill();
    session.start();

    await eventually(() => log.filter((e) => e.message === "cannot connect to libvirtd; retrying").length >= 5, "five attempts");
    const delays = log.filter((e) => e.message === "cannot connect to libvirtd; retrying").map((e) => e.context.retryInMs);

    assert.deepEqual(delays.slice(0, 5), [10, 20, 40, 40, 40]);
  });

  it("logs a repeated failure at warn at attempts 1, 2, 4, 8", async () => {
    await setup();
    await daemon.kill();
    session.start();

    await eventually(() => log.filter((e) => e.message === "cannot connect to libvirtd; retrying").length >= 9, "nine attempts");
    const levels = log.filter((e) => e.message === "cannot connect to libvirtd; retrying").map((e) => e.level);

    assert.deepEqual(levels.slice(0, 9), ["warn", "warn", "debug", "warn", "debug", "debug", "debug", "warn", "debug"]);
  });

  it("retries when a connect hook fails", async () => {
    await setup();
    let hookRuns = 0;
    session.onConnect(async () => {
      hookRuns++;
      if (hookRuns === 1) {
        throw new Error("resync failed");
      }
    });
    session.start();

    await once(session, "ready");

    assert.equal(hookRuns, 2);
    assert.equal(daemon.clients.length, 2);
    assert.equal(daemon.clients[0].socket.destroyed, true);
  });

  it("is not ready while hooks run", async () => {
    await setup();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    session.onConnect(() => released);
    session.start();
    await daemon.waitFor(() => daemon.clients.length === 1, 1500, "the connection");

    const error = await rejectionOf(session.client());
    release();
    await once(session, "ready");

    assert.ok(error instanceof UnavailableError);
    assert.match(error.message, /not ready yet/);
    assert.equal(session.ready, true);
  });

  it("stops reconnecting after close", async () => {
    await setup();
    await session.client();
    await daemon.kill();
    await session.close();

    await daemon.restart();
    await delay(100);
    const error = await rejectionOf(session.client());

    assert.equal(daemon.clients.length, 1);
    assert.equal(session.state, "closed");
    assert.ok(error instanceof UnavailableError);
    assert.match(error.message, /shutting down/);
  });
});
