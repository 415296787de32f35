/**
 * When a subscription needs the lifecycle, and how patiently it is retried. Pure functions of a
 * record and the time, shared by the sweeper (which finds work) and the renewer (which checks the
 * work is still needed when it gets to it).
 */
import { GRAPH_RESOURCES, graphRenewalDueAt } from './graph-mailbox.ts';
import type { SubscriptionRecord } from './subscription.ts';

export interface LifecyclePolicy {
  /** Added to 2 x StatusFrequency before a silent subscription counts as lost. @default 60 s */
  readonly staleSlackMs: number;
  /** A job queued this long ago and not started is queued again. @default 15 min */
  readonly requeueAfterMs: number;
  /** Failed renewal attempts after which the subscription is declared lost. @default 5 */
  readonly lostAfterAttempts: number;
  /** Time without a subscription after which it is declared lost, whatever the attempts. @default 30 min */
  readonly lostAfterMs: number;
  /** First retry delay; doubles per attempt, with jitter. @default 30 s */
  readonly retryBaseMs: number;
  /** Longest delay between attempts while not yet lost. @default 10 min */
  readonly retryMaxMs: number;
  /** Longest delay between attempts once lost ("keep retrying slowly"). @default 30 min */
  readonly lostRetryMs: number;
  /** Oldest watermark worth resuming from (Exchange keeps events 30 days). @default 29 days */
  readonly watermarkMaxAgeMs: number;
  /** Changes asked per SyncFolderItems call (Exchange's maximum is 512). @default 512 */
  readonly syncPageSize: number;
  /**
   * A renewal under way (a baseline being taken, a Subscribe waiting for Exchange) is left alone
   * this long after it last held its claim before the sweeper hands the mailbox to another
   * renewer. No longer than the renewer function's timeout, so the one before has stopped by then.
   * @default 5 min
   */
  readonly inFlightGraceMs: number;
  /**
   * How often a healthy mailbox's folder SyncStates are brought forward (renewer/checkpoint.ts),
   * which bounds how far back a catch-up reaches and how long the pushed-item list grows.
   * @default 24 h
   */
  readonly checkpointIntervalMs: number;
  /**
   * How long Graph goes on retrying one notification after it was first due before it discards
   * it (and as long again for the `missed` lifecycle notification that announces the loss): 4 h
   * (Learn, "Change notifications delivery"). Only a Graph checkpoint's proof depends on it
   * (`graphDeliverySpanMs`); a local run whose Graph stand-in retries for less (its
   * `retryLimitMs`) may say so, to prove checkpoints within a short run. Never set it below what
   * the real Graph does.
   * @default 4 h
   */
  readonly graphRetryLimitMs: number;
}

export const DEFAULT_POLICY: LifecyclePolicy = {
  staleSlackMs: 60_000,
  requeueAfterMs: 15 * 60_000,
  lostAfterAttempts: 5,
  lostAfterMs: 30 * 60_000,
  retryBaseMs: 30_000,
  retryMaxMs: 10 * 60_000,
  lostRetryMs: 30 * 60_000,
  watermarkMaxAgeMs: 29 * 24 * 3_600_000,
  syncPageSize: 512,
  inFlightGraceMs: 5 * 60_000,
  checkpointIntervalMs: 24 * 3_600_000,
  graphRetryLimitMs: 4 * 3_600_000,
};

/** Why a mailbox needs the lifecycle now. */
export type WorkReason =
  /** No push, not even a heartbeat, for more than 2 x StatusFrequency (+ slack). */
  | 'stale'
  /** The receiver saw a missed notification. */
  | 'gap'
  /** Exchange said the subscription is gone (error push). */
  | 'dead'
  /** A Subscribe is due: a mailbox just added (its baseline first), or another attempt after a failure. */
  | 'retry'
  /** Folder synchronization is owed (a catch-up after a fresh subscription). */
  | 'sync'
  /** A healthy mailbox's SyncStates (Graph: delta links) are due to be brought forward. */
  | 'checkpoint'
  /** Graph: a subscription is due for renewal (PATCH of its expiry), or one is missing. */
  | 'renew'
  /** Graph: lifecycle work the receiver noted (a lifecycle notification, a superseded subscription). */
  | 'lifecycle';

export const WORK_REASONS: readonly WorkReason[] = [
  'stale',
  'gap',
  'dead',
  'retry',
  'sync',
  'checkpoint',
  'renew',
  'lifecycle',
];

/**
 * The longest Exchange goes on delivering one push after first trying it: retries come 30 s after
 * a failure, each interval double the last, while the interval is at most StatusFrequency
 * (statusfrequency.md; ews-protocol.md section 2), so the last one is sent less than
 * 2 x StatusFrequency - 30 s after the first. A push received at time r was therefore built after
 * r - this - (its time in transit).
 */
export function pushRetrySpanMs(statusFrequencyMinutes: number): number {
  return 2 * statusFrequencyMinutes * 60_000;
}

/**
 * How long Graph may hold a notification back before its first attempt: since April 2026 an
 * endpoint that answered slowly gets new notifications delayed 10 minutes (shared protocol brief §7).
 */
export const GRAPH_HOLD_BACK_MS = 10 * 60_000;

/**
 * How long after a moment every Graph change made before it has been delivered or its loss
 * announced: Graph retries a notification up to `graphRetryLimitMs` (4 h) after it was first due
 * (which may be `GRAPH_HOLD_BACK_MS` late), then discards it, and a discarded (or otherwise
 * missed) notification is announced by a `missed` lifecycle notification, itself held back and
 * retried as long. So once this (plus slack for transit and
 * clocks) has passed since the end of a Graph checkpoint's take, each change before the take
 * reached the receiver, or a `missed` did, which owes a catch-up (graphWork), and the catch-up
 * replaces the stored links the checkpoint's pending ones were taken from, so they are never
 * promoted (renewer/graph-checkpoint.ts). A loss Graph never announces (no `missed`, no
 * `subscriptionRemoved`) is outside what any link can fix: no delta round ever reports a deletion
 * of an item created and deleted between two links.
 */
export function graphDeliverySpanMs(policy: LifecyclePolicy): number {
  return 2 * (GRAPH_HOLD_BACK_MS + policy.graphRetryLimitMs);
}

/** When a silent subscription is presumed lost (epoch ms), or undefined if it never spoke. */
export function staleAt(record: SubscriptionRecord, policy: LifecyclePolicy): number | undefined {
  // Graph has no heartbeat: silence says nothing about a Graph subscription.
  if (record.source === 'graph') return undefined;
  const since = record.lastContactAt;
  return since === undefined ? undefined : since + 2 * record.statusFrequency * 60_000 + policy.staleSlackMs;
}

/** What the lifecycle owes this mailbox now, or null if nothing. */
export function workFor(record: SubscriptionRecord, now: number, policy: LifecyclePolicy): WorkReason | null {
  if (record.state === 'removed') return null;
  if (record.source === 'graph') return graphWorkFor(record, now, policy);
  if (record.state !== 'active') {
    return (record.nextAttemptAt ?? record.updatedAt + policy.inFlightGraceMs) <= now ? 'retry' : null;
  }
  if (record.recovery !== undefined) return record.recovery;
  const stale = staleAt(record, policy);
  if (stale !== undefined && stale < now) return 'stale';
  if (record.syncWork !== undefined) return (record.nextAttemptAt ?? 0) <= now ? 'sync' : null;
  if (checkpointDueAt(record, policy) <= now) return 'checkpoint';
  return null;
}

/**
 * A Graph mailbox has no heartbeat to go stale: it needs the lifecycle when it is being set up or
 * retried, when a lifecycle notification asked for work (or a superseded subscription is to be
 * deleted), when a resource has no subscription, and when the earliest renewal is due; and,
 * with none of that owed, its checkpoint once due.
 */
function graphWorkFor(record: SubscriptionRecord, now: number, policy: LifecyclePolicy): WorkReason | null {
  if (record.state !== 'active') {
    return (record.nextAttemptAt ?? record.updatedAt + policy.inFlightGraceMs) <= now ? 'retry' : null;
  }
  if ((record.nextAttemptAt ?? 0) > now) return null;
  const work = record.graphWork ?? {};
  if (GRAPH_RESOURCES.some((r) => (work[r]?.length ?? 0) > 0) || (record.graphObsolete?.length ?? 0) > 0)
    return 'lifecycle';
  const graph = record.graph;
  if (graph === undefined || GRAPH_RESOURCES.some((r) => graph[r]?.subscriptionId === undefined))
    return 'renew';
  const due = graphRenewalDueAt(graph);
  if (due !== undefined && due <= now) return 'renew';
  // Nothing else owed: the delta links are brought forward once an interval (renewer/graph-checkpoint.ts).
  return checkpointDueAt(record, policy) <= now ? 'checkpoint' : null;
}

/** When the mailbox's next checkpoint is due (a record from before checkpoints: one interval after it was created). */
export function checkpointDueAt(record: SubscriptionRecord, policy: LifecyclePolicy): number {
  return record.checkpointDueAt ?? record.createdAt + policy.checkpointIntervalMs;
}

/**
 * A new mailbox's first checkpoint: anywhere from half an interval to one and a half after it is
 * watched. Mailboxes are added in bulk (a migration, a `mailboxes add` loop), and ±10% would bring
 * all their first checkpoints due within a fifth of an interval, their renewer jobs together with
 * whatever else the renewers have then (a local run at x48 fell behind on exactly that burst).
 * Spread over a whole interval, the following ones (±10% each) stay spread.
 */
export function firstCheckpointAt(now: number, policy: LifecyclePolicy, random: () => number): number {
  return now + Math.round(policy.checkpointIntervalMs * (0.5 + random()));
}

/** The next checkpoint time after one completes: one interval, spread ±10% so mailboxes added together drift apart. */
export function nextCheckpointAt(now: number, policy: LifecyclePolicy, random: () => number): number {
  return now + Math.round(policy.checkpointIntervalMs * (0.9 + 0.2 * random()));
}

/** Whether the sweeper should queue the work now (it may already be queued and waiting). */
export function shouldQueue(record: SubscriptionRecord, now: number, policy: LifecyclePolicy): boolean {
  return record.renewalQueuedAt === undefined || now - record.renewalQueuedAt >= policy.requeueAfterMs;
}

/**
 * Delay before the next attempt after `attempts` consecutive failures: exponential from
 * `retryBaseMs`, capped, with "full jitter" (a random point in the second half of the window) so
 * many mailboxes failing together (an Exchange outage) do not retry in lockstep.
 */
export function retryDelay(
  attempts: number,
  lost: boolean,
  policy: LifecyclePolicy,
  random: () => number,
): number {
  const cap = lost ? policy.lostRetryMs : policy.retryMaxMs;
  const window = Math.min(cap, policy.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(window / 2 + (random() * window) / 2);
}

/** Whether a run of failures has gone on long enough to call the subscription lost. */
export function isLost(
  attempts: number,
  firstFailureAt: number,
  now: number,
  policy: LifecyclePolicy,
): boolean {
  return attempts >= policy.lostAfterAttempts || now - firstFailureAt >= policy.lostAfterMs;
}
