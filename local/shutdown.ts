/**
 * How a local run stops: everything started registers how to stop it, and stopping runs those in
 * the reverse order, each once, carrying on past failures.
 */
export class Shutdown {
  readonly #stoppers: Array<() => Promise<void> | void> = [];

  /** Stopped before everything added earlier. */
  add(stopper: () => Promise<void> | void): void {
    this.#stoppers.push(stopper);
  }

  async stop(): Promise<void> {
    for (const stopper of this.#stoppers.splice(0).reverse()) {
      try {
        await stopper();
      } catch {
        // Keep stopping the rest: a half-stopped system leaves ports and timers behind.
      }
    }
  }
}
