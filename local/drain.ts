/**
 * When the local run's drain at the stop gives up waiting for the run to come to rest.
 *
 * Whether a drain past its bound goes on (10 s more): not for a fixed bound or past the cap; yes
 * while the queues still shrink (a busy machine works the backlog off slower), and while the Graph
 * stand-in still owes notifications. Graph retries a failed one up to an hour later (its backoff,
 * not a fault the drain turned off): a lifecycle notification the receiver failed before the stop,
 * whose catch-up the changes still awaited wait for, is owed, not stuck.
 */
export function drainGoesOn(reading: {
  readonly waitedMs: number;
  readonly capMs: number;
  readonly fixed: boolean;
  /** Everything in flight now, and 10 s ago. */
  readonly queued: number;
  readonly queuedBefore: number;
  /** What the Graph stand-in still owes (queued for its URLs or being posted). */
  readonly graphOwed: number;
}): boolean {
  if (reading.fixed || reading.waitedMs >= reading.capMs) return false;
  const shrinking = reading.queued > 0 && reading.queued < reading.queuedBefore;
  return shrinking || reading.graphOwed > 0;
}
