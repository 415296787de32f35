/**
 * Turning Exchange events into the CloudEvents consumers read, with ids that never change for the
 * same event: a retried or concurrently delivered notification produces byte-identical messages,
 * so SQS FIFO de-duplication and consumers' own de-duplication both work.
 */
import { createHash } from 'node:crypto';
import type { ExchangeEventType, NotificationCloudEvent } from '../../events/bridge-event.ts';
import type { Notification, NotificationEvent } from '../ews/notification.ts';
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
