/**
 * Turning what happens into the CloudEvents consumers read (Exchange events, resync changes,
 * lifecycle transitions), with ids that never change for the same happening: a retried or
 * concurrently delivered notification yields the same ids, so SQS FIFO de-duplication and
 * consumers' own de-duplication both work.
 */
import { createHash } from 'node:crypto';
import type {
  BridgeEvent,
  ExchangeEventType,
  FolderReference,
  LifecycleCloudEvent,
  LifecycleKind,
  NotificationCloudEvent,
  ResyncCloudEvent,
  ResyncEventData,
} from '../../events/bridge-event.ts';
import type { SyncChange } from '../ews/items.ts';
import type { Notification, NotificationEvent } from '../ews/notification.ts';
import type { FolderRef } from '../ews/request.ts';
import type { MailboxKey } from './mailbox-key.ts';

export function eventSource(mailboxKey: MailboxKey): string {
  return `/exchange-push-bridge/mailboxes/${mailboxKey}`;
}

/** 43 base64url characters of SHA-256: usable as a FIFO MessageDeduplicationId as it is. */
export function stableId(...parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\u0000'), 'utf8').digest('base64url');
}

/**
 * The id of one notified event: derived from (mailbox, subscription, watermark). Exchange gives
 * every event its own watermark; for the rare event without one, the notification's position in
 * the chain and the event's own content stand in.
 */
export function notificationEventId(
  mailboxKey: MailboxKey,
  subscriptionId: string,
  notification: Pick<Notification, 'previousWatermark'>,
  event: NotificationEvent,
  index: number,
): string {
  if (event.watermark !== null)
    return stableId('notification/v1', mailboxKey, subscriptionId, event.watermark);
  return stableId(
    'notification/v1/no-watermark',
    mailboxKey,
    subscriptionId,
    notification.previousWatermark ?? '',
    String(index),
    event.type,
    event.itemId?.id ?? event.folderId?.id ?? '',
    event.timeStamp ?? '',
  );
}

/** A StatusEvent is a heartbeat, not a change: it is never published. */
export function isChangeEvent(
  event: NotificationEvent,
): event is NotificationEvent & { type: ExchangeEventType } {
  return event.type !== 'StatusEvent';
}

/** RFC 3339 for CloudEvents `time`: the event's TimeStamp when it parses, otherwise the receipt time. */
function cloudTime(timeStamp: string | null, receivedAt: number): string {
  if (timeStamp !== null) {
    const parsed = Date.parse(timeStamp);
    if (!Number.isNaN(parsed) && /(Z|[+-]\d\d:\d\d)$/i.test(timeStamp)) return new Date(parsed).toISOString();
  }
  return new Date(receivedAt).toISOString();
}

export function toNotificationCloudEvent(args: {
  mailbox: string;
  mailboxKey: MailboxKey;
  subscriptionId: string;
  notification: Pick<Notification, 'previousWatermark'>;
  event: NotificationEvent & { type: ExchangeEventType };
  index: number;
  receivedAt: number;
}): NotificationCloudEvent {
  const { event, mailboxKey, subscriptionId, notification } = args;
  const subject = event.itemId?.id ?? event.folderId?.id;
  return {
    specversion: '1.0',
    id: notificationEventId(mailboxKey, subscriptionId, notification, event, args.index),
    source: eventSource(mailboxKey),
    type: `exchange-push-bridge.notification.${event.type}`,
    time: cloudTime(event.timeStamp, args.receivedAt),
    ...(subject === undefined ? {} : { subject }),
    datacontenttype: 'application/json',
    data: {
      mailbox: args.mailbox,
      mailboxKey,
      subscriptionId,
      watermark: event.watermark,
      previousWatermark: notification.previousWatermark,
      eventType: event.type,
      timeStamp: event.timeStamp,
      itemId: event.itemId,
      folderId: event.folderId,
      parentFolderId: event.parentFolderId,
      oldItemId: event.oldItemId,
      oldFolderId: event.oldFolderId,
      oldParentFolderId: event.oldParentFolderId,
      unreadCount: event.unreadCount,
    },
  };
}

/** The folder as events name it (no mailbox or change key: those are not part of its identity). */
export function folderReference(folder: FolderRef): FolderReference {
  return 'folderId' in folder
    ? { folderId: folder.folderId }
    : { distinguishedFolderId: folder.distinguishedFolderId };
}

/**
 * One change found by a resync. Its id depends on what the change was found from (`basis`: the
 * SyncState a SyncFolderItems page was asked with, or how else it was found) and the change
 * itself, so a page fetched again after a failure yields the same ids.
 */
export function toResyncCloudEvent(args: {
  mailbox: string;
  mailboxKey: MailboxKey;
  folder: FolderRef;
  basis: string;
  change: SyncChange;
  reason: ResyncEventData['reason'];
  at: number;
}): ResyncCloudEvent {
  const { change } = args;
  const folder = folderReference(args.folder);
  const itemId =
    'item' in change
      ? { id: change.item.id, changeKey: change.item.changeKey }
      : { id: change.itemId, changeKey: change.changeKey };
  return {
    specversion: '1.0',
    id: stableId(
      'resync/v1',
      args.mailboxKey,
      JSON.stringify(folder),
      args.basis,
      change.kind,
      itemId.id,
      itemId.changeKey ?? '',
    ),
    source: eventSource(args.mailboxKey),
    type: `exchange-push-bridge.resync.${change.kind}`,
    time: new Date(args.at).toISOString(),
    subject: itemId.id,
    datacontenttype: 'application/json',
    data: {
      mailbox: args.mailbox,
      mailboxKey: args.mailboxKey,
      folder,
      changeType: change.kind,
      itemId,
      itemType: 'item' in change ? change.item.element : null,
      isRead: change.kind === 'ReadFlagChange' ? change.isRead : null,
      reason: args.reason,
    },
  };
}

/**
 * A lifecycle event. Its id is derived from what happened to which generation, so the same
 * transition published twice (a retried renewal) is one event to consumers.
 */
export function toLifecycleCloudEvent(args: {
  mailbox: string;
  mailboxKey: MailboxKey;
  kind: LifecycleKind;
  generation: number;
  subscriptionId: string | null;
  previousSubscriptionId: string | null;
  detail: string | null;
  at: number;
  /** Distinguishes repeated transitions of one kind on one generation (e.g. the watermark of a gap). */
  discriminator?: string;
}): LifecycleCloudEvent {
  return {
    specversion: '1.0',
    id: stableId(
      'lifecycle/v1',
      args.mailboxKey,
      args.kind,
      String(args.generation),
      args.subscriptionId ?? '',
      args.discriminator ?? '',
    ),
    source: eventSource(args.mailboxKey),
    type: `exchange-push-bridge.subscription.${args.kind}`,
    time: new Date(args.at).toISOString(),
    subject: args.mailbox,
    datacontenttype: 'application/json',
    data: {
      mailbox: args.mailbox,
      mailboxKey: args.mailboxKey,
      kind: args.kind,
      generation: args.generation,
      subscriptionId: args.subscriptionId,
      previousSubscriptionId: args.previousSubscriptionId,
      detail: args.detail,
    },
  };
}

/** Where events go: the ingest queue (every function that publishes writes there). */
export interface EventPublisher {
  /**
   * Publishes in order, durably, or throws. Safe to repeat: ids de-duplicate. `attributes` go on
   * every message as string message attributes (the enrichment hints, domain/enrichment.ts).
   */
  publish(
    mailboxKey: MailboxKey,
    events: readonly BridgeEvent[],
    attributes?: Readonly<Record<string, string>>,
  ): Promise<void>;
}
