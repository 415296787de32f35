/**
 * Renewal: replace a lost, silent or damaged subscription without losing a change, or do the
 * folder synchronization a mailbox is owed. One job per mailbox at a time, claimed by moving the
 * record to a new generation (a new callback URL), so a duplicate job or a renewal that outlived
 * its worker cannot produce two current subscriptions: any subscription on an older generation is
 * answered Unsubscribe by the receiver.
 *
 * A mailbox's first subscription comes after its baseline: every folder's SyncState is taken
 * before Subscribe is sent, so whatever Exchange loses later, a catch-up from those SyncStates
 * reports every change made since the subscription. Taken after it, a SyncState could absorb a
 * change Exchange had not pushed yet and then lost with the subscription.
 *
 * Later: resume first (Subscribe with the last good watermark: Exchange replays what was missed).
 * If the watermark is too old or rejected (a moved mailbox), subscribe fresh and catch up with
 * SyncFolderItems. ErrorServerBusy waits as long as Exchange asked and is not a failure; other
 * failures back off with jitter until the subscription is declared lost, and keep being retried.
 */

import type { LifecycleKind, ResyncEventData } from '../../events/bridge-event.ts';
import type { Clock } from '../core/clock.ts';
import { ok, type Result } from '../core/result.ts';
import { type CallbackKey, callbackUrl } from '../domain/callback.ts';
import { type EventPublisher, toLifecycleCloudEvent } from '../domain/events.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import { isLost, type LifecyclePolicy, retryDelay, workFor } from '../domain/policy.ts';
import { NEEDS_ATTENTION_PREFIX, type RenewalJob, type RenewalQueue } from '../domain/renewal-job.ts';
import type { SubscriptionRecord, SubscriptionState, SyncWork } from '../domain/subscription.ts';
import type { PushSubscriptionRequest, SubscribeResult } from '../ews/subscribe.ts';
import {
  type CheckpointOutcome,
  type CheckpointRecords,
  type CheckpointStore,
  checkpoint,
  nextCheckpointAt,
} from './checkpoint.ts';
import { type ItemChecker, type PushedItemList, reconcilePushedItems } from './reconcile.ts';
import {
  BaselineSupersededError,
  catchUp,
  type FolderLister,
  type FolderSyncer,
  type SyncDeps,
  type SyncFailure,
  takeBaseline,
} from './sync.ts';

/** What Exchange said when a call failed, as far as the lifecycle acts on it. */
export interface ExchangeFailure extends SyncFailure {
  /** False when only a human can fix it (credentials, rights, subscription limit, EWS disabled). */
  readonly retryable?: boolean;
}

export interface RenewalExchange extends FolderSyncer, FolderLister, ItemChecker {
  subscribe(
    mailbox: string,
    request: PushSubscriptionRequest,
  ): Promise<Result<SubscribeResult, ExchangeFailure>>;
}

/** Moves the record to a new generation with no SubscriptionId, if it is still at `fromGeneration`. */
export interface BeginRenewal {
  readonly mailboxKey: MailboxKey;
  readonly fromGeneration: number;
  readonly toGeneration: number;
  readonly state: SubscriptionState;
  readonly now: number;
}

/** Makes the new subscription current (unless the receiver adopted it already) and clears the failure. */
export interface CompleteRenewal {
  readonly mailboxKey: MailboxKey;
  readonly generation: number;
  readonly subscriptionId: string;
  readonly watermark: string;
  readonly now: number;
  readonly syncWork: SyncWork | undefined;
  readonly syncReason: ResyncEventData['reason'] | undefined;
}

export interface RenewalFailure {
  readonly mailboxKey: MailboxKey;
  readonly generation: number;
  readonly state: SubscriptionState;
  readonly error: string;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly firstFailureAt: number | undefined;
  readonly lost: boolean;
  readonly now: number;
}

/** A lifecycle write guarded by the generation it was decided at. */
export interface AtGeneration {
  readonly mailboxKey: MailboxKey;
  readonly generation: number;
  readonly now: number;
}

export interface LifecycleStore extends CheckpointRecords {
  /** Also clears the retry time: the sweeper leaves a renewal under way alone (inFlightGraceMs). */
  beginRenewal(args: BeginRenewal): Promise<boolean>;
  /**
   * Renews the claim of a renewal under way (its `updatedAt`), if the record is still at
   * `generation`: the sweeper hands the mailbox to another renewer only after inFlightGraceMs
   * without one.
   */
  holdClaim(args: AtGeneration): Promise<boolean>;
  completeRenewal(args: CompleteRenewal): Promise<boolean>;
  recordFailure(args: RenewalFailure): Promise<boolean>;
  /** The owed synchronization is done; the first checkpoint is due at `checkpointDueAt`. */
  finishSync(args: AtGeneration & { readonly checkpointDueAt: number }): Promise<boolean>;
  /** The synchronization failed; try again at `nextAttemptAt`. */
  deferSync(
    args: AtGeneration & { readonly error: string; readonly nextAttemptAt: number },
  ): Promise<boolean>;
  /** Nothing was needed after all: let the sweeper queue it again when it is. */
  clearQueued(mailboxKey: MailboxKey, generation: number): Promise<boolean>;
}

export interface RenewDeps {
  readonly store: LifecycleStore;
  readonly syncStates: CheckpointStore;
  readonly pushedItems: PushedItemList;
  /** The Exchange connection a mailbox uses, or undefined when it is not configured. */
  readonly exchange: (connection: string) => Promise<RenewalExchange | undefined>;
  readonly queue: RenewalQueue;
  readonly publisher: EventPublisher;
  readonly callbackBaseUrl: string;
  readonly callbackKey: () => Promise<CallbackKey>;
  readonly clock: Clock;
  readonly policy: LifecyclePolicy;
  /** For jitter; injectable so tests are deterministic. */
  readonly random: () => number;
  readonly progress?: (line: string) => void;
}

export type RenewOutcome =
  | { readonly kind: 'skipped'; readonly why: 'removed' | 'superseded' | 'healthy' | 'raced' }
  /** A subscription is current again; `how` says from where. */
  | {
      readonly kind: 'subscribed';
      readonly how: 'resumed' | 'fresh' | 'first';
      readonly subscriptionId: string;
      readonly generation: number;
      readonly recovered: boolean;
      readonly resyncPublished: number;
    }
  | { readonly kind: 'synced'; readonly work: SyncWork; readonly published: number }
  | Exclude<CheckpointOutcome, { readonly kind: 'skipped' }>
  /** Exchange is throttling: asked again after the delay it gave; not a failure. */
  | { readonly kind: 'throttled'; readonly delayMs: number }
  | {
      readonly kind: 'failed';
      readonly error: string;
      readonly needsAttention: boolean;
      readonly lost: boolean;
      /** True on the attempt that declared the subscription lost. */
      readonly becameLost: boolean;
      readonly nextAttemptAt: number;
    };

export async function renew(job: RenewalJob, deps: RenewDeps): Promise<RenewOutcome> {
  const record = await deps.store.get(job.mailboxKey);
  if (record === undefined || record.state === 'removed') return { kind: 'skipped', why: 'removed' };
  if (record.generation !== job.generation) return { kind: 'skipped', why: 'superseded' };
  const work = workFor(record, deps.clock.now(), deps.policy);
  if (work === null) {
    await deps.store.clearQueued(record.mailboxKey, record.generation);
    return { kind: 'skipped', why: 'healthy' };
  }
  const exchange = await deps.exchange(record.connection);
  if (exchange === undefined) {
    return fail(record, record.generation, record.state, notConfigured(record.connection), deps);
  }
  if (work === 'sync') return synchronize(record, exchange, deps);
  if (work === 'checkpoint') return checkpoint(record, exchange, deps);
  return resubscribe(record, exchange, deps);
}

async function resubscribe(
  record: SubscriptionRecord,
  exchange: RenewalExchange,
  deps: RenewDeps,
): Promise<RenewOutcome> {
  const { policy } = deps;
  const now = deps.clock.now();
  const generation = record.generation + 1;
  const state: SubscriptionState =
    record.state === 'lost' || record.state === 'subscribing' ? record.state : 'renewing';
  if (
    !(await deps.store.beginRenewal({
      mailboxKey: record.mailboxKey,
      fromGeneration: record.generation,
      toGeneration: generation,
      state,
      now,
    }))
  ) {
    return { kind: 'skipped', why: 'raced' };
  }
  const request: PushSubscriptionRequest = {
    folders: record.folders,
    eventTypes: record.eventTypes,
    statusFrequency: record.statusFrequency,
    url: callbackUrl(deps.callbackBaseUrl, await deps.callbackKey(), record.mailboxKey, generation),
  };
  const hadSubscription = record.watermark !== undefined;
  if (!hadSubscription) {
    const baseline = await takeBaseline({ ...record, generation }, syncDepsOf(exchange, deps), () =>
      deps.store.holdClaim({ mailboxKey: record.mailboxKey, generation, now: deps.clock.now() }),
    );
    if (!baseline.ok) {
      if (baseline.error instanceof BaselineSupersededError) return { kind: 'skipped', why: 'raced' };
      return fail({ ...record, generation }, generation, state, baseline.error, deps);
    }
  }
  const resumeFrom = record.recoveryWatermark ?? record.watermark;
  // The watermark is refreshed by every heartbeat, so the last contact dates it.
  const usable =
    resumeFrom !== undefined &&
    record.lastContactAt !== undefined &&
    now - record.lastContactAt <= policy.watermarkMaxAgeMs;
  let syncReason: ResyncEventData['reason'] | undefined;
  let subscribed: Result<SubscribeResult, ExchangeFailure>;
  if (usable) {
    subscribed = await exchange.subscribe(record.mailbox, { ...request, watermark: resumeFrom });
    if (!subscribed.ok && subscribed.error.category === 'InvalidWatermark') {
      deps.progress?.(`${record.mailbox}: the watermark was rejected; subscribing fresh and catching up`);
      syncReason = 'watermarkRejected';
      subscribed = await exchange.subscribe(record.mailbox, request);
    }
  } else {
    if (hadSubscription) syncReason = 'watermarkExpired';
    subscribed = await exchange.subscribe(record.mailbox, request);
  }
  if (!subscribed.ok) return fail({ ...record, generation }, generation, state, subscribed.error, deps);

  const { subscriptionId } = subscribed.value;
  // A first subscription owes nothing (its baseline came first); a fresh one after a loss owes a
  // catch-up; a resumed one keeps whatever synchronization was still owed.
  const syncWork: SyncWork | undefined =
    syncReason !== undefined ? 'catchUp' : hadSubscription ? record.syncWork : undefined;
  const completed = await deps.store.completeRenewal({
    mailboxKey: record.mailboxKey,
    generation,
    subscriptionId,
    watermark: subscribed.value.watermark,
    now: deps.clock.now(),
    syncWork,
    syncReason: syncReason ?? (syncWork === 'catchUp' ? record.syncReason : undefined),
  });
  if (!completed) return { kind: 'skipped', why: 'raced' };

  const how = !hadSubscription ? 'first' : syncReason !== undefined ? 'fresh' : 'resumed';
  if (how === 'first') {
    await deps.store.scheduleCheckpoint({
      mailboxKey: record.mailboxKey,
      generation,
      dueAt: nextCheckpointAt(deps.clock.now(), policy, deps.random),
      now: deps.clock.now(),
    });
  }
  const recovered = record.state === 'lost';
  const lifecycle: LifecycleKind[] = [];
  if (how === 'first') lifecycle.push('created');
  if (how === 'resumed') lifecycle.push('renewed');
  if (recovered) lifecycle.push('recovered');
  await publishLifecycle(
    record,
    lifecycle,
    { generation, subscriptionId, previousSubscriptionId: record.subscriptionId ?? null, detail: null },
    deps,
  );

  let resyncPublished = 0;
  const current = await deps.store.get(record.mailboxKey);
  if (current !== undefined && current.syncWork !== undefined && current.generation === generation) {
    const synced = await synchronize(current, exchange, deps);
    if (synced.kind === 'synced') resyncPublished = synced.published;
  }
  return { kind: 'subscribed', how, subscriptionId, generation, recovered, resyncPublished };
}

async function synchronize(
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

function syncDepsOf(exchange: RenewalExchange, deps: RenewDeps): SyncDeps {
  return {
    exchange,
    syncStates: deps.syncStates,
    publisher: deps.publisher,
    clock: deps.clock,
    pageSize: deps.policy.syncPageSize,
    ...(deps.progress ? { progress: deps.progress } : {}),
  };
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
  const reconciled = await reconcilePushedItems(record, reason, caught.value.reported, startedAt, {
    exchange,
    pushedItems: deps.pushedItems,
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

async function fail(
  record: SubscriptionRecord,
  generation: number,
  state: SubscriptionState,
  error: ExchangeFailure,
  deps: RenewDeps,
): Promise<RenewOutcome> {
  const { policy } = deps;
  const now = deps.clock.now();
  if (error.category === 'ServerBusy') {
    // Throttling is Exchange asking for patience, not a failure: wait exactly as long as told.
    const delayMs = error.backOffMilliseconds ?? policy.retryBaseMs;
    await deps.store.recordFailure({
      mailboxKey: record.mailboxKey,
      generation,
      state,
      error: `throttled by Exchange (ErrorServerBusy), retrying after ${delayMs} ms`,
      attempts: record.attempts,
      nextAttemptAt: now + delayMs,
      firstFailureAt: record.firstFailureAt,
      lost: false,
      now,
    });
    await deps.queue.requeue({ mailboxKey: record.mailboxKey, generation, reason: 'retry' }, delayMs);
    return { kind: 'throttled', delayMs };
  }
  const attempts = record.attempts + 1;
  const firstFailureAt = record.firstFailureAt ?? now;
  const lost = isLost(attempts, firstFailureAt, now, policy);
  const needsAttention = error.retryable === false;
  const message = `${needsAttention ? NEEDS_ATTENTION_PREFIX : ''}${error.message}`;
  const nextAttemptAt = now + retryDelay(attempts, lost, policy, deps.random);
  await deps.store.recordFailure({
    mailboxKey: record.mailboxKey,
    generation,
    state: lost ? 'lost' : state,
    error: message,
    attempts,
    nextAttemptAt,
    firstFailureAt,
    lost,
    now,
  });
  const becameLost = lost && record.state !== 'lost';
  if (becameLost) {
    await publishLifecycle(
      record,
      ['lost'],
      {
        generation,
        subscriptionId: null,
        previousSubscriptionId: record.subscriptionId ?? null,
        detail: `${attempts} attempt(s) since ${new Date(firstFailureAt).toISOString()} failed; last: ${message}`,
      },
      deps,
      String(firstFailureAt),
    );
  }
  return { kind: 'failed', error: message, needsAttention, lost, becameLost, nextAttemptAt };
}

async function publishLifecycle(
  record: SubscriptionRecord,
  kinds: readonly LifecycleKind[],
  fields: {
    generation: number;
    subscriptionId: string | null;
    previousSubscriptionId: string | null;
    detail: string | null;
  },
  deps: RenewDeps,
  discriminator?: string,
): Promise<void> {
  if (kinds.length === 0) return;
  const at = deps.clock.now();
  await deps.publisher.publish(
    record.mailboxKey,
    kinds.map((kind) =>
      toLifecycleCloudEvent({
        mailbox: record.mailbox,
        mailboxKey: record.mailboxKey,
        kind,
        ...fields,
        at,
        ...(discriminator === undefined ? {} : { discriminator }),
      }),
    ),
  );
}

function notConfigured(connection: string): ExchangeFailure {
  return Object.assign(
    new Error(
      `Exchange connection "${connection}" is not configured; add it to the connections secret (README, "Exchange connections")`,
    ),
    { retryable: false },
  );
}
