/**
 * What the receiver does with Graph's notifications whose clientState verified (graph-http.ts
 * checks it before any read): per mailbox, one consistent read of the record, then
 * - a change notification of the mailbox's current subscription (or of the subscription being
 *   created at the current generation, whose id is not stored yet) becomes a bridge event,
 *   published with a stable id (Graph's redeliveries de-duplicate);
 * - a lifecycle notification of a current subscription becomes renewer work, noted in the record
 *   (`graphWork`, a set per resource: idempotent, so Graph's redeliveries and concurrent batches
 *   commute), which the sweeper queues within a minute and again until the renewer has done it,
 *   as it does the EWS receiver's recovery requests;
 * - a change notification is published only if the user its resource names is the mailbox's (its
 *   address, or the object id pinned in the record by the first such notification): a clientState
 *   verifies the subscription, not what a replayed or misrouted item says it is about, so one that
 *   names another user is refused (`foreignResource`, logged by the caller), never published;
 * - a verified notification of an older generation is a subscription the bridge replaced: noted
 *   (`graphObsolete`) for the renewer to DELETE (Graph has no Unsubscribe answer);
 * - anything else (unknown or removed mailbox, a subscription the record does not know) is
 *   dropped and counted.
 * Everything is durable (events in the ingest queue, work in the record) before the
 * caller answers 202; any failure of ours throws, so Graph gets a 5xx and retries.
 */
import type { BridgeEvent } from '../../events/bridge-event.ts';
import type { Clock } from '../core/clock.ts';
import { forEachLimited } from '../core/concurrency.ts';
import { hintAttributes } from '../domain/enrichment.ts';
import type { EventPublisher } from '../domain/events.ts';
import { toGraphNotificationCloudEvent } from '../domain/graph-events.ts';
import {
  GRAPH_RESOURCES,
  type GraphResourceKind,
  type GraphWork,
  type GraphWorkRequest,
  graphWorkOf,
  notificationUserIs,
} from '../domain/graph-mailbox.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import {
  hasPushedItemListChanges,
  netPushedItemListChanges,
  type PushedItem,
  type PushedItemListChanges,
} from '../domain/pushed-item-list.ts';
import type { SubscriptionRecord } from '../domain/subscription.ts';
import { itemTypeOf, parseNotificationResource } from '../graph/events.ts';
import type { GraphItemKind } from '../graph/items.ts';
import type { ChangeNotification, GraphNotification, LifecycleEvent } from '../graph/notification.ts';
import type { PushedItemListWriter, SubscriptionStore } from './receive.ts';

export type { GraphWorkRequest } from '../domain/graph-mailbox.ts';

export interface GraphWorkStore {
  /**
   * Adds the work to the record's sets (idempotent), unless the record is gone or removed (then
   * nothing is owed). Durable when it returns; throws on failure.
   */
  requestGraphWork(mailboxKey: MailboxKey, request: GraphWorkRequest): Promise<void>;
  /**
   * Pins the Graph object id of a Graph mailbox's user (`graph.objectId`) unless another is pinned:
   * true when the record (a Graph mailbox, not removed) now holds `objectId`. Throws on failure.
   */
  pinGraphUser(mailboxKey: MailboxKey, objectId: string): Promise<boolean>;
}

export interface GraphReceiveDeps {
  readonly store: Pick<SubscriptionStore, 'get'>;
  readonly publisher: EventPublisher;
  /** Where lifecycle work is noted: the subscription record. */
  readonly graphWork: GraphWorkStore;
  /**
   * The items consumers were told exist (domain/pushed-item-list.ts), as for EWS: a Graph delta
   * round does not report an item created after its link and deleted again, so a catch-up after
   * lost notifications asks Graph about each listed item it did not name.
   */
  readonly pushedItemList: PushedItemListWriter;
  readonly clock: Clock;
}

/** A notification whose clientState verified: the mailbox and generation it names. */
export interface VerifiedNotification {
  readonly notification: GraphNotification;
  readonly mailboxKey: MailboxKey;
  readonly generation: number;
}

export type GraphDecision =
  /** A change of a current subscription: published. */
  | 'accepted'
  /** A change of the subscription being created at the current generation (id not stored yet): published. */
  | 'adopted'
  /** A lifecycle notification of a current subscription: renewer work queued. */
  | 'lifecycle'
  /** A subscription of an older generation: its deletion queued. */
  | 'superseded'
  | 'unknownMailbox'
  | 'removed'
  /** The generation is current but the subscription is not the one stored: dropped. */
  | 'stray'
  /** A change whose resource names another user than the mailbox (or none that can be read): refused. */
  | 'foreignResource';

export interface GraphOutcome {
  readonly mailboxKey: MailboxKey;
  readonly subscriptionId: string;
  readonly decision: GraphDecision;
  readonly published: number;
  readonly lifecycleEvent: LifecycleEvent | null;
  /** `foreignResource`: the resource as sent (what it names instead of the mailbox). */
  readonly resource?: string;
}

/** Mailboxes of one batch handled at once: a batch can span many mailboxes (and tenants). */
const MAILBOX_CONCURRENCY = 16;

export async function receiveGraph(
  items: readonly VerifiedNotification[],
  deps: GraphReceiveDeps,
): Promise<readonly GraphOutcome[]> {
  const byMailbox = new Map<MailboxKey, VerifiedNotification[]>();
  for (const item of items) {
    const list = byMailbox.get(item.mailboxKey) ?? [];
    list.push(item);
    byMailbox.set(item.mailboxKey, list);
  }
  const outcomes: GraphOutcome[] = [];
  const now = deps.clock.now();
  await forEachLimited([...byMailbox.values()], MAILBOX_CONCURRENCY, async (mailboxItems) => {
    const first = mailboxItems[0];
    if (first === undefined) return;
    const record = await deps.store.get(first.mailboxKey);
    const events: Array<{
      readonly event: BridgeEvent;
      readonly change: ChangeNotification;
      readonly user: string;
      readonly kind?: GraphItemKind;
    }> = [];
    const work: Array<{ resource: GraphResourceKind; work: GraphWork }> = [];
    const obsolete: string[] = [];
    const decided: Array<{ item: VerifiedNotification; decision: GraphDecision; user?: string }> = [];
    // The object id the first verified change names, when none is pinned yet: pinned below, before
    // anything is published on its strength.
    let toPin: string | undefined;
    for (const item of mailboxItems) {
      const placed = place(item, record);
      const { notification } = item;
      let decision: GraphDecision = placed.decision;
      let user: string | undefined;
      if (record?.graph !== undefined && (placed.decision === 'accepted' || placed.decision === 'adopted')) {
        if (notification.kind === 'change') {
          user = parseNotificationResource(notification.resource)?.userId;
          const verdict =
            user === undefined ? 'other' : notificationUserIs(pinnedAs(record.graph, toPin), user);
          if (verdict === 'other' || user === undefined) {
            decision = 'foreignResource';
          } else {
            if (verdict === 'unpinned') toPin = user;
            const type = itemTypeOf(notification);
            events.push({
              change: notification,
              user,
              ...(type === 'message' || type === 'event' ? { kind: type } : {}),
              event: toGraphNotificationCloudEvent({
                mailbox: record.mailbox,
                mailboxKey: item.mailboxKey,
                notification,
                receivedAt: now,
              }),
            });
          }
        } else {
          decision = 'lifecycle';
          if (placed.resource !== undefined) {
            work.push({ resource: placed.resource, work: graphWorkOf(notification.lifecycleEvent) });
          } else {
            // A lifecycle notification of a subscription being created: its create has not answered
            // yet; every resource of the mailbox is caught up, which covers whatever it was about.
            for (const resource of GRAPH_RESOURCES) work.push({ resource, work: 'catchUp' });
          }
        }
      } else if (record !== undefined && placed.decision === 'superseded') {
        obsolete.push(notification.subscriptionId);
      }
      decided.push({ item, decision, ...(user === undefined ? {} : { user }) });
    }
    let publishable = events;
    if (toPin !== undefined && !(await deps.graphWork.pinGraphUser(first.mailboxKey, toPin))) {
      // Another batch pinned another id meanwhile (or the mailbox was removed): what named `toPin`
      // is not known to be the mailbox's.
      const pinned = toPin;
      publishable = events.filter((e) => e.user.toLowerCase() !== pinned.toLowerCase());
      for (const d of decided)
        if (d.user?.toLowerCase() === pinned.toLowerCase() && d.decision !== 'foreignResource')
          d.decision = 'foreignResource';
    }
    // Published in the order Graph sent them, one call per run of one item kind: the enrichment
    // hints (connection, setting, and which Graph read the item needs: `/messages/{id}` or
    // `/events/{id}`) go on every message of a call. A batch is one subscription's as a rule, so
    // one run, one call. An item of another kind (contacts) gets no hints: nothing reads it.
    // The items consumers are told exist or are gone go on the pushed-item list alongside, as
    // for EWS (see `pushedItemList`); both are durable before the 202.
    const itemChanges = graphPushedItemListChanges(publishable.map((e) => e.change));
    const publishing = async () => {
      if (record === undefined) return;
      for (const run of runsOf(publishable))
        await deps.publisher.publish(
          first.mailboxKey,
          run.events,
          run.kind === undefined ? undefined : hintAttributes(record, run.kind),
        );
    };
    await Promise.all([
      publishing(),
      hasPushedItemListChanges(itemChanges)
        ? deps.pushedItemList.record(first.mailboxKey, itemChanges, now)
        : undefined,
    ]);
    if (work.length > 0 || obsolete.length > 0)
      await deps.graphWork.requestGraphWork(first.mailboxKey, { work, obsolete });
    for (const { item, decision } of decided) {
      const { notification } = item;
      const published =
        decision === 'accepted' || decision === 'adopted' ? (notification.kind === 'change' ? 1 : 0) : 0;
      outcomes.push({
        mailboxKey: item.mailboxKey,
        subscriptionId: notification.subscriptionId,
        decision,
        published,
        lifecycleEvent: notification.kind === 'lifecycle' ? notification.lifecycleEvent : null,
        ...(decision === 'foreignResource' && notification.kind === 'change'
          ? { resource: notification.resource }
          : {}),
      });
    }
  });
  return outcomes;
}

/** Consecutive events of one item kind, in order. */
function runsOf(
  events: readonly { readonly event: BridgeEvent; readonly kind?: GraphItemKind }[],
): Array<{ kind: GraphItemKind | undefined; events: BridgeEvent[] }> {
  const runs: Array<{ kind: GraphItemKind | undefined; events: BridgeEvent[] }> = [];
  for (const { event, kind } of events) {
    const last = runs.at(-1);
    if (last !== undefined && last.kind === kind) last.events.push(event);
    else runs.push({ kind, events: [event] });
  }
  return runs;
}

/** The mailbox's user ids with `toPin` as its object id when none is pinned yet. */
function pinnedAs(
  graph: NonNullable<SubscriptionRecord['graph']>,
  toPin: string | undefined,
): { readonly userId: string; readonly objectId?: string } {
  const objectId = graph.objectId ?? toPin;
  return objectId === undefined ? { userId: graph.userId } : { userId: graph.userId, objectId };
}

/** Where a verified notification stands against the mailbox's record. Exported for the unit tests. */
export function place(
  item: VerifiedNotification,
  record: SubscriptionRecord | undefined,
): { readonly decision: GraphDecision; readonly resource?: GraphResourceKind } {
  if (record === undefined || record.source !== 'graph' || record.graph === undefined)
    return { decision: 'unknownMailbox' };
  if (record.state === 'removed') return { decision: 'removed' };
  const { subscriptionId } = item.notification;
  const graph = record.graph;
  for (const resource of GRAPH_RESOURCES) {
    const sub = graph[resource];
    if (sub === undefined || sub.generation !== item.generation) continue;
    if (sub.subscriptionId === subscriptionId) return { decision: 'accepted', resource };
  }
  // The create at the current generation has not stored its id yet (Graph may notify first).
  if (item.generation === record.generation) {
    const pending = GRAPH_RESOURCES.find(
      (resource) =>
        graph[resource]?.generation === item.generation && graph[resource]?.subscriptionId === undefined,
    );
    if (pending !== undefined) return { decision: 'adopted', resource: pending };
    const unknown = GRAPH_RESOURCES.every((resource) => graph[resource] === undefined);
    if (unknown) return { decision: 'adopted' };
  }
  const newest = Math.max(...GRAPH_RESOURCES.map((resource) => graph[resource]?.generation ?? 0));
  if (item.generation < newest || item.generation < record.generation) return { decision: 'superseded' };
  return { decision: 'stray' };
}

/**
 * What Graph's change notifications change in the pushed-item list, net, in order: `created` (and
 * for events `updated`) notes the item (under its collection, `messages` or `events`, where a catch-up asks about it),
 * `deleted` forgets it. Graph reports a move as `deleted` then `created` of the same immutable id:
 * noted. Exported for the unit tests.
 */
export function graphPushedItemListChanges(changes: readonly ChangeNotification[]): PushedItemListChanges {
  const net = new Map<string, PushedItem | 'forgotten'>();
  for (const change of changes) {
    const itemId = change.resourceData?.id ?? change.resource.split('/').pop();
    const collection = graphCollectionOf(change);
    if (itemId === undefined || itemId === '' || collection === undefined) continue;
    // An updated event is noted too: a recurring series consumers first heard of from a catch-up
    // (the calendar view names its occurrences, never the master) is otherwise on no list, and
    // its deletion, if that notification is lost, would be told by nothing.
    if (change.changeType === 'created' || (change.changeType === 'updated' && collection === 'events')) {
      net.delete(itemId);
      net.set(itemId, { itemId, folderId: collection });
    } else if (change.changeType === 'deleted') {
      net.delete(itemId);
      net.set(itemId, 'forgotten');
    }
  }
  return netPushedItemListChanges(net);
}

/** `Users/{id}/Messages/{id}` → messages, `Users/{id}/Events/{id}` → events (Graph's casing varies). */
function graphCollectionOf(change: ChangeNotification): 'messages' | 'events' | undefined {
  const segments = change.resource.toLowerCase().split('/');
  if (segments.includes('messages')) return 'messages';
  if (segments.includes('events')) return 'events';
  const type = change.resourceData?.odataType?.toLowerCase() ?? '';
  if (type.endsWith('.message')) return 'messages';
  if (type.endsWith('.event')) return 'events';
  return undefined;
}
