/**
 * What the local run proves: every change the simulator made reached consumers, nothing twice,
 * and every lost subscription healed. Computed from the simulator's ground truth and what the
 * local run's own consumer (a second subscriber of the events topic) received.
 */
import type { DeliveryRecord, LossRecord } from '../graph-simulator/delivery.ts';
import type { GraphChange } from '../graph-simulator/mailbox-store.ts';
import type { SubscriptionView as GraphSubscriptionView } from '../graph-simulator/subscriptions.ts';
import type { ChangeRecord } from '../simulator/mailbox-store.ts';
import type { MassLoss } from '../simulator/mass-loss.ts';
import type { SubscriptionView } from '../simulator/push-engine.ts';
import type { DeliveredEvent } from './audit.ts';
import type { AwsFaultCounts } from './aws-faults.ts';
import type { KeepUpSummary } from './keep-up.ts';

/**
 * Where the run stands when it is judged: what is still in flight, and which mailboxes the
 * lifecycle is still working on. What it says decides whether an unreflected change can still
 * arrive (awaiting) or never will (missing).
 */
export interface RunState {
  /**
   * Messages in each live queue (visible or being processed): `ingest` (accepted, not yet
   * published), `renewals` (lifecycle jobs), `audit` (published, not yet read by the run's consumer).
   */
  readonly inFlight: Readonly<Record<string, number>>;
  /** Messages in each dead-letter queue: they arrive nowhere unless redriven. */
  readonly deadLetters: Readonly<Record<string, number>>;
  /** Mailboxes whose subscription record is not at rest (not active, or recovery or sync owed). */
  readonly busyMailboxes: ReadonlySet<string>;
}

export interface RunReport {
  /**
   * The run came to rest: nothing in flight in any live queue, every watched mailbox at rest with
   * exactly one subscription Exchange pushes through and has pushed since its last change. Only
   * then is every unreflected change known to be missing for good.
   */
  readonly settled: boolean;
  /** Messages still in each live queue when judged (see RunState.inFlight). */
  readonly inFlight: Readonly<Record<string, number>>;
  /** Messages in each dead-letter queue. */
  readonly deadLetters: Readonly<Record<string, number>>;
  /**
   * Item changes no delivered event reflects yet, which can still arrive: events are in flight,
   * the mailbox's lifecycle is at work (a heal or catch-up owed, which resyncs it), or Exchange has
   * not pushed since the change. Not a loss; a backlog. 0 when settled.
   */
  readonly awaitingChanges: number;
  /** Item changes the simulator made while the bridge watched the mailbox. */
  readonly generatedChanges: number;
  /** Events consumers received (item notifications, resync changes, lifecycle events). */
  readonly deliveredEvents: number;
  /**
   * Item changes no delivered event reflects (for the last change of every item, no event for
   * that item, or its old id for a move, at or after the change) and that can no longer arrive
   * (see awaitingChanges for those that still can).
   */
  readonly missingChanges: number;
  /**
   * Of the missing changes, those no mechanism could deliver: an item created and deleted again
   * whose events Exchange never pushed to anyone (no subscription had them acknowledged: none
   * existed, or those that did were lost or replaced before they pushed that far), after which a
   * fresh subscription had to follow (a watermark rejected after a mailbox move, or expired), so
   * Exchange had no event left to replay, and SyncFolderItems, which reports how items are now,
   * had nothing to report. No delivered event names the item: consumers never saw it and do not
   * hold it, so their state is right.
   */
  readonly unobservableChanges: number;
  /** Events delivered more than once (same id). */
  readonly duplicateEvents: number;
  /** Subscriptions the simulator lost, dropped or deleted (Exchange's side of a loss). */
  readonly subscriptionsLost: number;
  /** Of those, how many were replaced by a newer subscription for the mailbox (before or after the loss). */
  readonly subscriptionsRecovered: number;
  /** Mailboxes with no subscription the simulator is pushing through at the end. */
  readonly unhealed: number;
  /**
   * Longest time from an ordinary loss (one subscription dropped, expired or moved on its own, not
   * by a mass loss) to the mailbox's next subscription (simulated seconds).
   */
  readonly maxHealSeconds: number;
  /**
   * Time from an ordinary loss to the mailbox's next subscription, over the healed ones (simulated
   * seconds). The subscriptions a mass loss killed are in massLossHealSeconds instead: hundreds of
   * heals queued at once take longer, and would pass for a slow single heal here.
   */
  readonly healSeconds: { readonly p50: number; readonly p95: number };
  /** Each mass loss (hundreds of subscriptions dying at once, simulator/mass-loss.ts) and how it healed. */
  readonly massLosses: readonly MassLossHeal[];
  /**
   * Over every mailbox that lost its subscriptions in a mass loss: time from the loss to the
   * mailbox's next subscription (simulated seconds). Kept apart from healSeconds, where the
   * scattered losses would hide how long a burst takes to heal.
   */
  readonly massLossHealSeconds: { readonly p50: number; readonly p95: number; readonly max: number };
  /** AWS faults injected into the functions' calls (local/aws-faults.ts), by service and kind. */
  readonly awsFaults: AwsFaultCounts;
  /** Whether the run kept up with its load (local/keep-up.ts); absent when not watched. */
  readonly keepUp?: KeepUpSummary;
  /** The first few missing changes, to look into: which source, mailbox, item, and what became of it. */
  readonly missingExamples: readonly MissingChange[];
  /**
   * The same counts per source, when the run had mailboxes on Graph (the figures above are their
   * sums). The Graph side's losses are subscriptions Graph removed or let expire
   * (`subscriptionRemoved`, healed by the next subscription for the resource) and lost notification
   * episodes (`missed`, healed by the next catch-up's `resynced` event).
   */
  readonly bySource?: {
    readonly ews: SourceFigures;
    readonly graph: SourceFigures & { readonly graphLosses: GraphLossFigures };
  };
}

/** What a run's report says about one source's mailboxes. */
export interface SourceFigures {
  readonly mailboxes: number;
  readonly generatedChanges: number;
  readonly awaitingChanges: number;
  readonly missingChanges: number;
  readonly unobservableChanges: number;
  readonly subscriptionsLost: number;
  readonly subscriptionsRecovered: number;
  readonly unhealed: number;
  readonly healSeconds: { readonly p50: number; readonly p95: number; readonly max: number };
}

/** How Graph's losses healed, by kind (simulated seconds). */
export interface GraphLossFigures {
  /** Subscriptions Graph removed (`subscriptionRemoved`) or let expire; healed by the next one for the resource. */
  readonly subscriptionRemoved: LossKindFigures;
  /**
   * Episodes of lost change notifications (the stand-in's `missed`, its drop rule, retries
   * exhausted, a paused subscription), each a minute apart at least; healed by the mailbox's next
   * `subscription.resynced` event (the catch-up that follows `missed`).
   */
  readonly missed: LossKindFigures;
  /**
   * Lifecycle notifications Graph gave up on (retries exhausted after 4 hours of failed answers),
   * by lifecycle event: a lost `subscriptionRemoved` leaves the bridge unaware until its next renewal.
   */
  readonly lifecycleNotificationsLost: Readonly<Record<string, number>>;
  /** The resources (`mailbox messages`, `mailbox events`) without exactly one active subscription at the end. */
  readonly unhealedResources: readonly string[];
}

export interface LossKindFigures {
  readonly count: number;
  readonly healed: number;
  readonly healSeconds: { readonly p50: number; readonly p95: number; readonly max: number };
}

/** A change no delivered event reflects and none can any more, as the report names it. */
export interface MissingChange {
  readonly source: 'ews' | 'graph';
  readonly mailbox: string;
  /** The change's seq in its simulator's ground truth. */
  readonly seq: number;
  readonly at: number;
  readonly kind: string;
  readonly itemType: string;
  /** The id consumers know the item by (for Graph: its immutable id). */
  readonly itemId: string;
  readonly folder: string;
  /** Consumers never held the item: counted in `unobservableChanges`, not a loss. */
  readonly unobservable: boolean;
  /** The last delivered event naming the item (by any id it had), if any: its type and time. */
  readonly lastEvent: { readonly type: string; readonly time: string } | null;
  /**
   * Graph only: what became of the change's notification at the stand-in (`delivered`, `lost:
   * <reason>`, or `none`: no subscription was there to notify).
   */
  readonly notification?: string;
}

/** The Graph stand-in's side of a run (graph-simulator/). */
export interface GraphRunInput {
  readonly changes: readonly GraphChange[];
  readonly subscriptions: readonly GraphSubscriptionView[];
  readonly losses: readonly LossRecord[];
  readonly deliveries: readonly DeliveryRecord[];
  /** The watched mailboxes on Graph. */
  readonly mailboxes: readonly string[];
}

/** How one mass loss healed. */
export interface MassLossHeal {
  /** When it struck (simulated epoch ms). */
  readonly at: number;
  /** Mailboxes it moved. */
  readonly mailboxes: number;
  /** Mailboxes whose subscriptions it killed (a mailbox already without one is moved, not counted). */
  readonly affected: number;
  /** Of those, how many have had a new subscription since. */
  readonly healed: number;
  /**
   * Time from the loss to each affected mailbox's next subscription (simulated seconds); `max` is
   * the time until every affected mailbox had healed (when `healed` = `affected`).
   */
  readonly healSeconds: { readonly p50: number; readonly p95: number; readonly max: number };
}

/** A loss: Exchange stopped pushing for reasons of its own (not an Unsubscribe we answered). */
const LOSS_STATES: ReadonlySet<string> = new Set(['lost', 'expired', 'deleted']);

/** TimeStamps in pushes are whole seconds; a change is reflected by an event from its second on. */
const TIMESTAMP_PRECISION_MS = 1000;

export function buildReport(input: {
  changes: readonly ChangeRecord[];
  delivered: readonly DeliveredEvent[];
  deliveries: ReadonlyMap<string, number>;
  subscriptions: readonly SubscriptionView[];
  mailboxes: readonly string[];
  /** Unknown (never observed): nothing counts as settled, and every unreflected change is awaited. */
  state?: RunState | undefined;
  awsFaults?: AwsFaultCounts | undefined;
  keepUp?: KeepUpSummary | undefined;
  massLosses?: readonly MassLoss[] | undefined;
  /** The Graph stand-in's ground truth and subscriptions, when mailboxes are on Graph. */
  graph?: GraphRunInput | undefined;
}): RunReport {
  const watched = changesWhileWatched(input.changes, input.subscriptions);
  const unreflected = findMissingChanges(watched, input.delivered).filter(
    (change) => !deletedUnderEarlierId(change, input.changes, input.delivered),
  );
  const { awaiting, missing, settled } = classifyUnreflected(
    unreflected,
    input.subscriptions,
    input.mailboxes,
    input.state,
  );
  const unobservable = missing.filter((change) =>
    isUnobservable(change, input.changes, input.subscriptions, input.delivered),
  );
  let duplicateEvents = 0;
  for (const count of input.deliveries.values()) if (count > 1) duplicateEvents += count - 1;

  const byMailbox = new Map<string, SubscriptionView[]>();
  for (const sub of input.subscriptions)
    byMailbox.set(sub.mailbox, [...(byMailbox.get(sub.mailbox) ?? []), sub]);
  let lost = 0;
  let recovered = 0;
  let maxHealMs = 0;
  const heals: number[] = [];
  const killedInMassLoss = new Set((input.massLosses ?? []).flatMap((loss) => loss.subscriptionIds));
  for (const subs of byMailbox.values()) {
    for (const sub of subs) {
      if (!LOSS_STATES.has(sub.state) || sub.endedAt === null) continue;
      lost++;
      // Its replacement: the next subscription created after it. The bridge may have replaced
      // it before Exchange dropped it (renewed as stale while its pushes were late): then the
      // loss cost nothing, and heals in no time.
      const next = subs
        .filter((s) => s !== sub && s.createdAt >= sub.createdAt)
        .sort((a, b) => a.createdAt - b.createdAt)[0];
      if (next !== undefined) {
        recovered++;
        if (killedInMassLoss.has(sub.subscriptionId)) continue;
        const healMs = Math.max(0, next.createdAt - sub.endedAt);
        heals.push(healMs);
        maxHealMs = Math.max(maxHealMs, healMs);
      }
    }
  }
  const unhealed = input.mailboxes.filter(
    (mailbox) => !(byMailbox.get(mailbox) ?? []).some((s) => s.state === 'active'),
  ).length;
  const massLosses = (input.massLosses ?? []).map((loss) => massLossHeal(loss, input.subscriptions));
  const massHeals = massLosses.flatMap((loss) => loss.healMs);
  const ewsMissing = missing.map((change) =>
    ewsMissingChange(change, input.changes, input.delivered, unobservable.includes(change)),
  );
  const ews: SourceFigures = {
    mailboxes: input.mailboxes.length,
    generatedChanges: watched.length,
    awaitingChanges: awaiting.length,
    missingChanges: missing.length,
    unobservableChanges: unobservable.length,
    subscriptionsLost: lost,
    subscriptionsRecovered: recovered,
    unhealed,
    healSeconds: secondsOf(heals),
  };
  const graph =
    input.graph === undefined ? undefined : graphReport(input.graph, input.delivered, input.state);
  const allHeals = [...heals, ...(graph?.healMs ?? [])];
  const sum = (pick: (figures: SourceFigures) => number) => pick(ews) + (graph ? pick(graph.figures) : 0);
  return {
    settled: settled && (graph?.settled ?? true),
    inFlight: input.state?.inFlight ?? {},
    deadLetters: input.state?.deadLetters ?? {},
    awaitingChanges: sum((f) => f.awaitingChanges),
    generatedChanges: sum((f) => f.generatedChanges),
    deliveredEvents: input.delivered.length,
    missingChanges: sum((f) => f.missingChanges),
    unobservableChanges: sum((f) => f.unobservableChanges),
    duplicateEvents,
    subscriptionsLost: sum((f) => f.subscriptionsLost),
    subscriptionsRecovered: sum((f) => f.subscriptionsRecovered),
    unhealed: sum((f) => f.unhealed),
    maxHealSeconds: Math.round(Math.max(0, ...allHeals) / 1000),
    healSeconds: {
      p50: Math.round(percentile(allHeals, 0.5) / 1000),
      p95: Math.round(percentile(allHeals, 0.95) / 1000),
    },
    massLosses: massLosses.map(({ healMs: _, ...loss }) => loss),
    massLossHealSeconds: {
      p50: Math.round(percentile(massHeals, 0.5) / 1000),
      p95: Math.round(percentile(massHeals, 0.95) / 1000),
      max: Math.round(Math.max(0, ...massHeals) / 1000),
    },
    awsFaults: input.awsFaults ?? { injected: {}, calls: 0 },
    ...(input.keepUp === undefined ? {} : { keepUp: input.keepUp }),
    missingExamples: [...ewsMissing, ...(graph?.missing ?? [])].slice(0, 10),
    ...(graph === undefined
      ? {}
      : { bySource: { ews, graph: { ...graph.figures, graphLosses: graph.losses } } }),
  };
}

function secondsOf(heals: readonly number[]): { p50: number; p95: number; max: number } {
  return {
    p50: Math.round(percentile(heals, 0.5) / 1000),
    p95: Math.round(percentile(heals, 0.95) / 1000),
    max: Math.round(Math.max(0, ...heals) / 1000),
  };
}

/** The last delivered event naming one of the ids. */
function lastEventFor(
  ids: ReadonlySet<string>,
  delivered: readonly DeliveredEvent[],
): MissingChange['lastEvent'] {
  let last: MissingChange['lastEvent'] = null;
  for (const event of delivered) {
    const named = [idOf(event.data.itemId), idOf(event.data.oldItemId)].some(
      (id) => id !== undefined && ids.has(id),
    );
    if (named && (last === null || event.time >= last.time)) last = { type: event.type, time: event.time };
  }
  return last;
}

function ewsMissingChange(
  change: ChangeRecord,
  changes: readonly ChangeRecord[],
  delivered: readonly DeliveredEvent[],
  unobservable: boolean,
): MissingChange {
  // By every id the item had: consumers may know it by the one it had before a move.
  const ids = chainIds(change, changes);
  return {
    source: 'ews',
    mailbox: change.mailbox,
    seq: change.seq,
    at: change.at,
    kind: change.kind,
    itemType: change.element,
    itemId: change.itemId,
    folder: change.folder,
    unobservable,
    lastEvent: lastEventFor(ids, delivered),
  };
}

/**
 * The Graph side of the report, judged as the EWS side is: a change no delivered event reflects
 * (an event naming the item's immutable id at or after its last change) is awaited while events or
 * notifications are in flight (the stand-in's queued notifications count in `inFlight.graph`),
 * while its mailbox's lifecycle is at work (graphWork owed, a catch-up due), or while the
 * resource it belongs to has no single active subscription (a removal the bridge has not healed
 * yet); otherwise it is missing.
 */
export function graphReport(
  input: GraphRunInput,
  delivered: readonly DeliveredEvent[],
  state: RunState | undefined,
): {
  figures: SourceFigures;
  losses: GraphLossFigures;
  healMs: number[];
  missing: MissingChange[];
  settled: boolean;
} {
  const watchedSet = new Set(input.mailboxes);
  const since = new Map<string, number>();
  for (const sub of input.subscriptions)
    since.set(sub.mailbox, Math.min(since.get(sub.mailbox) ?? Number.POSITIVE_INFINITY, sub.createdAt));
  const watched = input.changes
    .filter((c) => watchedSet.has(c.mailbox) && c.at >= (since.get(c.mailbox) ?? Number.POSITIVE_INFINITY))
    .map((c) => ({ ...c, itemId: c.immutableId, oldItemId: null }));
  const unreflected = findMissingChanges(watched, delivered);

  const activeBy = new Map<string, number>();
  const collection = (resource: string) => (/\/events$/i.test(resource) ? 'event' : 'message');
  for (const sub of input.subscriptions) {
    if (sub.state !== 'active') continue;
    const key = `${sub.mailbox}\u0000${collection(sub.resource)}`;
    activeBy.set(key, (activeBy.get(key) ?? 0) + 1);
  }
  const atRest = (mailbox: string, itemType: 'message' | 'event') =>
    state !== undefined &&
    !state.busyMailboxes.has(mailbox) &&
    activeBy.get(`${mailbox}\u0000${itemType}`) === 1;
  const queued = state === undefined ? 1 : Object.values(state.inFlight).reduce((sum, n) => sum + n, 0);
  const awaiting = unreflected.filter((c) => queued > 0 || !atRest(c.mailbox, c.itemType));
  const missingChanges = unreflected.filter((c) => !awaiting.includes(c));
  // A deleted item no delivered event ever named: consumers never held it, so its deletion has
  // nothing to tell them (created and deleted while notifications were lost or no subscription
  // existed; delta reports neither). Their state is right.
  const named = new Set<string>();
  for (const event of delivered) {
    const id = idOf(event.data.itemId);
    if (id !== undefined) named.add(id);
  }
  const unobservable = missingChanges.filter((c) => c.kind === 'deleted' && !named.has(c.immutableId));

  // Losses: subscriptions Graph removed or let expire, each healed by the next for its resource.
  const heals: number[] = [];
  let lost = 0;
  let recovered = 0;
  for (const sub of input.subscriptions) {
    if ((sub.state !== 'removed' && sub.state !== 'expired') || sub.endedAt === null) continue;
    if (!watchedSet.has(sub.mailbox)) continue;
    lost++;
    const next = input.subscriptions
      .filter(
        (s) =>
          s !== sub &&
          s.mailbox === sub.mailbox &&
          s.resource === sub.resource &&
          s.createdAt >= sub.createdAt,
      )
      .sort((a, b) => a.createdAt - b.createdAt)[0];
    if (next === undefined) continue;
    recovered++;
    heals.push(Math.max(0, next.createdAt - sub.endedAt));
  }
  // Episodes of lost notifications, healed by the mailbox's next resynced event.
  const mailboxOf = new Map(input.subscriptions.map((s) => [s.id, s.mailbox]));
  const resyncedAt = new Map<string, number[]>();
  for (const event of delivered) {
    if (event.type !== 'exchange-push-bridge.subscription.resynced') continue;
    const mailbox = event.data.mailbox;
    if (typeof mailbox !== 'string') continue;
    resyncedAt.set(mailbox, [...(resyncedAt.get(mailbox) ?? []), Date.parse(event.time)]);
  }
  const episodes: Array<{ mailbox: string; at: number }> = [];
  const lastEpisode = new Map<string, number>();
  for (const loss of input.losses) {
    if (loss.reason === 'subscriptionEnded' || loss.channel !== 'change') continue;
    const mailbox = mailboxOf.get(loss.subscriptionId);
    if (mailbox === undefined || !watchedSet.has(mailbox)) continue;
    const previous = lastEpisode.get(loss.subscriptionId);
    lastEpisode.set(loss.subscriptionId, loss.at);
    if (previous !== undefined && loss.at - previous < 60_000) {
      const episode = episodes.at(-1);
      if (episode !== undefined && episode.mailbox === mailbox) episode.at = loss.at;
      continue;
    }
    episodes.push({ mailbox, at: loss.at });
  }
  const missedHeals: number[] = [];
  for (const episode of episodes) {
    const healedAt = (resyncedAt.get(episode.mailbox) ?? [])
      .filter((t) => t >= episode.at)
      .sort((a, b) => a - b)[0];
    if (healedAt !== undefined) missedHeals.push(healedAt - episode.at);
  }

  const unhealedResources = input.mailboxes.flatMap((mailbox) =>
    (['message', 'event'] as const)
      .filter((type) => activeBy.get(`${mailbox}\u0000${type}`) !== 1)
      .map((type) => `${mailbox} ${type}s (${activeBy.get(`${mailbox}\u0000${type}`) ?? 0} active)`),
  );
  const unhealed = input.mailboxes.filter((mailbox) =>
    unhealedResources.some((r) => r.startsWith(`${mailbox} `)),
  ).length;
  const lifecycleNotificationsLost: Record<string, number> = {};
  for (const loss of input.losses)
    if (loss.channel === 'lifecycle') {
      const key = `${loss.lifecycleEvent ?? 'unknown'} (${loss.reason})`;
      lifecycleNotificationsLost[key] = (lifecycleNotificationsLost[key] ?? 0) + 1;
    }
  const settled =
    state !== undefined &&
    queued === 0 &&
    awaiting.length === 0 &&
    input.mailboxes.every((m) => atRest(m, 'message') && atRest(m, 'event'));

  // What became of each missing change's notification at the stand-in: the evidence to tell a
  // loss of the bridge from a loss Graph announced.
  const deliveredSeqs = new Set<number>();
  for (const d of input.deliveries)
    if (d.outcome === 'delivered') for (const seq of d.changeSeqs) deliveredSeqs.add(seq);
  const lostSeqs = new Map<number, string>();
  for (const loss of input.losses) if (loss.changeSeq !== null) lostSeqs.set(loss.changeSeq, loss.reason);
  const missing: MissingChange[] = missingChanges.map((c) => ({
    source: 'graph',
    mailbox: c.mailbox,
    seq: c.seq,
    at: c.at,
    kind: c.kind,
    itemType: c.itemType,
    itemId: c.immutableId,
    folder: c.folder,
    unobservable: unobservable.includes(c),
    lastEvent: lastEventFor(new Set([c.immutableId]), delivered),
    notification: deliveredSeqs.has(c.seq)
      ? 'delivered'
      : lostSeqs.has(c.seq)
        ? `lost: ${lostSeqs.get(c.seq)}`
        : 'none',
  }));
  return {
    figures: {
      mailboxes: input.mailboxes.length,
      generatedChanges: watched.length,
      awaitingChanges: awaiting.length,
      missingChanges: missingChanges.length,
      unobservableChanges: unobservable.length,
      subscriptionsLost: lost,
      subscriptionsRecovered: recovered,
      unhealed,
      healSeconds: secondsOf(heals),
    },
    losses: {
      subscriptionRemoved: { count: lost, healed: recovered, healSeconds: secondsOf(heals) },
      missed: { count: episodes.length, healed: missedHeals.length, healSeconds: secondsOf(missedHeals) },
      lifecycleNotificationsLost,
      unhealedResources,
    },
    healMs: heals,
    missing,
    settled,
  };
}

/**
 * A mass loss's heal: for each mailbox whose subscriptions it killed, the time from the loss to the
 * mailbox's first subscription created after it (the moved mailbox refuses Subscribe while it
 * moves, so any later one is the bridge's recovery).
 */
function massLossHeal(
  loss: MassLoss,
  subscriptions: readonly SubscriptionView[],
): MassLossHeal & { healMs: number[] } {
  const killed = new Set(loss.subscriptionIds);
  const affected = new Set(subscriptions.filter((s) => killed.has(s.subscriptionId)).map((s) => s.mailbox));
  const healMs: number[] = [];
  for (const mailbox of affected) {
    const next = subscriptions
      .filter((s) => s.mailbox === mailbox && s.createdAt >= loss.at && !killed.has(s.subscriptionId))
      .reduce<number | undefined>((first, s) => Math.min(first ?? s.createdAt, s.createdAt), undefined);
    if (next !== undefined) healMs.push(next - loss.at);
  }
  return {
    at: loss.at,
    mailboxes: loss.mailboxes.length,
    affected: affected.size,
    healed: healMs.length,
    healSeconds: {
      p50: Math.round(percentile(healMs, 0.5) / 1000),
      p95: Math.round(percentile(healMs, 0.95) / 1000),
      max: Math.round(Math.max(0, ...healMs) / 1000),
    },
    healMs,
  };
}

/**
 * Splits the changes no delivered event reflects yet into those that can still arrive and those
 * that cannot, and says whether the run is at rest. A change can still arrive when
 * - events are in flight in a live queue (which change they carry is not known: all wait), or
 * - its mailbox's lifecycle is at work (a heal or catch-up resyncs the mailbox), or
 * - Exchange has no single active subscription for the mailbox (a loss the bridge has not noticed
 *   yet: it will within the staleness threshold, and heal it), or
 * - that subscription has not pushed successfully since the change (a push is due or retrying).
 */
export function classifyUnreflected(
  unreflected: readonly ChangeRecord[],
  subscriptions: readonly SubscriptionView[],
  mailboxes: readonly string[],
  state: RunState | undefined,
): { awaiting: ChangeRecord[]; missing: ChangeRecord[]; settled: boolean } {
  if (state === undefined) return { awaiting: [...unreflected], missing: [], settled: false };
  const queued = Object.values(state.inFlight).reduce((sum, n) => sum + n, 0);
  const active = new Map<string, SubscriptionView[]>();
  for (const sub of subscriptions)
    if (sub.state === 'active') active.set(sub.mailbox, [...(active.get(sub.mailbox) ?? []), sub]);
  /** The time up to which Exchange has pushed the mailbox's changes, or undefined if a heal is owed. */
  const pushedUpTo = (mailbox: string): number | undefined => {
    if (state.busyMailboxes.has(mailbox)) return undefined;
    const subs = active.get(mailbox) ?? [];
    const [only] = subs;
    if (subs.length !== 1 || only === undefined || only.failedAttempts > 0) return undefined;
    return only.lastDeliveredAt ?? Number.NEGATIVE_INFINITY;
  };
  const awaiting: ChangeRecord[] = [];
  const missing: ChangeRecord[] = [];
  for (const change of unreflected) {
    const upTo = pushedUpTo(change.mailbox);
    if (queued > 0 || upTo === undefined || upTo < change.at) awaiting.push(change);
    else missing.push(change);
  }
  const atRest = mailboxes.every((mailbox) => pushedUpTo(mailbox) !== undefined);
  return { awaiting, missing, settled: queued === 0 && atRest && awaiting.length === 0 };
}

/**
 * The changes made once the bridge watched their mailbox (from its first subscription on): the
 * simulator's mailboxes start with items, and changes before anyone subscribed cannot be pushed.
 */
export function changesWhileWatched(
  changes: readonly ChangeRecord[],
  subscriptions: readonly SubscriptionView[],
): ChangeRecord[] {
  const since = new Map<string, number>();
  for (const sub of subscriptions)
    since.set(sub.mailbox, Math.min(since.get(sub.mailbox) ?? Number.POSITIVE_INFINITY, sub.createdAt));
  return changes.filter((change) => change.at >= (since.get(change.mailbox) ?? Number.POSITIVE_INFINITY));
}

/** Item changes not reflected by any delivered event at or after them (see RunReport). */
export function findMissingChanges<T extends Pick<ChangeRecord, 'seq' | 'at' | 'itemId' | 'oldItemId'>>(
  changes: readonly T[],
  delivered: readonly DeliveredEvent[],
): T[] {
  // Latest time an event mentioned each item id (as the item, or as the item's old id).
  const lastSeen = new Map<string, number>();
  const seen = (id: unknown, at: number) => {
    if (typeof id !== 'string') return;
    lastSeen.set(id, Math.max(lastSeen.get(id) ?? Number.NEGATIVE_INFINITY, at));
  };
  for (const event of delivered) {
    const timeStamp = event.data.timeStamp;
    const at = Date.parse(typeof timeStamp === 'string' ? timeStamp : event.time);
    seen(idOf(event.data.itemId), at);
    seen(idOf(event.data.oldItemId), at);
  }
  // The last change of each item: a later change naming its id (as the item or as its old id)
  // supersedes it.
  const superseded = new Set<number>();
  const latestBy = new Map<string, T>();
  for (const change of changes) {
    for (const id of [change.itemId, change.oldItemId]) {
      if (id === null) continue;
      const earlier = latestBy.get(id);
      if (earlier !== undefined) superseded.add(earlier.seq);
      latestBy.set(id, change);
    }
  }
  return changes.filter((change) => {
    if (superseded.has(change.seq)) return false;
    const ids = [change.itemId, change.oldItemId].filter((id): id is string => id !== null);
    return !ids.some(
      (id) => (lastSeen.get(id) ?? Number.NEGATIVE_INFINITY) >= change.at - TIMESTAMP_PRECISION_MS,
    );
  });
}

function idOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id: unknown = Reflect.get(value, 'id');
  return typeof id === 'string' ? id : undefined;
}

/** How an item began: the create (or copy) at the start of its chain of ids. */
function originOf(change: ChangeRecord, changes: readonly ChangeRecord[]): ChangeRecord | undefined {
  let current: ChangeRecord | undefined = change;
  let id = change.oldItemId ?? change.itemId;
  const bySeq = [...changes].filter((c) => c.mailbox === change.mailbox && c.seq <= change.seq).reverse();
  while (current !== undefined && current.kind !== 'create' && current.kind !== 'copy') {
    const previous = bySeq.find((c) => c.seq < (current?.seq ?? 0) && c.itemId === id);
    current = previous;
    id = previous?.oldItemId ?? previous?.itemId ?? id;
  }
  return current;
}

/** See RunReport.unobservableChanges. */
function isUnobservable(
  change: ChangeRecord,
  changes: readonly ChangeRecord[],
  subscriptions: readonly SubscriptionView[],
  delivered: readonly DeliveredEvent[],
): boolean {
  if (change.kind !== 'delete') return false;
  const origin = originOf(change, changes);
  if (origin === undefined) return false;
  // Consumers never heard of the item: no delivered event names it, by any id it had. (Had they,
  // the pushed-item list would owe them a Delete.)
  const ids = chainIds(change, changes);
  const names = (e: DeliveredEvent) =>
    [idOf(e.data.itemId), idOf(e.data.oldItemId)].some((id) => id !== undefined && ids.has(id));
  if (delivered.some(names)) return false;
  const subs = subscriptions
    .filter((s) => s.mailbox === change.mailbox)
    .sort((a, b) => a.createdAt - b.createdAt);
  // A fresh subscription (no resume: Exchange had nothing to replay to it) came after the delete,
  // and the mailbox was resynced from SyncFolderItems, under it or a later one (a heal's catch-up
  // can finish under a later subscription: the fresh one lost or gapped before its catch-up ran,
  // the catch-up owed carries over to the renewal that replaced it). SyncFolderItems reports how
  // items are now, so an item created and deleted since the stored SyncState is not among them.
  const fresh = subs.find((s) => s.createdAt > change.at && s.resumedFrom === null);
  if (fresh === undefined) return false;
  // And no subscription before it had the item's events acknowledged (its last watermark that of
  // an event from the item's creation on): Exchange pushed them to nobody, so the bridge cannot
  // have dropped them. Subscriptions that resumed from before the item and were lost or replaced
  // before pushing that far are the usual way here, under load, before a move.
  const sinceOrigin = new Set(
    changes
      .filter((c) => c.mailbox === change.mailbox && c.seq >= origin.seq)
      .flatMap((c) => c.events.map((e) => e.watermark)),
  );
  if (subs.some((s) => s.createdAt < fresh.createdAt && sinceOrigin.has(s.lastWatermark))) return false;
  const since = new Set(subs.filter((s) => s.createdAt >= fresh.createdAt).map((s) => s.subscriptionId));
  return delivered.some(
    (e) =>
      e.type === 'exchange-push-bridge.subscription.resynced' &&
      typeof e.data.subscriptionId === 'string' &&
      since.has(e.data.subscriptionId),
  );
}

/**
 * A delete consumers were told of by an id the item had before a move: the catch-up's check of
 * the pushed-item list asks about the id consumers hold (the one its CreatedEvent named), and
 * GetItem no longer finds it after the move, so the resync Delete names that id. Consumers hold
 * nothing of the item after it, which is right.
 */
function deletedUnderEarlierId(
  change: ChangeRecord,
  changes: readonly ChangeRecord[],
  delivered: readonly DeliveredEvent[],
): boolean {
  if (change.kind !== 'delete') return false;
  const ids = chainIds(change, changes);
  return delivered.some((event) => {
    if (!/(\.Delete|DeletedEvent)$/.test(event.type)) return false;
    const id = idOf(event.data.itemId);
    if (id === undefined || !ids.has(id)) return false;
    const timeStamp = event.data.timeStamp;
    const at = Date.parse(typeof timeStamp === 'string' ? timeStamp : event.time);
    return at >= change.at - TIMESTAMP_PRECISION_MS;
  });
}

/** Every id an item had, from its creation (or copy) to `change` (a move gives it a new one). */
function chainIds(change: ChangeRecord, changes: readonly ChangeRecord[]): Set<string> {
  const ids = new Set<string>([change.itemId]);
  const earlier = changes.filter((c) => c.mailbox === change.mailbox && c.seq < change.seq).reverse();
  let current: ChangeRecord | undefined = change;
  while (current !== undefined && current.kind !== 'create' && current.kind !== 'copy') {
    const id: string = current.oldItemId ?? current.itemId;
    ids.add(id);
    current = earlier.find((c) => c.seq < (current?.seq ?? 0) && c.itemId === id);
  }
  return ids;
}

/** The q-quantile (nearest rank) of the values, 0 for none. */
function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}
