/**
 * Driving the lifecycle on the fakes the way Lambda does: the sweeper's run queues jobs, the
 * renewer opens each one and runs the job the record says is owed (batch.ts's dispatch).
 */
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import { checkpoint } from '../../../functions/renewer/checkpoint.ts';
import {
  openJob,
  type RenewalExchange,
  type RenewDeps,
  type RenewerJob,
  type RenewOutcome,
} from '../../../functions/renewer/job.ts';
import { resubscribe } from '../../../functions/renewer/resubscribe.ts';
import { synchronize } from '../../../functions/renewer/synchronize.ts';
import { type SweepSummary, sweep } from '../../../functions/sweeper/sweep.ts';
import type { FakeWorld } from './index.ts';

const JOBS: Record<
  RenewerJob,
  (record: SubscriptionRecord, exchange: RenewalExchange, deps: RenewDeps) => Promise<RenewOutcome>
> = { resubscribe, synchronize, checkpoint };

/** One sweep, then every job visible on the renewals queue, run to its outcome. */
export async function sweepAndRenew(
  world: FakeWorld,
): Promise<{ summary: SweepSummary; outcomes: RenewOutcome[] }> {
  const summary = await sweep(world.sweepDeps);
  return { summary, outcomes: await renewQueued(world) };
}

/** Every job visible on the renewals queue now, run as the renewer runs it. */
export async function renewQueued(world: FakeWorld): Promise<RenewOutcome[]> {
  const outcomes: RenewOutcome[] = [];
  for (const job of world.queue.receive()) {
    const opened = await openJob(job, world.renewDeps);
    outcomes.push(
      opened.kind === 'open'
        ? await JOBS[opened.job](opened.record, opened.exchange, world.renewDeps)
        : opened,
    );
  }
  return outcomes;
}
