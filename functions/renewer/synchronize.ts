/**
 * The SyncFolderItems job: the folder synchronization a mailbox is owed. After a fresh Subscribe
 * (the watermark was too old or rejected), a catch-up: every change since the stored SyncStates,
 * then the deletions it cannot see (reconcile.ts), published as resync events. Or a baseline an
 * active record still owes. A failure is retried later; throttling waits as long as Exchange asked.
 */
import { ok, type Result } from '../core/result.ts';
import { nextCheckpointAt, retryDelay } from '../domain/policy.ts';
import type { SubscriptionRecord } from '../domain/subscription.ts';
import {
  publishLifecycle,
  type RenewalExchange,
  type RenewDeps,
  type RenewOutcome,
  syncDepsOf,
} from './job.ts';
import { reconcilePushedItemList } from './reconcile.ts';
import { catchUp, type SyncDeps, type SyncFailure, takeBaseline } from './sync.ts';

export async function synchronize(
  record: SubscriptionRecord,
  exchange: RenewalExchange,
  deps: RenewDeps,
): Promise<RenewOutcome> {
  const work = record.syncWork;
  if (work === undefined) return { kind: 'skipped', why: 'healthy' };
  const syncDeps = syncDepsOf(exchange, deps);
  // A baseline owed by an active record: one an earlier version subscribed before taking it.
  const result =
    work === 'baseline'
      ? await takeBaseline(record, syncDeps)
      : await catchUpAndReconcile(record, exchange, syncDeps, deps);
  const now = deps.clock.now();
  if (!result.ok) {
    const error = result.error;
    const throttled = error.category === 'ServerBusy';
    const delayMs = throttled
      ? (error.backOffMilliseconds ?? deps.policy.retryBaseMs)
      : retryDelay(1, false, deps.policy, deps.random);
    await deps.store.deferSync({
      mailboxKey: record.mailboxKey,
      generation: record.generation,
      error: error.message,
      nextAttemptAt: now + delayMs,
      now,
    });
    await deps.queue.requeue(
      { mailboxKey: record.mailboxKey, generation: record.generation, reason: 'sync' },
      delayMs,
    );
    return throttled
      ? { kind: 'throttled', delayMs }
      : {
          kind: 'failed',
          error: error.message,
          needsAttention: false,
          lost: false,
          becameLost: false,
          nextAttemptAt: now + delayMs,
        };
  }
  await deps.store.finishSync({
    mailboxKey: record.mailboxKey,
    generation: record.generation,
    now,
    checkpointDueAt: nextCheckpointAt(now, deps.policy, deps.random),
  });
  if (!('published' in result.value)) return { kind: 'synced', work, published: 0 };
  const { published, deleted, checked } = result.value;
  await publishLifecycle(
    record,
    ['resynced'],
    {
      generation: record.generation,
      subscriptionId: record.subscriptionId ?? null,
      previousSubscriptionId: null,
      detail: `${published} change(s) found by SyncFolderItems, and ${deleted} deletion(s) found by GetItem among ${checked} pushed item(s) it did not name (${record.syncReason ?? 'watermarkExpired'})`,
    },
    deps,
  );
  return { kind: 'synced', work, published: published + deleted };
}

/** The catch-up, then the deletions it cannot see (reconcile.ts). */
async function catchUpAndReconcile(
  record: SubscriptionRecord,
  exchange: RenewalExchange,
  syncDeps: SyncDeps,
  deps: RenewDeps,
): Promise<Result<{ published: number; deleted: number; checked: number }, SyncFailure>> {
  const startedAt = deps.clock.now();
  const reason = record.syncReason ?? 'watermarkExpired';
  const caught = await catchUp(record, reason, syncDeps);
  if (!caught.ok) return caught;
  const reconciled = await reconcilePushedItemList(record, reason, caught.value.reported, startedAt, {
    exchange,
    pushedItemList: deps.pushedItemList,
    publisher: deps.publisher,
    clock: deps.clock,
    ...(deps.progress ? { progress: deps.progress } : {}),
  });
  if (!reconciled.ok) return reconciled;
  return ok({
    published: caught.value.published,
    deleted: reconciled.value.deleted,
    checked: reconciled.value.checked,
  });
}
