import { open, stat } from "node:fs/promises";

/** Byte offset in the agent's log file, taken before and after a measured block. */
export async function logOffset(file: string): Promise<number> {
  return (await stat(file)).size;
}

/**
 * Returns the durationMs values, in microseconds, that the agent's call log
 * recorded for `method` between two offsets of its log file: the time from
 * the call's arrival in the agent's middleware to its response, without
 * transport and client.
 */
export async function handlerDurationsUs(file: string, from: number, to: number, method: string): Promise<number[]> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(to - from);
    await handle.read(buffer, 0, buffer.length, from);
    return buffer
      .toString("utf8")
      .split("\n")
      .filter((line) => line.includes(method))
      .map((line) => (JSON.parse(line) as { durationMs?: number }).durationMs)
      .filter((ms): ms is number => typeof ms === "number")
      .map((ms) => ms * 1000);
  } finally {
    await handle.close();
  }
}
