/**
 * Making a fake fail like its real counterpart does when AWS or Exchange is down: every operation
 * named here throws until healed, so a test can prove "any failure of ours answers 500" without
 * a mock library.
 */
export class InjectedFailureError extends Error {
  override readonly name = 'InjectedFailureError';
  constructor(operation: string) {
    super(`injected failure of ${operation} (a fake made to fail by the test)`);
  }
}

export class Failures<Op extends string> {
  readonly #failing = new Map<Op, number>();

  /** The next `times` calls of `operation` throw (default: every call until healed). */
  failOn(operation: Op, times = Number.POSITIVE_INFINITY): void {
    this.#failing.set(operation, times);
  }

  heal(): void {
    this.#failing.clear();
  }

  /** Called by the fake at the start of each operation. */
  check(operation: Op): void {
    const left = this.#failing.get(operation);
    if (left === undefined || left <= 0) return;
    this.#failing.set(operation, left - 1);
    throw new InjectedFailureError(operation);
  }
}
