/**
 * One renewal job, whichever it turns out to be: what the renewer's jobs need and can come to,
 * how a job is opened (is it still wanted, and which job does the mailbox need now?), and how a
 * failed one is recorded. The jobs themselves are resubscribe.ts (Subscribe), synchronize.ts
 * (SyncFolderItems catch-up) and checkpoint.ts; batch.ts, the edge, hands each queued job to one.
 *
 * One job per mailbox at a time: a job is for one generation of the record, and each job claims
 * the record (a new generation, or a checkpoint lease) before it acts.
 */

import type { LifecycleKind, ResyncEventData } from '../../events/bridge-event.ts';
import type { Clock } from '../core/clock.ts';
import type { Result } from '../core/result.ts';
import type { CallbackKey } from '../domain/callback.ts';
import { type EventPublisher, toLifecycleCloudEvent } from '../domain/events.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import { isLost, type LifecyclePolicy, retryDelay, type WorkReason, workFor } from '../domain/policy.ts';
import {
  NEEDS_ATTENTION_PREFIX,
  type RenewalFailure,
  type RenewalJob,
  type RenewalQueue,
} from '../domain/renewal-job.ts';

export type { RenewalFailure };

import type { SubscriptionRecord, SubscriptionState, SyncWork } from '../domain/subscription.ts';
import { ExchangeRequestError } from '../ews/errors.ts';
import type { PushSubscriptionRequest, SubscribeResult } from '../ews/subscribe.ts';
import type { CheckpointOutcome, CheckpointRecords, CheckpointStore } from './checkpoint.ts';
import type { GraphCheckpointOutcome, GraphCheckpointRecords } from './graph-checkpoint.ts';
import type {
  GraphDeltaStore,
  GraphFailureKind,
  GraphLifecycleClient,
  GraphLifecycleStore,
  GraphRenewOutcome,
} from './graph-lifecycle.ts';
import type { ItemChecker, PushedItemList, PushedItemWriter } from './reconcile.ts';
import type { FolderLister, FolderSyncer, SyncDeps, SyncFailure } from './sync.ts';

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
  /** Graph's catch-ups and checkpoints also write entries (PushedItemWriter). */
  readonly pushedItemList: PushedItemList & PushedItemWriter;
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
  /**
   * Graph mailboxes (renewer/graph-lifecycle.ts): the delta links, the Graph client per
   * connection and the record's Graph writes. Without it a Graph mailbox's job fails as not
   * configured (and is retried slowly), as a missing EWS connection does.
   */
  readonly graph?: {
    readonly store: GraphLifecycleStore & Pick<GraphCheckpointRecords, 'requestGraphWork'>;
    readonly deltas: GraphDeltaStore;
    readonly client: (connection: string) => Promise<GraphLifecycleClient | undefined>;
  };
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
  /** Exchange (or Graph) is throttling: asked again after the delay it gave; not a failure. */
  | { readonly kind: 'throttled'; readonly delayMs: number }
  /** A Graph mailbox's lifecycle ran (renewer/graph-lifecycle.ts). */
  | Extract<GraphRenewOutcome, { readonly kind: 'graphSettled' }>
  /** A Graph mailbox's checkpoint ran (renewer/graph-checkpoint.ts). */
  | Extract<GraphCheckpointOutcome, { readonly kind: 'graphCheckpointed' }>
  | {
      readonly kind: 'failed';
      readonly error: string;
      readonly needsAttention: boolean;
      readonly lost: boolean;
      /** True on the attempt that declared the subscription lost. */
      readonly becameLost: boolean;
      readonly nextAttemptAt: number;
      /** A Graph mailbox's lifecycle failed (its metrics and alarms are Graph's own). */
      readonly graph?: GraphFailureKind;
    };

/** The renewer's jobs, each its own entry point: resubscribe.ts, synchronize.ts, checkpoint.ts. */
export type RenewerJob = 'resubscribe' | 'synchronize' | 'checkpoint';

/** Which job does the work a mailbox is owed. */
export function jobFor(work: WorkReason): RenewerJob {
  if (work === 'sync') return 'synchronize';
  if (work === 'checkpoint') return 'checkpoint';
  return 'resubscribe';
}

/** A queued job of a Graph mailbox: its checkpoint (graph-checkpoint.ts), or graph-lifecycle.ts for any other reason. */
export interface OpenedGraphJob {
  readonly kind: 'graph';
  readonly job: 'lifecycle' | 'checkpoint';
  readonly record: SubscriptionRecord;
}

/** A queued job the mailbox still needs, with its record and its Exchange connection. */
export interface OpenedJob {
  readonly kind: 'open';
  readonly job: RenewerJob;
  readonly record: SubscriptionRecord;
  readonly exchange: RenewalExchange;
}

/**
 * Opens a queued job: the record must still be at the job's generation, and the job done is the
 * one the record says is owed now (not the one the message was queued for, which may be out of
 * date). Nothing owed, or no such connection: the outcome, with no job to run.
 */
export async function openJob(
  job: RenewalJob,
  deps: RenewDeps,
): Promise<OpenedJob | OpenedGraphJob | RenewOutcome> {
  const record = await deps.store.get(job.mailboxKey);
  if (record === undefined || record.state === 'removed') return { kind: 'skipped', why: 'removed' };
  if (record.generation !== job.generation) return { kind: 'skipped', why: 'superseded' };
  const work = workFor(record, deps.clock.now(), deps.policy);
  if (work === null) {
    await deps.store.clearQueued(record.mailboxKey, record.generation);
    return { kind: 'skipped', why: 'healthy' };
  }
  if (record.source === 'graph')
    return { kind: 'graph', job: work === 'checkpoint' ? 'checkpoint' : 'lifecycle', record };
  const exchange = await deps.exchange(record.connection);
  if (exchange === undefined) {
    return fail(
      record,
      record.generation,
      record.state,
      new ConnectionNotConfiguredError(record.connection),
      deps,
    );
  }
  return { kind: 'open', job: jobFor(work), record, exchange };
}

export function syncDepsOf(exchange: RenewalExchange, deps: RenewDeps): SyncDeps {
  return {
    exchange,
    syncStates: deps.syncStates,
    publisher: deps.publisher,
    clock: deps.clock,
    pageSize: deps.policy.syncPageSize,
    ...(deps.progress ? { progress: deps.progress } : {}),
  };
}

export async function fail(
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

export async function publishLifecycle(
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

/** The mailbox names a connection the connections secret does not hold: nothing was sent. */
export class ConnectionNotConfiguredError extends ExchangeRequestError {
  override readonly name = 'ConnectionNotConfiguredError';
  readonly connection: string;

  constructor(connection: string) {
    super(
      `Exchange connection "${connection}" is not configured; add it to the connections secret (README, "Exchange connections")`,
      { retryable: false },
    );
    this.connection = connection;
  }
}
