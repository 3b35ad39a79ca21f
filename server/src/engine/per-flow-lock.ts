/** Serializes deletes of one flow (a DELETE request and auto-remedy alike): the second sees the first's outcome. */
export class PerFlowLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Run `fn` once every earlier holder of `id` has finished; other flows are not held up. */
  async run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(id);
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chain = (before ?? Promise.resolve()).then(() => mine);
    this.tails.set(id, chain);
    try {
      await before;
      return await fn();
    } finally {
      release();
      if (this.tails.get(id) === chain) this.tails.delete(id);
    }
  }

  /** Flows with a delete running or waiting. */
  get size(): number {
    return this.tails.size;
  }
}
