/**
 * What consumers read from the bridge's queues: CloudEvents 1.0 in structured JSON mode, one per
 * Exchange event. Consumers can depend on these types (and on `bridge-event.schema.json` beside
 * this file, which says the same in JSON Schema); they change only in backward-compatible ways
 * within a `specversion`/`type`.
 *
 * Delivery is at least once: use `id` to de-duplicate. Order is kept per mailbox.
 *
 * Mailboxes watched through Microsoft Graph publish the same types; what Graph has no counterpart
 * for (watermarks, folder ids, the EWS-only item properties) is null. README, "Which fields each
 * source fills", has the table, field by field.
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
  /**
   * The item as Exchange returned it when the event was enriched (opt-in per mailbox; see README
   * "Enrichment"). Absent when enrichment is off, for deleted items and folder events, and when
   * the item could not be read (then `enrichment` says why).
   */
  readonly item?: ExchangeItem;
  /** Present whenever enrichment was attempted for this event: what came of it. */
  readonly enrichment?: EnrichmentOutcome;
}

/**
 * What came of reading the item:
 * - `item`: `data.item` holds it (read once per processor batch: several events about the same
 *   item carry the same, latest state);
 * - `notFound`: Exchange no longer has it (deleted or moved since; `code` ErrorItemNotFound, …);
 * - `failed`: it could not be read (access refused, throttled past the wait budget, Exchange
 *   unreachable, unknown connection); `code` and `detail` say why. The event is published anyway;
 * - `tooLarge`: the event with the item would exceed the topic's message limit (256 KiB), so it
 *   is published without it.
 */
export interface EnrichmentOutcome {
  readonly outcome: 'item' | 'notFound' | 'failed' | 'tooLarge';
  /** Exchange's response code or the bridge's error name; null for `item`. */
  readonly code: string | null;
  /** For people. */
  readonly detail: string | null;
}

export interface ExchangeMailbox {
  readonly name: string | null;
  readonly emailAddress: string | null;
}

export interface ExchangeAttendee {
  readonly mailbox: ExchangeMailbox;
  /** Unknown, Organizer, Tentative, Accept, Decline, NoResponseReceived. */
  readonly responseType: string | null;
  readonly lastResponseTime: string | null;
}

export interface ExchangeItemBody {
  readonly bodyType: string;
  readonly text: string;
  /** The text was cut at the deployment's body cap. */
  readonly truncated: boolean;
}

/** Properties of every item, named as EWS names them (lower camel case). Missing values are null. */
export interface ExchangeItemCommon {
  /** The EWS element: `Message`, `CalendarItem`, `MeetingRequest`, `Contact`, … */
  readonly itemType: string;
  readonly itemId: EwsIdRef;
  readonly itemClass: string | null;
  readonly subject: string | null;
  readonly sensitivity: string | null;
  readonly importance: string | null;
  readonly categories: readonly string[];
  readonly hasAttachments: boolean | null;
  readonly size: number | null;
  readonly dateTimeReceived: string | null;
  readonly dateTimeSent: string | null;
  readonly lastModifiedTime: string | null;
  readonly conversationId: string | null;
  /** Only with `--enrich full`. */
  readonly body?: ExchangeItemBody;
  /** Extra properties the mailbox asked for, by EWS element name (see README "Enrichment"). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface ExchangeCalendarItem extends ExchangeItemCommon {
  readonly kind: 'calendar';
  readonly uid: string | null;
  readonly start: string | null;
  readonly end: string | null;
  readonly isAllDayEvent: boolean | null;
  readonly location: string | null;
  readonly isCancelled: boolean | null;
  /** Single, Occurrence, Exception, RecurringMaster. */
  readonly calendarItemType: string | null;
  readonly organizer: ExchangeMailbox | null;
  readonly requiredAttendees: readonly ExchangeAttendee[];
  readonly optionalAttendees: readonly ExchangeAttendee[];
  /** A master's t:Recurrence as JSON (pattern and range elements by name), else null. */
  readonly recurrence: object | null;
}

/** Messages and their kinds (meeting requests, responses, cancellations). */
export interface ExchangeMessage extends ExchangeItemCommon {
  readonly kind: 'message';
  readonly from: ExchangeMailbox | null;
  readonly toRecipients: readonly ExchangeMailbox[];
  readonly ccRecipients: readonly ExchangeMailbox[];
  readonly internetMessageId: string | null;
  readonly isRead: boolean | null;
}

export interface ExchangeOtherItem extends ExchangeItemCommon {
  readonly kind: 'other';
}

export type ExchangeItem = ExchangeCalendarItem | ExchangeMessage | ExchangeOtherItem;

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

/**
 * A change found by a resync: after a subscription was lost and Exchange could no longer replay
 * its events (watermark expired or from before a mailbox move), the bridge asks SyncFolderItems
 * what changed in each watched folder and publishes one of these per changed item. They may repeat
 * changes already notified; treat them as "make sure you have this state".
 */
export type ResyncChangeType = 'Create' | 'Update' | 'Delete' | 'ReadFlagChange';
export type ResyncCloudType = `exchange-push-bridge.resync.${ResyncChangeType}`;

/** A watched folder, as configured: a well-known name or an EWS folder id. */
export type FolderReference = { readonly distinguishedFolderId: string } | { readonly folderId: string };

export interface ResyncEventData {
  readonly mailbox: string;
  readonly mailboxKey: string;
  readonly folder: FolderReference;
  readonly changeType: ResyncChangeType;
  readonly itemId: EwsIdRef;
  /** The EWS item element (`Message`, `CalendarItem`, …) for Create and Update; null otherwise. */
  readonly itemType: string | null;
  /** For ReadFlagChange: the new read state. */
  readonly isRead: boolean | null;
  /** Why the resync ran. */
  readonly reason: 'watermarkExpired' | 'watermarkRejected' | 'noWatermark';
  /**
   * The item, for a Create or Update when the mailbox is enriched, as on notification events: a
   * catch-up's changes say what changed just as pushed ones do.
   */
  readonly item?: ExchangeItem;
  /** Present whenever enrichment was attempted for this event: what came of it. */
  readonly enrichment?: EnrichmentOutcome;
}

export type ResyncCloudEvent = CloudEventEnvelope<ResyncCloudType, ResyncEventData>;

/** What happened to a mailbox's subscription. */
export type LifecycleKind =
  /** The mailbox was added and its first subscription created. */
  | 'created'
  /** A lost or damaged subscription was replaced, resuming from the last watermark (nothing missed). */
  | 'renewed'
  /** A notification was missed (PreviousWatermark did not match); recovery follows. */
  | 'gap-detected'
  /** A subscription was replaced from scratch and the folders were resynced (see resync events). */
  | 'resynced'
  /** Renewal keeps failing; changes may be waiting. Retried slowly; a human may be needed. */
  | 'lost'
  /** A lost subscription works again. */
  | 'recovered'
  /** The mailbox is no longer watched. */
  | 'removed';
export type LifecycleCloudType = `exchange-push-bridge.subscription.${LifecycleKind}`;

export interface LifecycleEventData {
  readonly mailbox: string;
  readonly mailboxKey: string;
  readonly kind: LifecycleKind;
  /** The generation (callback URL) now current. */
  readonly generation: number;
  /** The subscription now current, when there is one. */
  readonly subscriptionId: string | null;
  /** The subscription this one replaced, when it replaced one. */
  readonly previousSubscriptionId: string | null;
  /** For lost and gap-detected: what went wrong, for people. */
  readonly detail: string | null;
}

export type LifecycleCloudEvent = CloudEventEnvelope<LifecycleCloudType, LifecycleEventData>;

/** Everything the bridge publishes. */
export type BridgeEvent = NotificationCloudEvent | ResyncCloudEvent | LifecycleCloudEvent;
