/**
 * What consumers read from the bridge's queues: CloudEvents 1.0 in structured JSON mode, one per
 * Exchange event. Consumers can depend on these types (and on `bridge-event.schema.json` beside
 * this file, which says the same in JSON Schema); they change only in backward-compatible ways
 * within a `specversion`/`type`.
 *
 * Delivery is at least once: use `id` to de-duplicate. Order is kept per mailbox.
 */

/** An Exchange item or folder id. ChangeKey is absent from most notifications. */
export interface EwsIdRef {
  readonly id: string;
  readonly changeKey: string | null;
}

/** The EWS notification event elements that describe a change (StatusEvent heartbeats are not published). */
export type ExchangeEventType =
  | 'CopiedEvent'
  | 'CreatedEvent'
  | 'DeletedEvent'
  | 'ModifiedEvent'
  | 'MovedEvent'
  | 'NewMailEvent'
  | 'FreeBusyChangedEvent';

/** CloudEvents `type` of an item/folder event: one stable name per EWS event kind. */
export type NotificationEventCloudType = `exchange-push-bridge.notification.${ExchangeEventType}`;

export interface NotificationEventData {
  /** The mailbox's SMTP address, as configured. */
  readonly mailbox: string;
  /** The mailbox's key: the FIFO MessageGroupId and the key in the bridge's table. */
  readonly mailboxKey: string;
  readonly subscriptionId: string;
  /** The event's watermark (null only if Exchange sent none). */
  readonly watermark: string | null;
  /** The notification's PreviousWatermark. */
  readonly previousWatermark: string | null;
  /** The EWS element name. */
  readonly eventType: ExchangeEventType;
  /** The event's TimeStamp exactly as Exchange sent it. */
  readonly timeStamp: string | null;
  readonly itemId: EwsIdRef | null;
  readonly folderId: EwsIdRef | null;
  readonly parentFolderId: EwsIdRef | null;
  readonly oldItemId: EwsIdRef | null;
  readonly oldFolderId: EwsIdRef | null;
  readonly oldParentFolderId: EwsIdRef | null;
  /** Unread items in the folder (folder ModifiedEvents only). */
  readonly unreadCount: number | null;
}

interface CloudEventEnvelope<Type extends string, Data> {
  readonly specversion: '1.0';
  /** Stable: the same Exchange event always gets the same id (de-duplicate on it). */
  readonly id: string;
  /** `/exchange-push-bridge/mailboxes/{mailboxKey}` */
  readonly source: string;
  readonly type: Type;
  /** When the change happened (the event's TimeStamp) or, without one, when the bridge received it. */
  readonly time: string;
  /** The item (or folder) id the event is about. */
  readonly subject?: string;
  readonly datacontenttype: 'application/json';
  readonly data: Data;
}

export type NotificationCloudEvent = CloudEventEnvelope<NotificationEventCloudType, NotificationEventData>;

/** Everything the bridge publishes. */
export type BridgeEvent = NotificationCloudEvent;
