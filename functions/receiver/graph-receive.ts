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
import type { EventPublisher } from '../domain/events.ts';
import { toGraphNotificationCloudEvent } from '../domain/graph-events.ts';
import {
  GRAPH_RESOURCES,
  type GraphResourceKind,
  type GraphWork,
  graphWorkOf,
} from '../domain/graph-mailbox.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import type { PushedItem, PushedItemListChanges } from '../domain/pushed-item-list.ts';
import type { SubscriptionRecord } from '../domain/subscription.ts';
import type { ChangeNotification, GraphNotification, LifecycleEvent } from '../graph/notification.ts';
import type { PushedItemListWriter, SubscriptionStore } from './receive.ts';

/** What lifecycle notifications ask of the renewer, for one mailbox. */
export interface GraphWorkRequest {
  readonly work: readonly { readonly resource: GraphResourceKind; readonly work: GraphWork }[];
  /** Subscriptions of older generations to delete. */
  readonly obsolete: readonly string[];
}

export interface GraphWorkStore {
  /**
   * Adds the work to the record's sets (idempotent), unless the record is gone or removed (then
   * nothing is owed). Durable when it returns; throws on failure.
   */
  requestGraphWork(mailboxKey: MailboxKey, request: GraphWorkRequest): Promise<void>;
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
  | 'stray';

export interface GraphOutcome {
  readonly mailboxKey: MailboxKey;
  readonly subscriptionId: string;
  readonly decision: GraphDecision;
  readonly published: number;
  readonly lifecycleEvent: LifecycleEvent | null;
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
    const events: BridgeEvent[] = [];
    const changes: ChangeNotification[] = [];
    const work: Array<{ resource: GraphResourceKind; work: GraphWork }> = [];
    const obsolete: string[] = [];
    const decided: Array<{ item: VerifiedNotification; decision: GraphDecision; published: number }> = [];
    for (const item of mailboxItems) {
      const placed = place(item, record);
      const { notification } = item;
      let published = 0;
      if (record !== undefined && (placed.decision === 'accepted' || placed.decision === 'adopted')) {
        if (notification.kind === 'change') {
          events.push(
            toGraphNotificationCloudEvent({
              mailbox: record.mailbox,
              mailboxKey: item.mailboxKey,
              notification,
              receivedAt: now,
            }),
          );
          changes.push(notification);
          published = 1;
        } else if (placed.resource !== undefined) {
          work.push({ resource: placed.resource, work: graphWorkOf(notification.lifecycleEvent) });
        } else {
          // A lifecycle notification of a subscription being created: its create has not answered
          // yet; every resource of the mailbox is caught up, which covers whatever it was about.
          for (const resource of GRAPH_RESOURCES) work.push({ resource, work: 'catchUp' });
        }
      } else if (record !== undefined && placed.decision === 'superseded') {
        obsolete.push(notification.subscriptionId);
      }
      const decision =
        notification.kind === 'lifecycle' && (placed.decision === 'accepted' || placed.decision === 'adopted')
          ? 'lifecycle'
          : placed.decision;
      decided.push({ item, decision, published });
    }
    // One publish per mailbox keeps its events in the order Graph sent them. No enrichment hints:
    // the processor reads items over EWS only, and a Graph connection would fail every read
    // (EnrichmentFailed, its alarm); Graph events go out as they came until Graph reads exist.
    const itemChanges = graphPushedItemListChanges(changes);
    await Promise.all([
      record !== undefined && events.length > 0
        ? deps.publisher.publish(first.mailboxKey, events)
        : undefined,
      itemChanges.noted.length > 0 || itemChanges.forgotten.length > 0
        ? deps.pushedItemList.record(first.mailboxKey, itemChanges, now)
        : undefined,
    ]);
    if (work.length > 0 || obsolete.length > 0)
      await deps.graphWork.requestGraphWork(first.mailboxKey, { work, obsolete });
    for (const { item, decision, published } of decided) {
      outcomes.push({
        mailboxKey: item.mailboxKey,
        subscriptionId: item.notification.subscriptionId,
        decision,
        published,
        lifecycleEvent: item.notification.kind === 'lifecycle' ? item.notification.lifecycleEvent : null,
      });
    }
  });
  return outcomes;
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
  const noted: PushedItem[] = [];
  const forgotten: string[] = [];
  for (const [itemId, value] of net) {
    if (value === 'forgotten') forgotten.push(itemId);
    else noted.push(value);
  }
  return { noted, forgotten };
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
