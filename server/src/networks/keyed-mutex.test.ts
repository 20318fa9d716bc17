import assert from "node:assert/strict";

import { KeyedMutex } from "./keyed-mutex";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("KeyedMutex", () => {
  it("runs tasks on one key one at a time, in order", async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const task = (label: string) => async () => {
      events.push(`${label} start`);
      await tick();
      events.push(`${label} end`);
    };

    await Promise.all([mutex.run("a", task("1")), mutex.run("a", task("2"))]);

    assert.deepEqual(events, ["1 start", "1 end", "2 start", "2 end"]);
  });

  it("runs tasks on different keys concurrently", async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const task = (label: string) => async () => {
      events.push(`${label} start`);
      await tick();
      events.push(`${label} end`);
    };

    await Promise.all([mutex.run("a", task("a")), mutex.run("b", task("b"))]);

    assert.deepEqual(events.slice(0, 2), ["a start", "b start"]);
  });

  it("keeps going after a task fails", async () => {
    const mutex = new KeyedMutex();
    const failing = mutex.run("a", async () => {
      throw new Error("boom");
    });
    const next = mutex.run("a", async () => "ran");

    await assert.rejects(failing, /boom/);
    assert.equal(await next, "ran");
  });
});
