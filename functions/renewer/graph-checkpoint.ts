/**
 * The Graph checkpoint: bringing a healthy Graph mailbox's delta links forward, once an interval
 * (24 h by default), the counterpart of the EWS checkpoint (checkpoint.ts, whose header is the
 * design this follows).
 *
 * A Graph mailbox keeps one delta link per scope (`messages/{folderId}`, `events/calendarView`);
 * without a checkpoint they move only at a catch-up. A healthy mailbox's links then grow old, and
 * Graph may forget one (410): the catch-up reads that scope in full, which reports no deletion. And
 * the pushed-item list (domain/pushed-item-list.ts) is trimmed only by catch-ups: it grows without
 * bound, and the next catch-up GETs every listed item its rounds did not name.
 *
 * Moving a link is only safe once every change it absorbs has reached consumers, so in two steps:
 *
 * 1. Take: for each scope (every mail folder listed now, and the calendar view), a delta round
 *    from its stored link (a full one for a folder with none), nothing published, stored as the
 *    scope's *pending* link with the link it came from (`basedOn`). Then a record of the pending
 *    checkpoint: its generation, when the take began, when it is proven (below).
 * 2. Promote, once proven: Graph retries a notification up to 4 h after it was first due, then
 *    discards it, and a discarded or missed change is announced by a `missed` lifecycle
 *    notification, itself retried as long (domain/policy.ts, `graphDeliverySpanMs`). So once that
 *    span (+ slack) has passed since the take ended, every change before the take was delivered, or
 *    its loss was announced, which owes a catch-up (graphWork), and a catch-up stores new links
 *    (`deltas.put`, dropping the pending ones). Promote therefore refuses when the generation moved
 *    (a recreate: the subscription changed), when graphWork is owed (a `missed` arrived and its
 *    catch-up has not run), and per scope when the stored link is no longer `basedOn` (a catch-up
 *    ran in between): each write is conditional on it. When every scope moved, the pushed-item
 *    entries of this source noted before the take (less a margin for clocks) are dropped: messages
 *    all, events only those the calendar view round named present by their own id (`viewedAt`):
 *    the view never names a recurring series' master, whose deletion only the list can tell.
 *
 * A loss Graph never announces (no `missed`, no `subscriptionRemoved`) is outside what any link can
 * fix, checkpoint or not.
 *
 * At the take and at the promote, each subscription is asked for (GET): one Graph says is gone (a
 * lost `subscriptionRemoved`) gets `recreate` work at once, instead of days later at its renewal.
 *
 * Failures defer the checkpoint (throttling: after Retry-After); they never count against the
 * mailbox: a healthy subscription loses nothing while its checkpoint waits.
 */
import type { Clock } from '../core/clock.ts';
import { GRAPH_RESOURCES, type GraphResourceKind, type GraphWorkRequest } from '../domain/graph-mailbox.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import { graphDeliverySpanMs, type LifecyclePolicy, nextCheckpointAt } from '../domain/policy.ts';
import type { SubscriptionRecord } from '../domain/subscription.ts';
import { buildCalendarViewDelta, buildMessagesDelta, type DeltaChange } from '../graph/delta.ts';
import { GraphResponseError } from '../graph/errors.ts';
import { type CheckpointRecords, claimCheckpointJob, trimCoveredItems } from './checkpoint.ts';
import {
  CALENDAR_SCOPE,
  calendarWindowAround,
  type DeltaRoundStart,
  deltaRound,
  type GraphDeltaStore,
  type GraphLifecycleClient,
  type GraphPendingCheckpoint,
  GraphStepFailed,
  isCategory,
  listMailFolders,
  messagesScope,
} from './graph-lifecycle.ts';
import { type PushedItemList, type PushedItemWriter, TRIM_MARGIN_MS } from './reconcile.ts';

export interface GraphCheckpointRecords extends CheckpointRecords {
  /** Adds lifecycle work (as the receiver does for a lifecycle notification). */
  requestGraphWork(mailboxKey: MailboxKey, request: GraphWorkRequest): Promise<void>;
}

export interface GraphCheckpointDeps {
  readonly store: GraphCheckpointRecords;
  readonly deltas: GraphDeltaStore;
  /** The Graph client of a connection, or undefined when no Graph connection has the name. */
  readonly graph: (connection: string) => Promise<GraphLifecycleClient | undefined>;
  readonly pushedItemList: PushedItemList & PushedItemWriter;
  readonly clock: Clock;
  readonly policy: LifecyclePolicy;
  readonly random: () => number;
  /** The calendar view a scope with no link is read over (graph-lifecycle.ts's default). */
  readonly calendarWindow?: { readonly backMs: number; readonly aheadMs: number };
  readonly progress?: (line: string) => void;
}

/** Why a pending checkpoint was not promoted (each scope's own refusal is in `promoted` < scopes). */
export type GraphCheckpointRefusal =
  /** Lifecycle work is owed (a `missed`, a removed subscription): its catch-up goes first. */
  | 'workOwed'
  /** Graph no longer knew a stored link (410): a catch-up was asked for, which reads it in full. */
  | 'linkExpired'
  /** A subscription Graph says is gone: `recreate` was asked for. */
  | 'subscriptionGone';

export type GraphCheckpointOutcome =
  | { readonly kind: 'skipped'; readonly why: 'raced' }
  | {
      readonly kind: 'graphCheckpointed';
      /** Scopes a pending link was taken for (0 when this run promoted, refused or still waits). */
      readonly taken: number;
      /** Scopes whose pending link became current. */
      readonly promoted: number;
      /** Pushed-item entries dropped because the promoted links cover them. */
      readonly trimmed: number;
      /** Subscriptions Graph answered gone (each got `recreate` work). */
      readonly subscriptionsGone: number;
      readonly refused: GraphCheckpointRefusal | null;
      readonly nextAt: number;
    }
  | {
      readonly kind: 'deferred';
      readonly error: string;
      readonly throttled: boolean;
      readonly nextAt: number;
    };

export async function graphCheckpoint(
  record: SubscriptionRecord,
  deps: GraphCheckpointDeps,
): Promise<GraphCheckpointOutcome> {
  const { policy, deltas } = deps;
  const { mailboxKey, generation } = record;
  const schedule = await claimCheckpointJob(record, deps);
  if (schedule === undefined) return { kind: 'skipped', why: 'raced' };
  const done = async (
    facts: Partial<Omit<Extract<GraphCheckpointOutcome, { kind: 'graphCheckpointed' }>, 'kind' | 'nextAt'>>,
    nextAt: number,
  ): Promise<GraphCheckpointOutcome> => ({
    kind: 'graphCheckpointed',
    taken: 0,
    promoted: 0,
    trimmed: 0,
    subscriptionsGone: 0,
    refused: null,
    ...facts,
    nextAt: await schedule(nextAt),
  });
  const defer = async (error: Error): Promise<GraphCheckpointOutcome> => {
    const throttled = error instanceof GraphResponseError && error.category === 'Throttled';
    const delayMs = throttled ? (error.retryAfterMs ?? policy.retryBaseMs) : policy.retryMaxMs;
    const nextAt = await schedule(deps.clock.now() + delayMs);
    deps.progress?.(`${record.mailbox}: Graph checkpoint failed (${error.message}); trying again later`);
    return { kind: 'deferred', error: error.message, throttled, nextAt };
  };

  const client = await deps.graph(record.connection);
  if (client === undefined) {
    return defer(
      new Error(
        `Graph connection "${record.connection}" is not configured; add it (kind "graph") to the connections secret (README, "Exchange connections")`,
      ),
    );
  }
  const job = new CheckpointJob(record, client, deps);
  try {
    const previous = await deltas.getCheckpoint(mailboxKey);
    const ours = previous !== undefined && previous.generation === generation;
    // Not yet proven: back when it is (the sweeper queued it early, or a lease ran out).
    if (ours && deps.clock.now() < previous.provenAfter) return done({}, previous.provenAfter);

    const gone = await job.goneSubscriptions();
    if (gone.length > 0) {
      // The recreate (and its catch-up, which moves the links) goes first; a pending checkpoint
      // is discarded by its new generation. The next one an interval later.
      await deps.store.requestGraphWork(mailboxKey, {
        work: gone.map((resource) => ({ resource, work: 'recreate' as const })),
        obsolete: [],
      });
      deps.progress?.(
        `${record.mailbox}: Graph checkpoint: the ${gone.join(' and ')} subscription is gone at Graph; recreating`,
      );
      return done(
        { subscriptionsGone: gone.length, refused: 'subscriptionGone' },
        nextCheckpointAt(deps.clock.now(), policy, deps.random),
      );
    }
    if (ours) {
      const result = await job.promote(previous);
      await deltas.deleteCheckpoint(mailboxKey);
      return done(result, nextCheckpointAt(deps.clock.now(), policy, deps.random));
    }
    // Taken under another generation: the subscription changed since, the proof says nothing.
    if (previous !== undefined) await deltas.deleteCheckpoint(mailboxKey);
    const taken = await job.take();
    if (taken.expired.length > 0) {
      // Graph forgot a link: a catch-up reads the scope in full and asks about every listed item
      // (the list was not trimmed since that link was stored). No checkpoint until it has run.
      await deps.store.requestGraphWork(mailboxKey, {
        work: taken.expired.map((resource) => ({ resource, work: 'catchUp' as const })),
        obsolete: [],
      });
      return done(
        { taken: taken.taken, refused: 'linkExpired' },
        nextCheckpointAt(deps.clock.now(), policy, deps.random),
      );
    }
    const current = await deps.store.get(mailboxKey);
    const pending = taken.taken > 0 && current !== undefined && current.generation === generation;
    const provenAfter = taken.finishedAt + graphDeliverySpanMs(policy) + policy.staleSlackMs;
    if (pending) await deltas.putCheckpoint(mailboxKey, { generation, takenAt: taken.takenAt, provenAfter });
    deps.progress?.(
      `${record.mailbox}: Graph checkpoint: ${taken.taken} pending link(s) taken, to be proven`,
    );
    return done(
      { taken: taken.taken },
      pending ? provenAfter : nextCheckpointAt(taken.finishedAt, policy, deps.random),
    );
  } catch (error) {
    if (!(error instanceof GraphStepFailed)) throw error;
    return defer(error.error);
  }
}

class CheckpointJob {
  readonly #record: SubscriptionRecord;
  readonly #client: GraphLifecycleClient;
  readonly #deps: GraphCheckpointDeps;
  readonly #userId: string;

  constructor(record: SubscriptionRecord, client: GraphLifecycleClient, deps: GraphCheckpointDeps) {
    this.#record = record;
    this.#client = client;
    this.#deps = deps;
    this.#userId = record.graph?.userId ?? record.mailbox;
  }

  /** The resources whose subscription Graph answers gone (GET → 404). */
  async goneSubscriptions(): Promise<GraphResourceKind[]> {
    const gone: GraphResourceKind[] = [];
    for (const resource of GRAPH_RESOURCES) {
      const id = this.#record.graph?.[resource]?.subscriptionId;
      if (id === undefined) continue; // owed 'renew' work, which goes before a checkpoint
      const found = await this.#client.getSubscription(id);
      if (!found.ok && isCategory(found.error, 'SubscriptionGone')) gone.push(resource);
      else if (!found.ok) throw new GraphStepFailed(found.error);
    }
    return gone;
  }

  /**
   * Every scope a checkpoint moves: each mail folder there is now, and the calendar view (its
   * window, for a round in full when it has no link: around now, as the baseline's).
   */
  async #scopes(): Promise<
    Array<{ scope: string; full: () => DeltaRoundStart; window?: { start: number; end: number } }>
  > {
    const folders = await listMailFolders(this.#client, this.#userId, this.#deps.clock);
    const window = calendarWindowAround(this.#deps.clock.now(), this.#deps.calendarWindow);
    return [
      ...folders.map((folder) => ({
        scope: messagesScope(folder.id),
        full: () => ({ first: () => buildMessagesDelta({ userId: this.#userId, folderId: folder.id }) }),
      })),
      {
        scope: CALENDAR_SCOPE,
        full: () => ({ first: () => buildCalendarViewDelta({ userId: this.#userId, ...window }) }),
        window,
      },
    ];
  }

  async take(): Promise<{
    taken: number;
    takenAt: number;
    finishedAt: number;
    expired: GraphResourceKind[];
  }> {
    const { deltas, clock } = this.#deps;
    const mailboxKey = this.#record.mailboxKey;
    const takenAt = clock.now();
    const expired = new Set<GraphResourceKind>();
    /** Events the calendar view round named present by their own id: no series masters. */
    const viewed = new Set<string>();
    let taken = 0;
    for (const { scope, full, window: fullWindow } of await this.#scopes()) {
      const calendar = scope === CALENDAR_SCOPE;
      const state = await deltas.get(mailboxKey, scope);
      const onPage = async (changes: readonly DeltaChange[]) => {
        if (!calendar) return;
        for (const change of changes)
          if (
            change.kind === 'present' &&
            change.seriesMasterId === null &&
            change.eventType !== 'seriesMaster'
          )
            viewed.add(change.id);
      };
      let round: { deltaLink: string; items: number };
      try {
        round = await deltaRound(
          this.#client,
          this.#userId,
          state === undefined ? full() : { link: state.deltaLink },
          onPage,
        );
      } catch (error) {
        if (error instanceof GraphStepFailed && isCategory(error.error, 'ResyncRequired')) {
          expired.add(calendar ? 'events' : 'messages');
          continue;
        }
        // A folder deleted since it was listed: nothing of it to move.
        if (!calendar && error instanceof GraphStepFailed && isCategory(error.error, 'NotFound')) continue;
        throw error;
      }
      // A round from a link keeps the link's window; a full one is over the window it was asked for.
      const window = state === undefined ? fullWindow : state.window;
      const stored = await deltas.putPending(mailboxKey, scope, {
        deltaLink: round.deltaLink,
        itemsSeen: round.items,
        ...(window === undefined ? {} : { window }),
        basedOn: state?.deltaLink ?? null,
      });
      if (stored) taken++;
    }
    if (viewed.size > 0) await this.#markViewed(viewed, takenAt);
    return { taken, takenAt, finishedAt: clock.now(), expired: [...expired] };
  }

  /**
   * Marks the listed events the view named, with the take's time (see PushedItemListEntry.viewedAt).
   * A plain write, not conditional: an entry the receiver forgot meanwhile (its deletion notified)
   * comes back marked, and is then trimmed by the promote or found missing by a catch-up (a second
   * resync Delete at worst, which consumers apply as the first).
   */
  async #markViewed(viewed: ReadonlySet<string>, takenAt: number): Promise<void> {
    const list = this.#deps.pushedItemList;
    const mailboxKey = this.#record.mailboxKey;
    const marked = [];
    for await (const entry of list.list(mailboxKey))
      if (entry.folderId === 'events' && viewed.has(entry.itemId))
        marked.push({ ...entry, viewedAt: takenAt });
    await list.write(mailboxKey, marked);
  }

  async promote(
    checkpoint: GraphPendingCheckpoint,
  ): Promise<{ promoted: number; trimmed: number; refused: GraphCheckpointRefusal | null }> {
    const { deltas, store, clock } = this.#deps;
    const mailboxKey = this.#record.mailboxKey;
    // Read now, after the proof's bound: a `missed` about a change before the take has arrived by
    // then, and the work it owes is on the record (or done, and the links replaced).
    const current = await store.get(mailboxKey);
    if (current === undefined || current.generation !== checkpoint.generation) {
      return { promoted: 0, trimmed: 0, refused: null };
    }
    const owed = current.graphWork ?? {};
    if (GRAPH_RESOURCES.some((r) => (owed[r]?.length ?? 0) > 0))
      return { promoted: 0, trimmed: 0, refused: 'workOwed' };
    const scopes = await this.#scopes();
    let promoted = 0;
    for (const { scope } of scopes) {
      const pending = await deltas.getPending(mailboxKey, scope);
      if (pending === undefined) continue; // a catch-up in between stored a link, dropping it
      // Conditional on the stored link still being `basedOn`: a catch-up in between wins.
      if (await deltas.promote(mailboxKey, scope, pending, clock.now())) promoted++;
    }
    // What the promoted links cover: messages noted before the take, and events noted before it
    // that the take's calendar view round named (never a series master; see `viewedAt`).
    const trimmed =
      promoted === scopes.length
        ? await trimCoveredItems(
            mailboxKey,
            checkpoint.takenAt - TRIM_MARGIN_MS,
            this.#deps.pushedItemList,
            (entry) =>
              entry.folderId === 'messages' ||
              (entry.folderId === 'events' && entry.viewedAt === checkpoint.takenAt),
          )
        : 0;
    this.#deps.progress?.(
      `${this.#record.mailbox}: Graph checkpoint: ${promoted} of ${scopes.length} delta link(s) brought forward, ${trimmed} pushed item(s) no longer listed`,
    );
    return { promoted, trimmed, refused: null };
  }
}
