/**
 * Adding, removing, listing and inspecting watched mailboxes: the operations behind the
 * `mailboxes` CLI and the admin function. Pure domain code over two ports: the records and the
 * Exchange connections' names.
 *
 * Adding a mailbox only registers it (generation 1, or the next one after a removal), due for the
 * lifecycle at once. The lifecycle then takes the baseline of its folders and only after that
 * subscribes (renewer/renew.ts): a SyncState taken after the first subscription could absorb a
 * change Exchange then lost with the subscription, and no catch-up would ever report it. The CLI
 * waits until the mailbox is watched (`setupOf`), so "add returned" still means "watched".
 */

import type { Clock } from '../core/clock.ts';
import { err, ok, type Result } from '../core/result.ts';
import { showValue } from '../core/show.ts';
import { type CallbackKey, callbackUrl } from '../domain/callback.ts';
import type { EnrichMode } from '../domain/enrichment.ts';
import { type EventPublisher, toLifecycleCloudEvent } from '../domain/events.ts';
import type { FolderSyncState } from '../domain/folder-sync-state.ts';
import {
  GRAPH_EVENT_TYPES,
  GRAPH_RESOURCES,
  type GraphMailboxState,
  graphExpiresAt,
} from '../domain/graph-mailbox.ts';
import {
  isPlausibleMailbox,
  type MailboxKey,
  mailboxKeyOf,
  normalizeMailbox,
} from '../domain/mailbox-key.ts';
import { NEEDS_ATTENTION_PREFIX } from '../domain/renewal-job.ts';
import type { SubscriptionRecord } from '../domain/subscription.ts';
import { InvalidEwsRequestError } from '../ews/errors.ts';
import type { FolderRef } from '../ews/request.ts';
import {
  encodeSubscribe,
  type PushSubscriptionRequest,
  type SubscribableEventType,
} from '../ews/subscribe.ts';
import type { GraphClient } from '../graph/graph-client.ts';

/** What an operator asks for when adding a mailbox. */
export interface MailboxSpec {
  readonly mailbox: string;
  /** The Exchange connection (EWS URL + credentials) to reach it through. */
  readonly connection: string;
  readonly folders: 'all' | readonly FolderRef[];
  readonly eventTypes: readonly SubscribableEventType[];
  /** Minutes between heartbeats, 1–1440. */
  readonly statusFrequency: number;
  /** How much of each changed item its events carry (README "Enrichment"); absent: the deployment's default. */
  readonly enrich?: EnrichMode;
  /** Extra FieldURIs read for this mailbox's events. */
  readonly enrichFields?: readonly string[];
}

export interface MailboxRecords {
  get(mailboxKey: MailboxKey): Promise<SubscriptionRecord | undefined>;
  /** Creates the record unless one exists that is not removed; `expectedPrevious` guards the generation. */
  create(record: SubscriptionRecord, expectedPrevious: SubscriptionRecord | undefined): Promise<boolean>;
  markRemoved(mailboxKey: MailboxKey, now: number): Promise<boolean>;
  /**
   * Makes an EWS mailbox a Graph one, at the generation read (not removed, not Graph already):
   * its EWS fields stay, so its EWS subscription keeps being taken until the first Graph
   * subscription moves the generation on.
   */
  migrateToGraph(args: {
    readonly mailboxKey: MailboxKey;
    readonly generation: number;
    readonly connection: string;
    readonly graph: GraphMailboxState;
    readonly now: number;
  }): Promise<boolean>;
  list(): AsyncIterable<SubscriptionRecord>;
}

export interface ManageDeps {
  readonly records: MailboxRecords;
  /** The EWS connections configured (the lifecycle reaches the mailbox through one of them). */
  readonly connectionNames: () => Promise<readonly string[]>;
  /**
   * The Graph connections configured: a mailbox added with one of them is watched through
   * Microsoft Graph. Absent: none (a host that does not wire Graph).
   */
  readonly graphConnectionNames?: () => Promise<readonly string[]>;
  /** The API's base URL that callback URLs are built on (to refuse what Exchange would refuse). */
  readonly callbackBaseUrl: string;
  readonly callbackKey: () => Promise<CallbackKey>;
  readonly clock: Clock;
  /** Where the `removed` lifecycle event goes: the ingest queue, like every event. */
  readonly publisher: EventPublisher;
  /** Per-folder synchronization state: shown by `show`, forgotten when a mailbox is removed. */
  readonly syncStates: SyncProgress;
  /**
   * The Graph client of a Graph connection (undefined for an unknown name): removing a Graph
   * mailbox DELETEs its subscriptions with it. Absent: none (a host that does not wire Graph).
   */
  readonly graphSubscriptions?: (connection: string) => Promise<GraphSubscriptionDeleter | undefined>;
  /** Progress for people watching (the CLI prints it). */
  readonly progress?: (step: string) => void;
}

/** What removing a Graph mailbox calls at Graph. */
export type GraphSubscriptionDeleter = Pick<GraphClient, 'deleteSubscription'>;

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

/** Someone else changed the record while this operation ran (e.g. two operators at once). */
export class ConcurrentChangeError extends Error {
  override readonly name = 'ConcurrentChangeError';
  constructor(mailbox: string) {
    super(`the record of ${mailbox} changed while this operation ran; run it again`);
  }
}

export type AddMailboxError = InvalidMailboxSpecError | MailboxAlreadyWatchedError | ConcurrentChangeError;

// ---- operations ---------------------------------------------------------------------------------

export async function addMailbox(
  spec: MailboxSpec,
  deps: ManageDeps,
): Promise<Result<SubscriptionRecord, AddMailboxError>> {
  const progress = deps.progress ?? (() => {});
  const mailbox = normalizeMailbox(spec.mailbox);
  if (!isPlausibleMailbox(mailbox)) {
    return err(new InvalidMailboxSpecError('mailbox', `${showValue(spec.mailbox)} is not an e-mail address`));
  }
  const ewsNames = await deps.connectionNames();
  const graphNames = (await deps.graphConnectionNames?.()) ?? [];
  const names = [...ewsNames, ...graphNames].sort();
  if (!names.includes(spec.connection)) {
    return err(
      new InvalidMailboxSpecError(
        'connection',
        `no Exchange connection named ${showValue(spec.connection)}; configured: ${names.length === 0 ? '(none — see README, "Exchange connections")' : names.join(', ')}`,
      ),
    );
  }
  // The source follows from the connection's kind (EWS names win a tie, which the parser forbids anyway).
  const source = ewsNames.includes(spec.connection) ? 'ews' : 'graph';
  if (source === 'graph' && spec.folders !== 'all') {
    return err(
      new InvalidMailboxSpecError(
        'folders',
        `connection ${showValue(spec.connection)} is a Graph connection, whose subscriptions watch every message and event of the mailbox; leave --folders out`,
      ),
    );
  }
  if (source === 'graph' && spec.enrichFields !== undefined && spec.enrichFields.length > 0) {
    return err(
      new InvalidMailboxSpecError(
        'enrichFields',
        `connection ${showValue(spec.connection)} is a Graph connection, whose item reads take no EWS FieldURIs (README, "Which fields each source fills"); leave --enrich-fields out`,
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
  if (source === 'ews') {
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
  }

  const now = deps.clock.now();
  const record: SubscriptionRecord = {
    mailboxKey,
    mailbox,
    connection: spec.connection,
    folders: spec.folders,
    // Graph's change types stand for these three (graph/events.ts); no heartbeat to pace.
    eventTypes: source === 'graph' ? GRAPH_EVENT_TYPES : spec.eventTypes,
    ...(source === 'graph' ? { source, graph: { userId: mailbox } } : {}),
    ...(spec.enrich === undefined ? {} : { enrich: spec.enrich }),
    ...(spec.enrichFields === undefined || spec.enrichFields.length === 0
      ? {}
      : { enrichFields: spec.enrichFields }),
    statusFrequency: source === 'graph' ? 0 : spec.statusFrequency,
    state: 'subscribing',
    generation,
    syncWork: 'baseline',
    attempts: 0,
    // Due at once: the sweeper hands it to the renewer at its next run (every minute).
    nextAttemptAt: now,
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
  progress(
    source === 'graph'
      ? `registered; the lifecycle takes the delta baseline of its folders and calendar (for catch-ups after a loss) and then creates its Graph subscriptions through connection ${spec.connection}`
      : `registered; the lifecycle takes the baseline of its folders (where each stands, for catch-ups after a loss) and then subscribes through connection ${spec.connection}`,
  );
  return ok(record);
}

/**
 * How far adding a mailbox has come, as the CLI and the local run wait for it: watched (a
 * subscription is current), still being set up (with what is under way), or an attempt failed
 * (the lifecycle retries on its own unless the error needs a person).
 */
export type MailboxSetup =
  | { readonly kind: 'watched' }
  | { readonly kind: 'settingUp'; readonly step: string }
  | { readonly kind: 'failed'; readonly message: string };

export function setupOf(record: SubscriptionRecord, folders: readonly FolderSyncState[] = []): MailboxSetup {
  if (record.state === 'active') return { kind: 'watched' };
  if (record.state === 'removed')
    return { kind: 'failed', message: `${record.mailbox} was removed before it was watched` };
  if (record.attempts > 0 && record.lastError !== undefined) {
    const needsPerson = record.lastError.startsWith(NEEDS_ATTENTION_PREFIX);
    const next =
      record.nextAttemptAt === undefined
        ? ''
        : ` (next attempt ${new Date(record.nextAttemptAt).toISOString()})`;
    return {
      kind: 'failed',
      message: `${record.mailbox} is registered but not watched yet: ${record.lastError.slice(needsPerson ? NEEDS_ATTENTION_PREFIX.length : 0)}. ${
        needsPerson
          ? 'This needs a fix on your side before a retry can work; the bridge keeps retrying slowly and alarms meanwhile'
          : `The bridge retries with back-off${next}`
      }. Changes reach consumers from the moment "show" says active; "remove" the mailbox to stop.`,
    };
  }
  // Throttling is no failure: the attempt waits as long as Exchange asked.
  const waiting = record.lastError === undefined ? '' : ` (${record.lastError})`;
  if (record.syncWork !== 'baseline') return { kind: 'settingUp', step: `subscribing${waiting}` };
  const done = folders.filter((f) => f.complete).length;
  const items = folders.reduce((sum, f) => sum + f.itemsSeen, 0);
  return {
    kind: 'settingUp',
    step:
      folders.length === 0
        ? `waiting for the lifecycle to take the baseline${waiting}`
        : `taking the baseline: ${done} of ${folders.length} folder(s) done, ${items} item(s) read${waiting}`,
  };
}

/**
 * Stops watching a mailbox. Exchange offers no way to end an EWS push subscription other than
 * answering a push with Unsubscribe, so this marks the record removed and the receiver answers
 * the subscription's next push (at the latest its next heartbeat) that way.
 *
 * A Graph mailbox's subscriptions are DELETEd at Graph (Graph has no Unsubscribe answer; left
 * alone they would notify until they expire, up to 7 days). The record is marked removed first:
 * from then on the receiver drops (202, counted) whatever they still send, and the renewer can no
 * longer write a subscription to the record, so the ids read after the mark are all there are
 * (a create answered after it is deleted by the renewer itself). A DELETE that fails does not
 * undo the removal: the progress says which subscription stays and until when.
 */
export async function removeMailbox(
  mailbox: string,
  deps: Pick<
    ManageDeps,
    'records' | 'clock' | 'publisher' | 'syncStates' | 'graphSubscriptions' | 'progress'
  >,
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
  if (existing.source === 'graph') {
    // Read again: a renewer job may have stored a subscription between the first read and the mark.
    const removed = (await deps.records.get(mailboxKey)) ?? existing;
    await deleteGraphSubscriptions(removed, deps);
  }
  return ok({ ...existing, state: 'removed', updatedAt: now });
}

/** The Graph subscriptions a removed record still names, current and superseded. */
export function graphSubscriptionsOf(record: SubscriptionRecord): string[] {
  const ids = new Set<string>();
  for (const resource of GRAPH_RESOURCES) {
    const id = record.graph?.[resource]?.subscriptionId;
    if (id !== undefined) ids.add(id);
  }
  for (const id of record.graphObsolete ?? []) ids.add(id);
  return [...ids];
}

async function deleteGraphSubscriptions(
  record: SubscriptionRecord,
  deps: Pick<ManageDeps, 'graphSubscriptions' | 'progress'>,
): Promise<void> {
  const progress = deps.progress ?? (() => {});
  const ids = graphSubscriptionsOf(record);
  if (ids.length === 0) return;
  const expiresAt = record.graph === undefined ? undefined : graphExpiresAt(record.graph);
  const until =
    expiresAt === undefined
      ? 'until it expires'
      : `until it expires (at the latest ${new Date(expiresAt).toISOString()})`;
  let client: GraphSubscriptionDeleter | undefined;
  let why = `Graph connection ${showValue(record.connection)} is not configured`;
  try {
    client = await deps.graphSubscriptions?.(record.connection);
  } catch (error) {
    // The mailbox is removed already; an unreadable connections secret must not hide that.
    why = error instanceof Error ? error.message : String(error);
  }
  if (client === undefined) {
    progress(
      `${why}, so Graph subscription(s) ${ids.join(', ')} were not deleted; they notify ${until}, and the receiver drops those notifications`,
    );
    return;
  }
  for (const id of ids) {
    const deleted = await client.deleteSubscription(id);
    if (deleted.ok) {
      progress(
        deleted.value === 'deleted'
          ? `deleted Graph subscription ${id}`
          : `Graph subscription ${id} was already gone`,
      );
    } else {
      progress(
        `could not delete Graph subscription ${id} (${deleted.error.message}); it notifies ${until}, and the receiver drops those notifications`,
      );
    }
  }
}

/**
 * Moves a watched EWS mailbox to Microsoft Graph (Exchange Online before EWS is switched off)
 * without losing a change: the record becomes a Graph mailbox owing its baseline, while its EWS
 * subscription keeps being taken; the lifecycle takes the Graph baseline, creates the Graph
 * subscriptions (the first one moves the generation on, after which the EWS subscription's pushes
 * are answered Unsubscribe as superseded) and catches up once from the baseline. Every change is
 * therefore pushed by EWS (up to the generation's move) or found by Graph (from the baseline on);
 * those in between arrive twice, with the two sources' different ids (docs/graph-source.md).
 */
export async function migrateMailbox(
  mailbox: string,
  connection: string,
  deps: Pick<ManageDeps, 'records' | 'clock' | 'graphConnectionNames'>,
): Promise<
  Result<SubscriptionRecord, MailboxNotWatchedError | InvalidMailboxSpecError | ConcurrentChangeError>
> {
  const mailboxKey = mailboxKeyOf(mailbox);
  const existing = await deps.records.get(mailboxKey);
  if (existing === undefined || existing.state === 'removed') return err(new MailboxNotWatchedError(mailbox));
  if (existing.source === 'graph')
    return err(
      new InvalidMailboxSpecError('mailbox', `${existing.mailbox} is watched through Graph already`),
    );
  const graphNames = (await deps.graphConnectionNames?.()) ?? [];
  if (!graphNames.includes(connection)) {
    return err(
      new InvalidMailboxSpecError(
        'connection',
        `no Graph connection named ${showValue(connection)}; Graph connections: ${graphNames.length === 0 ? '(none — see README, "Microsoft Graph connections")' : graphNames.join(', ')}`,
      ),
    );
  }
  const now = deps.clock.now();
  const graph: GraphMailboxState = { userId: existing.mailbox };
  if (
    !(await deps.records.migrateToGraph({
      mailboxKey,
      generation: existing.generation,
      connection,
      graph,
      now,
    }))
  ) {
    return err(new ConcurrentChangeError(existing.mailbox));
  }
  return ok({
    ...existing,
    source: 'graph',
    connection,
    graph,
    eventTypes: GRAPH_EVENT_TYPES,
    syncWork: 'baseline',
    nextAttemptAt: now,
    updatedAt: now,
  });
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
  /** Graph: the earliest expiry of its subscriptions (epoch ms), null before the first create. */
  readonly expiresAt: number | null;
  /** Seconds since the last push, or null if none yet. */
  readonly secondsSinceContact: number | null;
  /** No push for more than twice StatusFrequency: Exchange has probably lost the subscription. */
  readonly stale: boolean;
  readonly recovery: SubscriptionRecord['recovery'] | null;
}

export function healthOf(record: SubscriptionRecord, now: number): MailboxHealth {
  const since =
    record.lastContactAt === undefined ? null : Math.max(0, Math.round((now - record.lastContactAt) / 1000));
  if (record.source === 'graph') {
    // No heartbeat: what tells a live Graph mailbox is an unexpired subscription.
    const expiresAt = record.graph === undefined ? undefined : graphExpiresAt(record.graph);
    return {
      state: record.state,
      expiresAt: expiresAt ?? null,
      secondsSinceContact: since,
      stale: record.state === 'active' && (expiresAt === undefined || expiresAt <= now),
      recovery: record.recovery ?? null,
    };
  }
  return {
    state: record.state,
    expiresAt: null,
    secondsSinceContact: since,
    stale: since !== null && since > 2 * record.statusFrequency * 60,
    recovery: record.recovery ?? null,
  };
}
