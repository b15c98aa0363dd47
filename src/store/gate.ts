/**
 * A first-come, first-served lock. The embedded database has one connection; everything that uses it (the
 * service's own queries and transactions, and each client of its Unix socket) takes this gate first, so a
 * transaction never sees another caller's statements.
 */
export class Gate {
  #held = false;
  #waiters: Array<() => void> = [];

  /** Resolves once the caller holds the gate. */
  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Hands the gate to the next waiter, or frees it. */
  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#held = false;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
