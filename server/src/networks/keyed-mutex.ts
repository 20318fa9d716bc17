/**
 * Runs tasks one at a time per key, in arrival order, so that two operations
 * on the same network never interleave their libvirt calls.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);

    try {
      return await result;
    } finally {
      // Drop the entry once nothing is queued behind this task, so the map
      // does not grow with every name ever used.
      if (this.tails.get(key) === tail) {
        this.tails.delete(key);
      }
    }
  }
}
