/**
 * Driving the lifecycle on the fakes the way Lambda does: the sweeper's run queues jobs, the
 * renewer opens each one and runs the job the record says is owed (batch.ts's dispatch).
 */
import { runOpened } from '../../../functions/renewer/batch.ts';
import { openJob, type RenewOutcome } from '../../../functions/renewer/job.ts';
import { type SweepSummary, sweep } from '../../../functions/sweeper/sweep.ts';
import type { FakeWorld } from './index.ts';

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
    outcomes.push(await runOpened(await openJob(job, world.renewDeps), world.renewDeps));
  }
  return outcomes;
}
