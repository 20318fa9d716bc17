// Load generators for one kind of call: one at a time, or many in flight.

/** Bounds of one measured block; it ends at whichever comes first. */
export interface Limits {
  calls: number;
  seconds: number;
}

/** What one block measured. */
export interface LoadResult {
  calls: number;
  seconds: number;
  /** Latency of each call, in microseconds, in completion order. */
  latenciesUs: number[];
}

/** Calls `call` one after the other until the limits are reached. A failed call ends the block with its error. */
export async function runSequential(call: () => Promise<unknown>, limits: Limits): Promise<LoadResult> {
  return runConcurrent(call, 1, limits);
}

/**
 * Keeps `inFlight` calls running at all times until `limits.calls` calls were
 * started or `limits.seconds` have passed, then waits for the last ones. A
 * failed call ends the block with its error.
 */
export async function runConcurrent(call: () => Promise<unknown>, inFlight: number, limits: Limits): Promise<LoadResult> {
  const latenciesUs: number[] = [];
  const started = performance.now();
  const deadline = started + limits.seconds * 1000;
  let claimed = 0;

  const worker = async () => {
    while (claimed < limits.calls && performance.now() < deadline) {
      claimed++;
      const before = performance.now();
      await call();
      latenciesUs.push((performance.now() - before) * 1000);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));

  return { calls: latenciesUs.length, seconds: (performance.now() - started) / 1000, latenciesUs };
}
