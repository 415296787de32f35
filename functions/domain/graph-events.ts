/**
 * Graph's change notifications as the bridge's events: the same CloudEvents envelope and
 * vocabulary as EWS (graph/events.ts has the mapping table), so consumers do not tell the sources
 * apart except by the fields Graph cannot fill (watermarks, folder ids, timestamps: null).
 */
import type { NotificationCloudEvent } from '../../events/bridge-event.ts';
import { changeNotificationId, eventTypeOf } from '../graph/events.ts';
import type { ChangeNotification } from '../graph/notification.ts';
import { eventSource } from './events.ts';
import type { MailboxKey } from './mailbox-key.ts';

export function toGraphNotificationCloudEvent(args: {
  readonly mailbox: string;
  readonly mailboxKey: MailboxKey;
  readonly notification: ChangeNotification;
  readonly receivedAt: number;
}): NotificationCloudEvent {
  const { notification, mailboxKey } = args;
  const itemId = notification.resourceData?.id ?? itemIdOfResource(notification.resource);
  const eventType = eventTypeOf(notification.changeType);
  return {
    specversion: '1.0',
    // Stable across Graph's redeliveries of the same notification: the FIFO de-duplication id.
    id: changeNotificationId(mailboxKey, notification),
    source: eventSource(mailboxKey),
    type: `exchange-push-bridge.notification.${eventType}`,
    // Graph's notifications carry no time of the change: the time it was received.
    time: new Date(args.receivedAt).toISOString(),
    ...(itemId === undefined ? {} : { subject: itemId }),
    datacontenttype: 'application/json',
    data: {
      mailbox: args.mailbox,
      mailboxKey,
      subscriptionId: notification.subscriptionId,
      watermark: null,
      previousWatermark: null,
      eventType,
      timeStamp: null,
      itemId: itemId === undefined ? null : { id: itemId, changeKey: null },
      folderId: null,
      parentFolderId: null,
      oldItemId: null,
      oldFolderId: null,
      oldParentFolderId: null,
      unreadCount: null,
    },
  };
}

function itemIdOfResource(resource: string): string | undefined {
  const last = resource.split('/').pop();
  return last === undefined || last === '' ? undefined : last;
}
