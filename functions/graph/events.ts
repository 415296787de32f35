/**
 * From what Graph says to the bridge's event vocabulary (events/bridge-event.ts), which was made
 * for EWS. The mapping, and what has no counterpart:
 *
 * | Graph                                   | bridge                                                    |
 * | --------------------------------------- | --------------------------------------------------------- |
 * | changeType `created`                    | `CreatedEvent`                                            |
 * | changeType `updated`                    | `ModifiedEvent` (a read-flag flip too: no UnreadCount)    |
 * | changeType `deleted`                    | `DeletedEvent` (also the source half of a move)           |
 * | (none) move                             | no `MovedEvent`: `DeletedEvent` + `CreatedEvent`, same immutable id |
 * | (none) copy                             | no `CopiedEvent`: a `CreatedEvent` with a new id          |
 * | (none) new mail                         | no `NewMailEvent`: subscribe to the inbox's messages; its `created` is new mail |
 * | (none) free/busy                        | no `FreeBusyChangedEvent`: event `created/updated/deleted` |
 * | (none) heartbeat (StatusEvent)          | none: liveness is the expiry plus lifecycle notifications |
 * | watermark / PreviousWatermark           | none: no chain, so no gap detection by the receiver; `missed` tells |
 * | lifecycle `reauthorizationRequired`     | no event: renew (PATCH the expiry), as routine as a renewal |
 * | lifecycle `subscriptionRemoved`         | `gap-detected`, then create + delta catch-up, then `resynced` |
 * | lifecycle `missed`                      | `gap-detected`, then delta catch-up, then `resynced`      |
 * | delta `@removed`                        | resync `Delete`                                           |
 * | delta item, full round (no link)        | resync `Create` (as SyncFolderItems without a SyncState)  |
 * | delta item, incremental round           | resync `Update`: created or updated, delta does not say; upsert |
 *
 * Graph promises no order between notifications, and a move's two halves may come in either
 * order or in different batches, so a consumer (or the enrichment stage, by reading the item) must
 * not take a `DeletedEvent` followed by a `CreatedEvent` of the same id as anything but "it moved",
 * nor the reverse order as "it is gone". Graph is also known to send `created` and `updated` for
 * one change: consumers de-duplicate on the event id and treat changes as upserts.
 */
import { hash } from 'node:crypto';
import type { DeltaChange } from './delta.ts';
import type { ChangeNotification, ChangeType, LifecycleEvent } from './notification.ts';

/** The bridge's EWS event types that Graph's change types stand for (a subset of `ExchangeEventType`). */
export type GraphMappedEventType = 'CreatedEvent' | 'ModifiedEvent' | 'DeletedEvent';

const EVENT_TYPE_OF: Readonly<Record<ChangeType, GraphMappedEventType>> = {
  created: 'CreatedEvent',
  updated: 'ModifiedEvent',
  deleted: 'DeletedEvent',
};

export function eventTypeOf(changeType: ChangeType): GraphMappedEventType {
  return EVENT_TYPE_OF[changeType];
}

export type GraphItemType = 'message' | 'event' | 'contact' | 'unknown';

/** The kind of item a notification is about, from `@odata.type`, else from the resource path. */
export function itemTypeOf(
  notification: Pick<ChangeNotification, 'resource' | 'resourceData'>,
): GraphItemType {
  const type = notification.resourceData?.odataType?.toLowerCase() ?? '';
  const path = notification.resource.toLowerCase();
  if (type.endsWith('.message') || /\/messages\//.test(path)) return 'message';
  if (type.endsWith('.event') || /\/events\//.test(path)) return 'event';
  if (type.endsWith('.contact') || /\/contacts\//.test(path)) return 'contact';
  return 'unknown';
}

/**
 * `Users/{user-id}/Messages/{item-id}` (Graph's casing varies): the user it names, so the receiver
 * can check a verified notification speaks of the mailbox its subscription is for.
 */
export function parseNotificationResource(
  resource: string,
): { readonly userId: string; readonly collection: string; readonly itemId: string } | undefined {
  // Both OData key forms: `Users/{id}/Messages/{id}` (Learn's examples) and `Users('{id}')/Messages('{id}')`.
  const match =
    /^\/?users(?:\/([^/()']+)|\('([^'/]+)'\))\/(messages|events|contacts)(?:\/([^/()']+)|\('([^'/]+)'\))$/i.exec(
      resource,
    );
  const userId = match?.[1] ?? match?.[2];
  const collection = match?.[3];
  const itemId = match?.[4] ?? match?.[5];
  if (userId === undefined || collection === undefined || itemId === undefined) return undefined;
  return { userId, collection: collection.toLowerCase(), itemId };
}

/** What the bridge does about a lifecycle notification (after verifying its clientState). */
export type LifecycleAction =
  /**
   * PATCH a new expiry (which also reauthorizes). Not also a reauthorize within 10 minutes; and if
   * the PATCH answers 404, the subscription is gone: `recreateAndCatchUp`.
   */
  | { readonly action: 'renew'; readonly publish: null }
  /** Create a new subscription (new generation), then catch up every folder with delta. */
  | { readonly action: 'recreateAndCatchUp'; readonly publish: 'gap-detected' }
  /** Catch up every folder of the subscription with delta; the subscription itself is fine. */
  | { readonly action: 'catchUp'; readonly publish: 'gap-detected' };

export function lifecycleActionOf(event: LifecycleEvent): LifecycleAction {
  switch (event) {
    case 'reauthorizationRequired':
      return { action: 'renew', publish: null };
    case 'subscriptionRemoved':
      return { action: 'recreateAndCatchUp', publish: 'gap-detected' };
    case 'missed':
      return { action: 'catchUp', publish: 'gap-detected' };
  }
}

/** The resync change type (events/bridge-event.ts `ResyncChangeType`) a delta change stands for. */
export function resyncChangeTypeOf(
  change: DeltaChange,
  round: 'full' | 'incremental',
): 'Create' | 'Update' | 'Delete' {
  if (change.kind === 'removed') return 'Delete';
  return round === 'full' ? 'Create' : 'Update';
}

/**
 * A stable id for one change notification (43 base64url characters, a valid FIFO deduplication
 * id): Graph resends an unacknowledged notification unchanged, so a redelivery gets the same id,
 * while the etag tells two updates of one item apart. There is no watermark to derive it from.
 */
export function changeNotificationId(mailboxKey: string, notification: ChangeNotification): string {
  const parts = [
    'graph-notification/v1',
    mailboxKey,
    notification.subscriptionId,
    notification.changeType,
    notification.resourceData?.id ?? notification.resource,
    notification.resourceData?.etag ?? '',
  ];
  // One-shot: half the time of createHash().update().digest() for inputs this small, same digest.
  return hash('sha256', parts.join('\u0000'), 'base64url');
}
