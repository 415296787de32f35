/**
 * The sweep: once a minute, look at every subscription record and queue a renewal job for each
 * mailbox that needs one. It reads records with a parallel Scan rather than keeping a "stale"
 * index, because an index on the last-contact time would cost a write on every heartbeat of every
 * mailbox (docs/sweep-cost.md has the numbers).
 */
import type { Clock } from '../core/clock.ts';
import { forEachLimited } from '../core/concurrency.ts';
import { graphExpiringUnrenewed } from '../domain/graph-mailbox.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import { type LifecyclePolicy, shouldQueue, staleAt, type WorkReason, workFor } from '../domain/policy.ts';
import { NEEDS_ATTENTION_PREFIX, type RenewalJob, type RenewalQueue } from '../domain/renewal-job.ts';
import type { SubscriptionRecord } from '../domain/subscription.ts';

export interface RecordScan {
  /** Every subscription record (the adapter reads the table in parallel segments). */
  scan(): AsyncIterable<SubscriptionRecord>;
  /** Notes that work was queued, so the next sweeps do not queue it again. Best effort. */
  markQueued(mailboxKey: MailboxKey, generation: number, now: number): Promise<boolean>;
}

export interface SweepDeps {
  readonly records: RecordScan;
  readonly queue: RenewalQueue;
  readonly clock: Clock;
  readonly policy: LifecyclePolicy;
}

export interface SweepSummary {
  readonly scanned: number;
  readonly active: number;
  /** Active, but silent for more than 2 x StatusFrequency (+ slack). */
  readonly stale: number;
  /** Being added or renewed. */
  readonly renewing: number;
  readonly lost: number;
  /** Waiting for a human (an error renewal cannot fix by itself), among renewing and lost. */
  readonly needingAttention: number;
  readonly enqueued: number;
  readonly byReason: Readonly<Record<WorkReason, number>>;
  /** Mailboxes watched through Microsoft Graph (not removed). */
  readonly graphMailboxes: number;
  /** Graph mailboxes with a subscription a day or less from expiring: renewals are not working. */
  readonly graphExpiring: number;
}

export async function sweep(deps: SweepDeps): Promise<SweepSummary> {
  const now = deps.clock.now();
  const counts = {
    scanned: 0,
    active: 0,
    stale: 0,
    renewing: 0,
    lost: 0,
    needingAttention: 0,
    graphMailboxes: 0,
    graphExpiring: 0,
  };
  const byReason: Record<WorkReason, number> = {
    stale: 0,
    gap: 0,
    dead: 0,
    retry: 0,
    sync: 0,
    checkpoint: 0,
    renew: 0,
    lifecycle: 0,
  };
  const jobs: RenewalJob[] = [];
  for await (const record of deps.records.scan()) {
    counts.scanned++;
    if (record.source === 'graph' && record.state !== 'removed') counts.graphMailboxes++;
    if (graphExpiringUnrenewed(record, now)) counts.graphExpiring++;
    if (record.state === 'active') {
      counts.active++;
      const stale = staleAt(record, deps.policy);
      if (stale !== undefined && stale < now) counts.stale++;
    } else if (record.state === 'lost') {
      counts.lost++;
    } else if (record.state === 'renewing' || record.state === 'subscribing') {
      counts.renewing++;
    }
    if (
      (record.state === 'lost' || record.state === 'renewing' || record.state === 'subscribing') &&
      record.lastError?.startsWith(NEEDS_ATTENTION_PREFIX)
    ) {
      counts.needingAttention++;
    }
    const reason = workFor(record, now, deps.policy);
    if (reason === null || !shouldQueue(record, now, deps.policy)) continue;
    byReason[reason]++;
    jobs.push({ mailboxKey: record.mailboxKey, generation: record.generation, reason });
  }
  await deps.queue.enqueue(jobs);
  // After the send: a job marked but never sent would wait for requeueAfterMs; one sent twice
  // is harmless (the renewer claims a generation once).
  await forEachLimited(jobs, 16, (job) => deps.records.markQueued(job.mailboxKey, job.generation, now));
  return { ...counts, enqueued: jobs.length, byReason };
}
