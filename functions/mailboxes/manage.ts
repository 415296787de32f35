/**
 * Adding, removing, listing and inspecting watched mailboxes: the operations behind the
 * `mailboxes` CLI and the admin function. Pure domain code over two ports: the records and the
 * Exchange connections.
 *
 * Adding a mailbox creates its record first (generation 1, or the next one after a removal) and
 * only then subscribes, because Exchange may push before Subscribe even answers; the receiver
 * adopts such a push (the renewal race). A Subscribe that fails leaves the record `subscribing`
 * with the error, for the lifecycle to retry and for operators to see.
 */
import type { Clock } from '../core/clock.ts';
import { err, ok, type Result } from '../core/result.ts';
import { showValue } from '../core/show.ts';
import { type CallbackKey, callbackUrl } from '../domain/callback.ts';
import { toLifecycleCloudEvent } from '../domain/events.ts';
import {
  isPlausibleMailbox,
  type MailboxKey,
  mailboxKeyOf,
  normalizeMailbox,
} from '../domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../domain/subscription.ts';
import { InvalidEwsRequestError } from '../ews/errors.ts';
import type { FolderRef } from '../ews/request.ts';
import {
  encodeSubscribe,
  type PushSubscriptionRequest,
  type SubscribableEventType,
  type SubscribeResult,
} from '../ews/subscribe.ts';
import type { FolderSyncState } from '../lifecycle/sync.ts';
import type { EventPublisher } from '../receiver/receive.ts';

/** What an operator asks for when adding a mailbox. */
export interface MailboxSpec {
  readonly mailbox: string;
  /** The Exchange connection (EWS URL + credentials) to reach it through. */
  readonly connection: string;
  readonly folders: 'all' | readonly FolderRef[];
  readonly eventTypes: readonly SubscribableEventType[];
  /** Minutes between heartbeats, 1–1440. */
  readonly statusFrequency: number;
}

/** Anything a subscribe call can fail with: typed by the EWS client, shown by its message. */
export interface SubscribeFailure extends Error {
  /** Whether trying again later can succeed without a human changing something. */
  readonly retryable?: boolean;
}

/** One Exchange connection, as far as managing mailboxes needs it. */
export interface Subscriber {
  subscribe(
    mailbox: string,
    request: PushSubscriptionRequest,
  ): Promise<Result<SubscribeResult, SubscribeFailure>>;
}

export interface MailboxRecords {
  get(mailboxKey: MailboxKey): Promise<SubscriptionRecord | undefined>;
  /** Creates the record unless one exists that is not removed; `expectedPrevious` guards the generation. */
  create(record: SubscriptionRecord, expectedPrevious: SubscriptionRecord | undefined): Promise<boolean>;
  /** Makes a Subscribe's answer current, unless the receiver already adopted it (then only the state). */
  storeSubscription(args: StoreSubscription): Promise<boolean>;
  /** Records a failed Subscribe attempt for the lifecycle to retry. */
  recordFailure(args: RecordFailure): Promise<boolean>;
  markRemoved(mailboxKey: MailboxKey, now: number): Promise<boolean>;
  list(): AsyncIterable<SubscriptionRecord>;
}

export interface StoreSubscription {
  readonly mailboxKey: MailboxKey;
  readonly generation: number;
  readonly subscriptionId: string;
  readonly watermark: string;
  readonly now: number;
}

export interface RecordFailure {
  readonly mailboxKey: MailboxKey;
  readonly generation: number;
  readonly error: string;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly now: number;
}

export interface ManageDeps {
  readonly records: MailboxRecords;
  /** The subscriber for a connection name, or undefined when no such connection is configured. */
  readonly connection: (name: string) => Promise<Subscriber | undefined>;
  readonly connectionNames: () => Promise<readonly string[]>;
  /** The API's base URL that callback URLs are built on. */
  readonly callbackBaseUrl: string;
  readonly callbackKey: () => Promise<CallbackKey>;
  readonly clock: Clock;
  /** Where lifecycle events (created, removed) go: the ingest queue, like every event. */
  readonly publisher: EventPublisher;
  /** Per-folder synchronization state: shown by `show`, forgotten when a mailbox is removed. */
  readonly syncStates: SyncProgress;
  /** Progress for people watching (the CLI prints it). */
  readonly progress?: (step: string) => void;
}

export interface SyncProgress {
  list(mailboxKey: MailboxKey): Promise<FolderSyncState[]>;
  clear(mailboxKey: MailboxKey): Promise<void>;
}

// ---- errors -----------------------------------------------------------------------------------

/** The request itself is wrong (address, folder, event type, frequency, unknown connection). */
export class InvalidMailboxSpecError extends Error {
  override readonly name = 'InvalidMailboxSpecError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export class MailboxAlreadyWatchedError extends Error {
  override readonly name = 'MailboxAlreadyWatchedError';
  readonly record: SubscriptionRecord;
  constructor(record: SubscriptionRecord) {
    super(
      `${record.mailbox} is already watched (state ${record.state}, generation ${record.generation}); use "show" to inspect it, or "remove" it first to change its folders or connection`,
    );
    this.record = record;
  }
}

export class MailboxNotWatchedError extends Error {
  override readonly name = 'MailboxNotWatchedError';
  constructor(mailbox: string) {
    super(`${showValue(mailbox)} is not a watched mailbox; "list" shows the watched ones`);
  }
}

/** The record was created but Exchange refused or could not be reached; the lifecycle retries. */
export class SubscribeFailedError extends Error {
  override readonly name = 'SubscribeFailedError';
  readonly record: SubscriptionRecord;
  readonly failure: SubscribeFailure;
  constructor(record: SubscriptionRecord, cause: SubscribeFailure) {
    super(
      `${record.mailbox} is registered, but Subscribe failed: ${cause.message}. ${
        cause.retryable === false
          ? 'This needs a fix on your side before a retry can work; the bridge keeps retrying slowly and alarms meanwhile'
          : 'The bridge retries with back-off'
      }; "remove" the mailbox to stop.`,
    );
    this.record = record;
    this.failure = cause;
  }
}

/** Someone else changed the record while this operation ran (e.g. two operators at once). */
export class ConcurrentChangeError extends Error {
  override readonly name = 'ConcurrentChangeError';
  constructor(mailbox: string) {
    super(`the record of ${mailbox} changed while this operation ran; run it again`);
  }
}

export type AddMailboxError =
  | InvalidMailboxSpecError
  | MailboxAlreadyWatchedError
  | SubscribeFailedError
  | ConcurrentChangeError;

// ---- operations ---------------------------------------------------------------------------------

/** First retry of a failed initial Subscribe; later ones back off (the lifecycle decides). */
const FIRST_RETRY_DELAY_MS = 60_000;

export async function addMailbox(
  spec: MailboxSpec,
  deps: ManageDeps,
): Promise<Result<SubscriptionRecord, AddMailboxError>> {
  const progress = deps.progress ?? (() => {});
  const mailbox = normalizeMailbox(spec.mailbox);
  if (!isPlausibleMailbox(mailbox)) {
    return err(new InvalidMailboxSpecError('mailbox', `${showValue(spec.mailbox)} is not an e-mail address`));
  }
  const subscriber = await deps.connection(spec.connection);
  if (subscriber === undefined) {
    const names = await deps.connectionNames();
    return err(
      new InvalidMailboxSpecError(
        'connection',
        `no Exchange connection named ${showValue(spec.connection)}; configured: ${names.length === 0 ? '(none — see README, "Exchange connections")' : names.join(', ')}`,
      ),
    );
  }
  const mailboxKey = mailboxKeyOf(mailbox);
  const key = await deps.callbackKey();

  progress(`checking ${mailbox}`);
  const existing = await deps.records.get(mailboxKey);
  if (existing !== undefined && existing.state !== 'removed')
    return err(new MailboxAlreadyWatchedError(existing));
  // Generations never repeat for a mailbox: a push for a subscription made before a removal
  // must not be mistaken for the new one.
  const generation = (existing?.generation ?? 0) + 1;
  const url = callbackUrl(deps.callbackBaseUrl, key, mailboxKey, generation);
  const request: PushSubscriptionRequest = {
    folders: spec.folders,
    eventTypes: spec.eventTypes,
    statusFrequency: spec.statusFrequency,
    url,
  };
  try {
    // Everything Exchange would refuse is refused here, before anything is stored.
    encodeSubscribe(request);
  } catch (e) {
    if (e instanceof InvalidEwsRequestError) return err(new InvalidMailboxSpecError(e.field, e.message));
    throw e;
  }

  const now = deps.clock.now();
  const record: SubscriptionRecord = {
    mailboxKey,
    mailbox,
    connection: spec.connection,
    folders: spec.folders,
    eventTypes: spec.eventTypes,
    statusFrequency: spec.statusFrequency,
    state: 'subscribing',
    generation,
    attempts: 0,
    createdAt: now,
    updatedAt: now,
  };
  progress(`registering ${mailbox} (generation ${generation})`);
  if (!(await deps.records.create(record, existing))) {
    const raced = await deps.records.get(mailboxKey);
    return err(
      raced !== undefined && raced.state !== 'removed'
        ? new MailboxAlreadyWatchedError(raced)
        : new ConcurrentChangeError(mailbox),
    );
  }

  progress(`subscribing ${mailbox} through connection ${spec.connection}`);
  const subscribed = await subscriber.subscribe(mailbox, request);
  const after = deps.clock.now();
  if (!subscribed.ok) {
    const failed = {
      ...record,
      attempts: 1,
      lastError: subscribed.error.message,
      nextAttemptAt: after + FIRST_RETRY_DELAY_MS,
    };
    await deps.records.recordFailure({
      mailboxKey,
      generation,
      error: subscribed.error.message,
      attempts: 1,
      nextAttemptAt: failed.nextAttemptAt,
      now: after,
    });
    return err(new SubscribeFailedError(failed, subscribed.error));
  }
  const { subscriptionId, watermark } = subscribed.value;
  if (
    !(await deps.records.storeSubscription({ mailboxKey, generation, subscriptionId, watermark, now: after }))
  ) {
    // Removed (or re-added) while Subscribe ran: the new subscription will be told Unsubscribe
    // by the receiver the first time it speaks.
    return err(new ConcurrentChangeError(mailbox));
  }
  progress(`${mailbox} is watched: subscription ${subscriptionId}`);
  await deps.publisher.publish(mailboxKey, [
    toLifecycleCloudEvent({
      mailbox,
      mailboxKey,
      kind: 'created',
      generation,
      subscriptionId,
      previousSubscriptionId: null,
      detail: null,
      at: after,
    }),
  ]);
  progress(
    `the baseline of its folders (where each stands, for catch-ups after a loss) is taken in the background; "show" tells its progress`,
  );
  const stored = await deps.records.get(mailboxKey);
  return ok(
    stored ?? {
      ...record,
      state: 'active',
      subscriptionId,
      watermark,
      lastContactAt: after,
      syncWork: 'baseline',
    },
  );
}

/**
 * Stops watching a mailbox. Exchange offers no way to end a push subscription other than
 * answering a push with Unsubscribe, so this marks the record removed and the receiver answers
 * the subscription's next push (at the latest its next heartbeat) that way.
 */
export async function removeMailbox(
  mailbox: string,
  deps: Pick<ManageDeps, 'records' | 'clock' | 'publisher' | 'syncStates'>,
): Promise<Result<SubscriptionRecord, MailboxNotWatchedError | ConcurrentChangeError>> {
  const mailboxKey = mailboxKeyOf(mailbox);
  const existing = await deps.records.get(mailboxKey);
  if (existing === undefined || existing.state === 'removed') return err(new MailboxNotWatchedError(mailbox));
  const now = deps.clock.now();
  if (!(await deps.records.markRemoved(mailboxKey, now))) return err(new ConcurrentChangeError(mailbox));
  // A mailbox added again later takes a new baseline.
  await deps.syncStates.clear(mailboxKey);
  await deps.publisher.publish(mailboxKey, [
    toLifecycleCloudEvent({
      mailbox: existing.mailbox,
      mailboxKey,
      kind: 'removed',
      generation: existing.generation,
      subscriptionId: null,
      previousSubscriptionId: existing.subscriptionId ?? null,
      detail: null,
      at: now,
    }),
  ]);
  return ok({ ...existing, state: 'removed', updatedAt: now });
}

export async function showMailbox(
  mailbox: string,
  deps: Pick<ManageDeps, 'records'>,
): Promise<Result<SubscriptionRecord, MailboxNotWatchedError>> {
  const record = await deps.records.get(mailboxKeyOf(mailbox));
  return record === undefined ? err(new MailboxNotWatchedError(mailbox)) : ok(record);
}

export async function listMailboxes(
  deps: Pick<ManageDeps, 'records'>,
  options: { includeRemoved?: boolean } = {},
): Promise<SubscriptionRecord[]> {
  const records: SubscriptionRecord[] = [];
  for await (const record of deps.records.list()) {
    if (options.includeRemoved || record.state !== 'removed') records.push(record);
  }
  return records.sort((a, b) => a.mailbox.localeCompare(b.mailbox));
}

/** How a record looks to an operator right now: is Exchange still talking? */
export interface MailboxHealth {
  readonly state: SubscriptionRecord['state'];
  /** Seconds since the last push, or null if none yet. */
  readonly secondsSinceContact: number | null;
  /** No push for more than twice StatusFrequency: Exchange has probably lost the subscription. */
  readonly stale: boolean;
  readonly recovery: SubscriptionRecord['recovery'] | null;
}

export function healthOf(record: SubscriptionRecord, now: number): MailboxHealth {
  const since =
    record.lastContactAt === undefined ? null : Math.max(0, Math.round((now - record.lastContactAt) / 1000));
  return {
    state: record.state,
    secondsSinceContact: since,
    stale: since !== null && since > 2 * record.statusFrequency * 60,
    recovery: record.recovery ?? null,
  };
}
