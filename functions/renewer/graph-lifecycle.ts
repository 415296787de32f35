/**
 * The lifecycle of a Graph mailbox, one job at a time (the renewer runs a mailbox's jobs one at a
 * time, which also keeps its Graph calls within the 4-per-mailbox limit of one client):
 *
 * 1. baseline (a mailbox just added): a full delta round per mail folder and for the calendar
 *    view, links stored, nothing published: where a catch-up after a loss starts;
 * 2. a subscription per resource (messages, events): created when missing (each at a new
 *    generation of the mailbox, in its clientState), renewed (PATCH) once `renewalDueAt` has
 *    come; PATCH answering 404 → create anew and catch up; create answering 409 → adopt the
 *    existing one if it is ours as it stands, else delete it and create;
 * 3. the work lifecycle notifications asked for (graphWork): `reauthorize` → PATCH (not within 10
 *    minutes of the last PATCH), `recreate` → create + catch-up, `catchUp` → delta catch-up; each
 *    catch-up published between `gap-detected` and `resynced`; a 410 on a delta link → the folder
 *    from scratch (a full round, its items as resync Creates);
 * 4. superseded subscriptions still notifying (graphObsolete) → DELETE;
 * 5. settled: state active, the work done removed from the record.
 *
 * A throttled call (429 past what the client waits in-process) ends the job and requeues it after
 * Retry-After; any other Graph failure is recorded and retried with back-off (job.ts `fail`).
 */
import type { ResyncCloudEvent } from '../../events/bridge-event.ts';
import type { Clock } from '../core/clock.ts';
import type { CallbackKey } from '../domain/callback.ts';
import { hintAttributes } from '../domain/enrichment.ts';
import { type EventPublisher, eventSource, stableId, toLifecycleCloudEvent } from '../domain/events.ts';
import {
  GRAPH_RESOURCES,
  type GraphResourceKind,
  type GraphResourceSubscription,
  type GraphWork,
  graphWebhookUrls,
  REAUTHORIZATION_QUIET_MS,
} from '../domain/graph-mailbox.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import { firstCheckpointAt, isLost, type LifecyclePolicy, retryDelay } from '../domain/policy.ts';
import { NEEDS_ATTENTION_PREFIX, type RenewalFailure, type RenewalQueue } from '../domain/renewal-job.ts';
import type { SubscriptionRecord, SubscriptionState } from '../domain/subscription.ts';
import { clientStateFor } from '../graph/client-state.ts';
import {
  buildCalendarViewDelta,
  buildDeltaFollow,
  buildMessagesDelta,
  type DeltaChange,
  type DeltaPage,
} from '../graph/delta.ts';
import { GraphResponseError } from '../graph/errors.ts';
import { resyncChangeTypeOf } from '../graph/events.ts';
import {
  buildListMailFolders,
  buildMailFoldersFollow,
  decodeMailFolderPage,
  type MailFolder,
} from '../graph/folders.ts';
import type { GraphCallError, GraphClient } from '../graph/graph-client.ts';
import {
  buildItemPresenceRequest,
  decodeItemPresence,
  type GraphItemCollection,
} from '../graph/item-presence.ts';
import { isAdoptable, renewalDueAt, type SubscriptionResource } from '../graph/subscription.ts';
import {
  type ItemPresence,
  type PushedItemList,
  type PushedItemWriter,
  reconcilePushedItemList,
} from './reconcile.ts';

/** What the Graph lifecycle calls: the Graph client of the mailbox's connection. */
export type GraphLifecycleClient = Pick<
  GraphClient,
  'createSubscription' | 'renewSubscription' | 'getSubscription' | 'deleteSubscription' | 'deltaPage' | 'send'
>;

/** Where a delta round stands for one scope (a mail folder, the calendar view): the SyncState's counterpart. */
export interface GraphDeltaState {
  /** `messages/{folderId}` or `events/calendarView`. */
  readonly scope: string;
  /** The `@odata.deltaLink` of the last complete round. */
  readonly deltaLink: string;
  readonly itemsSeen: number;
  /** Calendar view: the window fixed into the link (epoch ms). */
  readonly window?: { readonly start: number; readonly end: number };
  readonly updatedAt: number;
}

/**
 * A newer link a Graph checkpoint took from the stored one (renewer/graph-checkpoint.ts), stored
 * beside it until proven safe, then made current.
 */
export interface GraphPendingLink {
  readonly deltaLink: string;
  readonly itemsSeen: number;
  /** Calendar view: the window fixed into the link (the stored link's: a round from a link keeps it). */
  readonly window?: { readonly start: number; readonly end: number };
  /**
   * The stored link it was taken from; it only replaces that one. Null: taken in full for a scope
   * with no link (a folder new since the baseline); it only becomes current while there is still none.
   */
  readonly basedOn: string | null;
}

export interface GraphDeltaStore {
  /** The scope's stored link; undefined when there is none (also when only a pending one is stored). */
  get(mailboxKey: MailboxKey, scope: string): Promise<GraphDeltaState | undefined>;
  /** Stores the scope's link (a baseline's, a catch-up's): any pending link of the scope is dropped. */
  put(mailboxKey: MailboxKey, state: GraphDeltaState): Promise<void>;
  /** The scope's pending link, if a checkpoint stored one. */
  getPending(mailboxKey: MailboxKey, scope: string): Promise<GraphPendingLink | undefined>;
  /** Stores a pending link, if the scope's stored link is still `pending.basedOn` (null: none). */
  putPending(mailboxKey: MailboxKey, scope: string, pending: GraphPendingLink): Promise<boolean>;
  /** Makes the pending link current, if it is still pending and the stored link still `pending.basedOn`. */
  promote(mailboxKey: MailboxKey, scope: string, pending: GraphPendingLink, now: number): Promise<boolean>;
  /** The Graph checkpoint being proven (renewer/graph-checkpoint.ts), one per mailbox. */
  getCheckpoint(mailboxKey: MailboxKey): Promise<GraphPendingCheckpoint | undefined>;
  putCheckpoint(mailboxKey: MailboxKey, checkpoint: GraphPendingCheckpoint): Promise<void>;
  deleteCheckpoint(mailboxKey: MailboxKey): Promise<void>;
}

/** A Graph checkpoint taken and waiting to be proven safe (renewer/graph-checkpoint.ts). */
export interface GraphPendingCheckpoint {
  /** The mailbox's generation it was taken under: a recreate since discards it. */
  readonly generation: number;
  /** When the take began (epoch ms, the renewer's clock): pushed items noted before it (less a margin) are covered. */
  readonly takenAt: number;
  /** When it is proven (epoch ms): the end of the take + the longest Graph delivers or announces a loss + slack. */
  readonly provenAfter: number;
}

/** A failed attempt, as the record keeps it: the same write as an EWS renewal's. */
export type GraphFailure = RenewalFailure;

export interface GraphLifecycleStore {
  get(mailboxKey: MailboxKey): Promise<SubscriptionRecord | undefined>;
  /**
   * Writes one resource's subscription, at the record's `generation` (not removed); with
   * `toGeneration` the record's generation moves there in the same write (a new subscription).
   */
  putGraphSubscription(args: {
    readonly mailboxKey: MailboxKey;
    readonly generation: number;
    readonly toGeneration?: number;
    readonly resource: GraphResourceKind;
    readonly subscription: GraphResourceSubscription;
    readonly now: number;
  }): Promise<boolean>;
  /**
   * Active, failures cleared, the baseline no longer owed, the obsolete ids deleted; the work done
   * removed (sets) only if `graphWorkRequests` is still `workRequestsSeen`, else left owed (a
   * request came while the job ran, which may be the same work again). False: another generation.
   */
  settleGraph(args: {
    readonly mailboxKey: MailboxKey;
    readonly generation: number;
    readonly now: number;
    readonly doneWork: Partial<Record<GraphResourceKind, readonly GraphWork[]>>;
    readonly doneObsolete: readonly string[];
    /** `graphWorkRequests` of the record the job began from. */
    readonly workRequestsSeen: number | undefined;
    /** The first checkpoint's time, set after the baseline (and on a record that has none). */
    readonly checkpointDueAt?: number;
  }): Promise<boolean>;
  recordFailure(args: GraphFailure): Promise<boolean>;
}

export interface GraphRenewDeps {
  readonly store: GraphLifecycleStore;
  readonly deltas: GraphDeltaStore;
  /** The Graph client of a connection, or undefined when no Graph connection has the name. */
  readonly graph: (connection: string) => Promise<GraphLifecycleClient | undefined>;
  readonly publisher: EventPublisher;
  /**
   * The items the receiver told consumers exist (domain/pushed-item-list.ts; Graph's are filed
   * under `messages` or `events`): after a catch-up, each one its delta rounds did not name is
   * asked about, and one Graph no longer has is published as a resync Delete.
   */
  readonly pushedItemList: PushedItemList & PushedItemWriter;
  readonly queue: Pick<RenewalQueue, 'requeue'>;
  readonly callbackBaseUrl: string;
  readonly callbackKey: () => Promise<CallbackKey>;
  readonly clock: Clock;
  readonly policy: LifecyclePolicy;
  readonly random: () => number;
  /**
   * The calendar view a catch-up covers, around the time its delta round began, rolled forward
   * (a new round over a new window) once it has drifted `rollAfterMs` behind the clock.
   * @default 30 days back, 365 ahead, rolled after 7 days
   */
  readonly calendarWindow?: {
    readonly backMs: number;
    readonly aheadMs: number;
    readonly rollAfterMs?: number;
  };
}

export type GraphRenewOutcome =
  | {
      readonly kind: 'graphSettled';
      readonly created: readonly GraphResourceKind[];
      readonly renewed: readonly GraphResourceKind[];
      readonly caughtUp: readonly GraphResourceKind[];
      readonly published: number;
      readonly deleted: number;
    }
  | { readonly kind: 'skipped'; readonly why: 'raced' }
  | { readonly kind: 'throttled'; readonly delayMs: number }
  | {
      readonly kind: 'failed';
      readonly error: string;
      readonly needsAttention: boolean;
      readonly lost: boolean;
      readonly becameLost: boolean;
      readonly nextAttemptAt: number;
      readonly graph: GraphFailureKind;
    };

/** What kind of Graph failure ended a job, for the renewer's metrics (and the alarms on them). */
export interface GraphFailureKind {
  /**
   * Graph could not validate the notification or lifecycle URL (400 ValidationError on create):
   * no subscription can be made until the receiver answers validation in time.
   */
  readonly validationFailed: boolean;
}

export const DEFAULT_CALENDAR_WINDOW = {
  backMs: 30 * 86_400_000,
  aheadMs: 365 * 86_400_000,
  rollAfterMs: 7 * 86_400_000,
};

/** The calendar view a round begun at `now` covers (its window is fixed into the round's links). */
export function calendarWindowAround(
  now: number,
  window: { readonly backMs: number; readonly aheadMs: number } = DEFAULT_CALENDAR_WINDOW,
): { start: number; end: number } {
  return { start: now - window.backMs, end: now + window.aheadMs };
}
export const CALENDAR_SCOPE = 'events/calendarView';
export const messagesScope = (folderId: string) => `messages/${folderId}`;

/** A Graph call failed: carried out of the job's steps to its one error handler. */
export class GraphStepFailed extends Error {
  readonly error: GraphCallError | Error;
  constructor(error: GraphCallError | Error) {
    super(error.message);
    this.error = error;
  }
}

/** The record moved under the job (another renewer, a removal): stop, the next sweep decides. */
class Raced extends Error {}

export function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: GraphCallError }): T {
  if (!result.ok) throw new GraphStepFailed(result.error);
  return result.value;
}

export function isCategory(error: unknown, category: GraphResponseError['category']): boolean {
  return error instanceof GraphResponseError && error.category === category;
}

/** Runs the work a Graph mailbox is owed now. */
export async function runGraphJob(
  record: SubscriptionRecord,
  deps: GraphRenewDeps,
): Promise<GraphRenewOutcome> {
  const client = await deps.graph(record.connection);
  if (client === undefined) {
    return failGraph(
      record,
      new Error(
        `Graph connection "${record.connection}" is not configured; add it (kind "graph") to the connections secret (README, "Exchange connections")`,
      ),
      true,
      deps,
    );
  }
  const job = new GraphJob(record, client, deps);
  try {
    return await job.run();
  } catch (error) {
    if (error instanceof Raced) return { kind: 'skipped', why: 'raced' };
    if (!(error instanceof GraphStepFailed)) throw error;
    const cause = error.error;
    const current = job.record;
    if (cause instanceof GraphResponseError && cause.category === 'Throttled') {
      const delayMs = cause.retryAfterMs ?? deps.policy.retryBaseMs;
      const now = deps.clock.now();
      await deps.store.recordFailure({
        mailboxKey: current.mailboxKey,
        generation: current.generation,
        state: current.state,
        error: `throttled by Graph (429), retrying after ${delayMs} ms`,
        attempts: current.attempts,
        nextAttemptAt: now + delayMs,
        firstFailureAt: current.firstFailureAt,
        lost: false,
        now,
      });
      await deps.queue.requeue(
        { mailboxKey: current.mailboxKey, generation: current.generation, reason: 'retry' },
        delayMs,
      );
      return { kind: 'throttled', delayMs };
    }
    const retryable = 'retryable' in cause ? cause.retryable !== false : true;
    return failGraph(current, cause, !retryable, deps);
  }
}

class GraphJob {
  record: SubscriptionRecord;
  readonly #client: GraphLifecycleClient;
  readonly #deps: GraphRenewDeps;
  readonly #userId: string;
  readonly #created: GraphResourceKind[] = [];
  readonly #renewed: GraphResourceKind[] = [];
  readonly #caughtUp: GraphResourceKind[] = [];
  #published = 0;

  constructor(record: SubscriptionRecord, client: GraphLifecycleClient, deps: GraphRenewDeps) {
    this.record = record;
    this.#client = client;
    this.#deps = deps;
    this.#userId = record.graph?.userId ?? record.mailbox;
  }

  async run(): Promise<GraphRenewOutcome> {
    const deps = this.#deps;
    const record = this.record;
    const work = record.graphWork ?? {};
    const baseline = record.syncWork === 'baseline';
    if (baseline) await this.#baseline();

    const toCatchUp = new Set<GraphResourceKind>();
    const doneWork: Partial<Record<GraphResourceKind, GraphWork[]>> = {};
    for (const resource of GRAPH_RESOURCES) {
      const owed = work[resource] ?? [];
      const sub = this.record.graph?.[resource];
      // A `recreate` owed may already be done: an earlier job created the replacement and then
      // failed (throttled, say) before it settled. Creating again would replace a working
      // subscription, and again on every failure; only its catch-up is still owed.
      const recreated =
        owed.includes('recreate') &&
        sub?.subscriptionId !== undefined &&
        (await this.#stillThere(sub.subscriptionId));
      // Whether this job gave the resource a fresh authorization (a create or a PATCH).
      let authorized = false;
      if (recreated) toCatchUp.add(resource);
      else if (sub?.subscriptionId === undefined || owed.includes('recreate')) {
        // Missing (first time, or an earlier create that failed or never answered) or removed by
        // Graph. Outside the first baseline, the resource was watched before: whatever changed
        // while it had no subscription is caught up.
        const replacing = owed.includes('recreate') || (sub !== undefined && !baseline);
        await this.#create(resource, sub?.subscriptionId);
        authorized = true;
        if (replacing) toCatchUp.add(resource);
      } else if (
        renewalDueAt(sub.expiresAt ?? 0) <= deps.clock.now() ||
        (owed.includes('reauthorize') && !this.#recentlyPatched(sub))
      ) {
        if (!(await this.#renew(resource, sub, sub.subscriptionId, owed.includes('reauthorize'))))
          toCatchUp.add(resource);
        authorized = true;
      }
      if (owed.includes('catchUp')) toCatchUp.add(resource);
      // A challenge that came within 10 minutes of the last PATCH is still unanswered: it stays
      // owed (the sweeper brings the mailbox back each minute) and is PATCHed once the 10 minutes
      // are over, before Graph's grace runs out and it pauses delivery.
      const done = authorized ? owed : owed.filter((w) => w !== 'reauthorize');
      if (done.length > 0) doneWork[resource] = [...done];
    }

    if (toCatchUp.size > 0) await this.#catchUp([...toCatchUp]);
    // A new mailbox: what changed between its baseline and its subscriptions reaches consumers
    // too (as resync events; no gap is announced, none happened).
    else if (baseline && this.#created.length > 0) await this.#catchUp(this.#created, { announce: false });
    // The calendar view's window is fixed into its delta link: without a roll, a catch-up months
    // later would cover a window that has slid into the past. Any job (renewals come every few
    // days) rolls it once it has drifted; the catch-up above did if it ran.
    if (!toCatchUp.has('events') && (await this.#calendarWindowStale()))
      await this.#catchUp(['events'], { announce: false });

    let deleted = 0;
    const obsolete = record.graphObsolete ?? [];
    for (const subscriptionId of obsolete) {
      const current = GRAPH_RESOURCES.some((r) => this.record.graph?.[r]?.subscriptionId === subscriptionId);
      if (current) continue;
      const result = await this.#client.deleteSubscription(subscriptionId);
      unwrap(result);
      deleted++;
    }

    // After the baseline, as finishSync does for EWS: the links are brought forward an interval
    // from now (renewer/graph-checkpoint.ts). A record from before Graph checkpoints gets one too.
    const firstCheckpoint = baseline || record.checkpointDueAt === undefined;
    const settled = await deps.store.settleGraph({
      mailboxKey: record.mailboxKey,
      generation: this.record.generation,
      now: deps.clock.now(),
      doneWork,
      doneObsolete: obsolete,
      workRequestsSeen: record.graphWorkRequests,
      ...(firstCheckpoint
        ? { checkpointDueAt: firstCheckpointAt(deps.clock.now(), deps.policy, deps.random) }
        : {}),
    });
    if (!settled) throw new Raced();
    if (record.state === 'subscribing' && this.#created.length > 0) {
      const id = this.record.graph?.messages?.subscriptionId ?? null;
      await this.#lifecycle('created', id, null);
    }
    if (record.state === 'lost') await this.#lifecycle('recovered', null, null);
    return {
      kind: 'graphSettled',
      created: this.#created,
      renewed: this.#renewed,
      caughtUp: this.#caughtUp,
      published: this.#published,
      deleted,
    };
  }

  /** Whether Graph still has the subscription (GET); false when it answers that it is gone. */
  async #stillThere(subscriptionId: string): Promise<boolean> {
    const found = await this.#client.getSubscription(subscriptionId);
    if (!found.ok && isCategory(found.error, 'SubscriptionGone')) return false;
    unwrap(found);
    return true;
  }

  #recentlyPatched(sub: GraphResourceSubscription): boolean {
    const now = this.#deps.clock.now();
    const last = Math.max(sub.lastReauthorizedAt ?? 0, sub.lastRenewedAt ?? 0);
    return now - last < REAUTHORIZATION_QUIET_MS;
  }

  #resource(resource: GraphResourceKind): SubscriptionResource {
    return resource === 'messages'
      ? { kind: 'messages', userId: this.#userId }
      : { kind: 'events', userId: this.#userId };
  }

  /** Creates a subscription for `resource` at a new generation; adopts or replaces a 409's. */
  async #create(resource: GraphResourceKind, previousId: string | undefined): Promise<void> {
    const deps = this.#deps;
    const generation = this.record.generation + 1;
    // The new generation is stored before Graph is asked, so notifications that outrun the
    // create's answer verify as the subscription being created (the receiver's `adopted`).
    const now = deps.clock.now();
    const pending: GraphResourceSubscription = { generation };
    if (
      !(await deps.store.putGraphSubscription({
        mailboxKey: this.record.mailboxKey,
        generation: this.record.generation,
        toGeneration: generation,
        resource,
        subscription: pending,
        now,
      }))
    ) {
      throw new Raced();
    }
    this.#setRecord(resource, pending, generation);
    const key = await deps.callbackKey();
    const urls = graphWebhookUrls(deps.callbackBaseUrl);
    const clientState = clientStateFor(key, this.record.mailboxKey, generation);
    const input = { resource: this.#resource(resource), ...urls, clientState };
    let created = await this.#client.createSubscription(input);
    if (!created.ok && isCategory(created.error, 'SubscriptionExists')) {
      const existingId =
        created.error instanceof GraphResponseError ? created.error.existingSubscriptionId : null;
      if (existingId !== null) {
        const found = await this.#client.getSubscription(existingId);
        if (found.ok && isAdoptable(found.value, { ...urls, clientState })) {
          created = await this.#client.renewSubscription(existingId);
        } else {
          // Ours from an older generation (or not ours as it stands): it cannot be adopted.
          unwrap(await this.#client.deleteSubscription(existingId));
          created = await this.#client.createSubscription(input);
        }
      }
    }
    const subscription = unwrap(created);
    const stored: GraphResourceSubscription = {
      generation,
      subscriptionId: subscription.id,
      expiresAt: subscription.expiresAt,
      lastRenewedAt: deps.clock.now(),
    };
    if (
      !(await deps.store.putGraphSubscription({
        mailboxKey: this.record.mailboxKey,
        generation,
        resource,
        subscription: stored,
        now: deps.clock.now(),
      }))
    ) {
      // The record moved while Graph answered (a removal, most likely: `mailboxes remove` deletes
      // only the ids it can read). No record names this subscription, so nothing else would ever
      // delete it: it would notify, dropped, for days. Best effort; the race is the news.
      await this.#client.deleteSubscription(subscription.id);
      throw new Raced();
    }
    this.#setRecord(resource, stored, generation);
    this.#created.push(resource);
    // The one replaced is gone at Graph as a rule (removed, expired); if not, it would notify
    // alongside the new one: delete it (already gone is fine).
    if (previousId !== undefined && previousId !== subscription.id)
      unwrap(await this.#client.deleteSubscription(previousId));
  }

  /** PATCHes the expiry; false when Graph no longer has it (then it was created anew: catch up). */
  async #renew(
    resource: GraphResourceKind,
    sub: GraphResourceSubscription,
    subscriptionId: string,
    reauthorizing: boolean,
  ): Promise<boolean> {
    const deps = this.#deps;
    const renewed = await this.#client.renewSubscription(subscriptionId);
    if (!renewed.ok && isCategory(renewed.error, 'SubscriptionGone')) {
      await this.#create(resource, subscriptionId);
      return false;
    }
    const value = unwrap(renewed);
    const now = deps.clock.now();
    const stored: GraphResourceSubscription = {
      ...sub,
      expiresAt: value.expiresAt,
      lastRenewedAt: now,
      ...(reauthorizing ? { lastReauthorizedAt: now } : {}),
    };
    if (
      !(await deps.store.putGraphSubscription({
        mailboxKey: this.record.mailboxKey,
        generation: this.record.generation,
        resource,
        subscription: stored,
        now,
      }))
    ) {
      throw new Raced();
    }
    this.#setRecord(resource, stored, this.record.generation);
    this.#renewed.push(resource);
    return true;
  }

  #setRecord(resource: GraphResourceKind, sub: GraphResourceSubscription, generation: number): void {
    const graph = { ...(this.record.graph ?? { userId: this.#userId }), [resource]: sub };
    this.record = { ...this.record, generation, graph };
  }

  // ---- delta ------------------------------------------------------------------------------------

  #folders(): Promise<MailFolder[]> {
    return listMailFolders(this.#client, this.#userId, this.#deps.clock);
  }

  /** One delta round from `link` (or a full one from `first`); every change handed to `onPage`. */
  #round(
    start: DeltaRoundStart,
    onPage: (changes: readonly DeltaChange[]) => Promise<void>,
  ): Promise<{ deltaLink: string; items: number }> {
    return deltaRound(this.#client, this.#userId, start, onPage);
  }

  /** Full rounds of every folder and the calendar view; links stored; nothing published. */
  async #baseline(): Promise<void> {
    const deps = this.#deps;
    const mailboxKey = this.record.mailboxKey;
    for (const folder of await this.#folders()) {
      const done = await this.#round(
        { first: () => buildMessagesDelta({ userId: this.#userId, folderId: folder.id }) },
        async () => {},
      );
      await deps.deltas.put(mailboxKey, {
        scope: messagesScope(folder.id),
        deltaLink: done.deltaLink,
        itemsSeen: done.items,
        updatedAt: deps.clock.now(),
      });
    }
    const window = this.#window();
    const done = await this.#round(
      { first: () => buildCalendarViewDelta({ userId: this.#userId, ...window }) },
      async () => {},
    );
    await deps.deltas.put(mailboxKey, {
      scope: CALENDAR_SCOPE,
      deltaLink: done.deltaLink,
      itemsSeen: done.items,
      window,
      updatedAt: deps.clock.now(),
    });
  }

  #window(): { start: number; end: number } {
    return calendarWindowAround(this.#deps.clock.now(), this.#deps.calendarWindow);
  }

  /** The stored window started `rollAfterMs` or more before the window a round begun now would. */
  #isStale(window: { readonly start: number }): boolean {
    const w = this.#deps.calendarWindow ?? DEFAULT_CALENDAR_WINDOW;
    const rollAfterMs = w.rollAfterMs ?? DEFAULT_CALENDAR_WINDOW.rollAfterMs;
    return this.#window().start - window.start >= rollAfterMs;
  }

  async #calendarWindowStale(): Promise<boolean> {
    const state = await this.#deps.deltas.get(this.record.mailboxKey, CALENDAR_SCOPE);
    return state?.window !== undefined && this.#isStale(state.window);
  }

  /**
   * Delta from the stored links of the resources' scopes, every change published as a resync
   * event between `gap-detected` and `resynced`. A folder without a link (new since the
   * baseline) or whose link Graph forgot (410) is read in full: its items as resync Creates.
   */
  async #catchUp(
    resources: readonly GraphResourceKind[],
    options: { readonly announce: boolean } = { announce: true },
  ): Promise<void> {
    const deps = this.#deps;
    const mailboxKey = this.record.mailboxKey;
    const startedAt = deps.clock.now();
    const discriminator = `${resources.join('+')}@${startedAt}`;
    /** What the rounds named: consumers got an event for each, so the pushed-item list need not ask. */
    const reported = new Map<string, 'present' | 'deleted'>();
    /** The series masters published (for their occurrences): noted on the pushed-item list below. */
    const masters = new Set<string>();
    if (options.announce) {
      await this.#lifecycle(
        'gap-detected',
        null,
        `Graph: changes of ${resources.join(' and ')} may have been missed (a lifecycle notification, a removed or expired subscription); catching up with delta`,
        discriminator,
      );
    }
    /** Scopes whose link Graph no longer knew (410), read in full: see the `resynced` detail. */
    const expired: string[] = [];
    const scopes: Array<{ scope: string; folderId: string | null }> = [];
    if (resources.includes('messages'))
      for (const folder of await this.#folders())
        scopes.push({ scope: messagesScope(folder.id), folderId: folder.id });
    if (resources.includes('events')) scopes.push({ scope: CALENDAR_SCOPE, folderId: null });

    for (const { scope, folderId } of scopes) {
      const state = await deps.deltas.get(mailboxKey, scope);
      // A drifted calendar window is replaced by one around now: a full round over it, silent
      // (its link is where later catch-ups start), taken BEFORE the old link's round, so a change
      // made while both run is in one of them (twice at worst: consumers upsert), never in neither.
      let rolled: { deltaLink: string; items: number; window: { start: number; end: number } } | undefined;
      if (folderId === null && state?.window !== undefined && this.#isStale(state.window)) {
        const window = this.#window();
        const round = await this.#round(
          { first: () => buildCalendarViewDelta({ userId: this.#userId, ...window }) },
          async () => {},
        );
        rolled = { ...round, window };
      }
      const window = rolled?.window ?? state?.window ?? this.#window();
      const full = () =>
        folderId === null
          ? buildCalendarViewDelta({ userId: this.#userId, ...window })
          : buildMessagesDelta({ userId: this.#userId, folderId });
      // The calendar view speaks of a series by its occurrences; the subscription's notifications
      // (and so consumers) by its master's id: an occurrence is published as its series, once a round.
      const series = new Set<string>();
      const publishPage =
        (round: 'full' | 'incremental', basis: string) => async (changes: readonly DeltaChange[]) => {
          const events: ResyncCloudEvent[] = [];
          for (const change of changes) {
            if (change.kind === 'present' && change.seriesMasterId !== null) {
              // Not `reported`: the master stays on the pushed-item list, whose check is the only
              // way its deletion is told (the view reports its occurrences gone, not the master).
              if (series.has(change.seriesMasterId)) continue;
              series.add(change.seriesMasterId);
              masters.add(change.seriesMasterId);
              const master = {
                ...change,
                id: change.seriesMasterId,
                eventType: 'seriesMaster',
                seriesMasterId: null,
              };
              events.push(this.#resyncEvent(scope, basis, master, round));
              continue;
            }
            reported.set(change.id, change.kind === 'present' ? 'present' : 'deleted');
            events.push(this.#resyncEvent(scope, basis, change, round));
          }
          if (events.length > 0) {
            // The enrichment hints, as the EWS catch-up puts them: what it found is read like a push.
            const kind = folderId === null ? 'event' : 'message';
            await deps.publisher.publish(mailboxKey, events, hintAttributes(this.record, kind));
            this.#published += events.length;
          }
        };
      let done: { deltaLink: string; items: number };
      if (state === undefined) {
        done = await this.#round({ first: full }, publishPage('full', `${scope}#full@${deps.clock.now()}`));
      } else {
        try {
          done = await this.#round({ link: state.deltaLink }, publishPage('incremental', state.deltaLink));
          // The old link's round was only to publish what it had; the rolled window's link goes on.
          if (rolled !== undefined) done = rolled;
        } catch (error) {
          if (!(error instanceof GraphStepFailed) || !isCategory(error.error, 'ResyncRequired')) throw error;
          // The link is no longer known to Graph: the folder (or the new window) from scratch.
          expired.push(scope);
          done = await this.#round({ first: full }, publishPage('full', `${scope}#full@${deps.clock.now()}`));
        }
      }
      await deps.deltas.put(mailboxKey, {
        scope,
        deltaLink: done.deltaLink,
        itemsSeen: done.items,
        ...(folderId === null ? { window } : {}),
        updatedAt: deps.clock.now(),
      });
    }
    await this.#reconcile(resources, reported, startedAt);
    // A series consumers first heard of here (and never updated since) would be on no list, yet
    // only the list can tell its deletion (the view reports occurrences gone, never the master):
    // noted as the receiver notes one. After the check above, which need not ask about them.
    const notedAt = deps.clock.now();
    await deps.pushedItemList.write(
      mailboxKey,
      [...masters].map((itemId) => ({ itemId, folderId: 'events', notedAt })),
    );
    if (!options.announce) return;
    this.#caughtUp.push(...resources);
    // A full read reports what is there, never what went: an item consumers hold in such a scope
    // that was deleted with its notification lost (and not on the pushed-item list, which holds
    // only items noted since the last catch-up) is reported by no event. Graph cannot say which;
    // consumers can, from this detail and the resync Creates before it (docs/graph-source.md).
    await this.#lifecycle(
      'resynced',
      null,
      expired.length === 0
        ? null
        : `Graph no longer knew the delta link of ${expired.join(', ')} (410): read in full, every item there published as a resync Create; an item you hold in ${expired.length === 1 ? 'it' : 'them'} that this catch-up did not name may have been deleted meanwhile: treat it as gone`,
      discriminator,
    );
  }

  /**
   * The deletions delta cannot report: an item created after the stored link (its creation
   * notified, so consumers hold it) and deleted again before this round, its deletion's
   * notification lost (`missed`) or made while no subscription existed (`subscriptionRemoved`),
   * appears in no round. Each listed item of the caught-up resources the rounds did not name is
   * asked for (GET, id only); one Graph no longer has becomes a resync Delete. The list is
   * trimmed as after an EWS catch-up (renewer/reconcile.ts).
   */
  async #reconcile(
    resources: readonly GraphResourceKind[],
    reported: ReadonlyMap<string, 'present' | 'deleted'>,
    startedAt: number,
  ): Promise<void> {
    const deps = this.#deps;
    const collections = new Set<string>(resources);
    const list = deps.pushedItemList;
    const collectionOf = new Map<string, GraphItemCollection>();
    // A recurring series is notified by its master's id, but the calendar view's delta speaks of
    // its occurrences (their own ids) and never of the master: a present event the rounds did not
    // name stays listed, so its deletion is asked about again at the next catch-up.
    const keep = new Set<string>();
    const result = await reconcilePushedItemList(this.record, 'noWatermark', reported, startedAt, {
      exchange: {
        checkItems: async (_mailbox, itemIds) => {
          const answers: ItemPresence[] = [];
          for (const itemId of itemIds) {
            const answer = await this.#presence(itemId, collectionOf.get(itemId));
            if (answer === 'present' && collectionOf.get(itemId) === 'events') keep.add(itemId);
            answers.push(answer);
          }
          return { ok: true, value: answers };
        },
      },
      // Only this source's entries, of the resources caught up (an EWS entry left from before a
      // migration names an EWS id, which Graph cannot be asked about).
      pushedItemList: {
        list: async function* (mailboxKey) {
          for await (const item of list.list(mailboxKey)) {
            if (item.folderId === null || !collections.has(item.folderId)) continue;
            collectionOf.set(item.itemId, item.folderId === 'events' ? 'events' : 'messages');
            yield item;
          }
        },
        forget: (mailboxKey, itemIds) =>
          list.forget(
            mailboxKey,
            itemIds.filter((id) => !keep.has(id)),
          ),
      },
      publisher: {
        publish: async (mailboxKey, events) => {
          await deps.publisher.publish(mailboxKey, events);
          this.#published += events.length;
        },
      },
      clock: deps.clock,
    });
    if (!result.ok) throw new GraphStepFailed(result.error);
  }

  async #presence(itemId: string, collection: GraphItemCollection | undefined): Promise<ItemPresence> {
    if (collection === undefined) return { undetermined: 'not listed under messages or events' };
    const reply = unwrap(
      await this.#client.send(buildItemPresenceRequest({ userId: this.#userId, collection, itemId })),
    );
    const presence = decodeItemPresence(reply, this.#deps.clock.now());
    if (!presence.ok) {
      // Throttling and passing failures end the job (retried as any Graph failure); anything
      // else about one item leaves it listed, asked again at the next catch-up.
      if (presence.error.retryable !== false) throw new GraphStepFailed(presence.error);
      return { undetermined: presence.error.message };
    }
    return presence.value;
  }

  #resyncEvent(
    scope: string,
    basis: string,
    change: DeltaChange,
    round: 'full' | 'incremental',
  ): ResyncCloudEvent {
    const { mailboxKey, mailbox } = this.record;
    const changeType = resyncChangeTypeOf(change, round);
    const folder = { folderId: scope };
    return {
      specversion: '1.0',
      id: stableId('graph-resync/v1', mailboxKey, scope, basis, change.kind, change.id),
      source: eventSource(mailboxKey),
      type: `exchange-push-bridge.resync.${changeType}`,
      time: new Date(this.#deps.clock.now()).toISOString(),
      subject: change.id,
      datacontenttype: 'application/json',
      data: {
        mailbox,
        mailboxKey,
        folder,
        changeType,
        itemId: { id: change.id, changeKey: change.kind === 'present' ? change.changeKey : null },
        itemType: change.kind === 'present' ? itemTypeOf(change.odataType, scope) : null,
        isRead: null,
        // Graph has no watermark: the catch-up always runs without one.
        reason: 'noWatermark',
      },
    };
  }

  async #lifecycle(
    kind: 'created' | 'gap-detected' | 'resynced' | 'recovered',
    subscriptionId: string | null,
    detail: string | null,
    discriminator?: string,
  ): Promise<void> {
    const { mailboxKey, mailbox, generation } = this.record;
    await this.#deps.publisher.publish(mailboxKey, [
      toLifecycleCloudEvent({
        mailbox,
        mailboxKey,
        kind,
        generation,
        subscriptionId,
        previousSubscriptionId: null,
        detail,
        at: this.#deps.clock.now(),
        ...(discriminator === undefined ? {} : { discriminator }),
      }),
    ]);
    this.#published++;
  }
}

/** Where a delta round starts: a stored link, or a full round's first request. */
export type DeltaRoundStart = { link: string } | { first: () => ReturnType<typeof buildMessagesDelta> };

/** Every mail folder of the mailbox, children included (a delta round is per folder). */
export async function listMailFolders(
  client: GraphLifecycleClient,
  userId: string,
  clock: Clock,
): Promise<MailFolder[]> {
  const folders: MailFolder[] = [];
  const pending: Array<string | undefined> = [undefined];
  while (pending.length > 0) {
    const parentId = pending.shift();
    let request = buildListMailFolders({ userId, ...(parentId === undefined ? {} : { parentId }) });
    for (;;) {
      const reply = unwrap(await client.send(request));
      const page = decodeMailFolderPage(reply, clock.now());
      if (!page.ok) throw new GraphStepFailed(page.error);
      for (const folder of page.value.folders) {
        folders.push(folder);
        if (folder.childFolderCount > 0) pending.push(folder.id);
      }
      if (page.value.nextLink === null) break;
      request = buildMailFoldersFollow(page.value.nextLink, userId);
    }
  }
  return folders;
}

/** One delta round from `start.link` (or a full one from `start.first`); every change handed to `onPage`. */
export async function deltaRound(
  client: GraphLifecycleClient,
  userId: string,
  start: DeltaRoundStart,
  onPage: (changes: readonly DeltaChange[]) => Promise<void>,
): Promise<{ deltaLink: string; items: number }> {
  let request = 'link' in start ? buildDeltaFollow(start.link, { mailbox: userId }) : start.first();
  let items = 0;
  for (;;) {
    const page: DeltaPage = unwrap(await client.deltaPage(request));
    items += page.changes.length;
    await onPage(page.changes);
    if (page.next.kind === 'deltaLink') return { deltaLink: page.next.url, items };
    request = buildDeltaFollow(page.next.url, { mailbox: userId });
  }
}

function itemTypeOf(odataType: string | null, scope: string): string {
  const type = odataType?.toLowerCase() ?? '';
  if (type.endsWith('.event') || scope === CALENDAR_SCOPE) return 'CalendarItem';
  return 'Message';
}

async function failGraph(
  record: SubscriptionRecord,
  error: Error,
  needsAttention: boolean,
  deps: GraphRenewDeps,
): Promise<GraphRenewOutcome> {
  const now = deps.clock.now();
  const attempts = record.attempts + 1;
  const firstFailureAt = record.firstFailureAt ?? now;
  const lost = isLost(attempts, firstFailureAt, now, deps.policy);
  const message = `${needsAttention ? NEEDS_ATTENTION_PREFIX : ''}${error.message}`;
  const nextAttemptAt = now + retryDelay(attempts, lost, deps.policy, deps.random);
  const state: SubscriptionState = lost ? 'lost' : record.state === 'active' ? 'renewing' : record.state;
  await deps.store.recordFailure({
    mailboxKey: record.mailboxKey,
    generation: record.generation,
    state,
    error: message,
    attempts,
    nextAttemptAt,
    firstFailureAt,
    lost,
    now,
  });
  const becameLost = lost && record.state !== 'lost';
  if (becameLost) {
    await deps.publisher.publish(record.mailboxKey, [
      toLifecycleCloudEvent({
        mailbox: record.mailbox,
        mailboxKey: record.mailboxKey,
        kind: 'lost',
        generation: record.generation,
        subscriptionId: null,
        previousSubscriptionId: null,
        detail: `${attempts} attempt(s) since ${new Date(firstFailureAt).toISOString()} failed; last: ${message}`,
        at: now,
        discriminator: String(firstFailureAt),
      }),
    ]);
  }
  return {
    kind: 'failed',
    error: message,
    needsAttention,
    lost,
    becameLost,
    nextAttemptAt,
    graph: { validationFailed: isCategory(error, 'ValidationFailed') },
  };
}
