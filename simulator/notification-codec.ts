/**
 * The push side of the wire: the SendNotification requests the simulator POSTs to callback URLs,
 * and the reading of the SendNotificationResult the callback answers with.
 *
 * Notifications follow the schema exactly (ews-protocol.md §1.2–1.3: element order, `t:` inside
 * `m:Notification`, MoreEvents always written), except the error push, which has the real,
 * schema-invalid shape Exchange sends (§1.5) on purpose.
 */
import { err, ok, type Result } from '../functions/core/result.ts';
import { showValue } from '../functions/core/show.ts';
import type { SubscriptionStatus } from '../functions/ews/notification.ts';
import type { ExchangeVersion } from '../functions/ews/request.ts';
import { openEnvelope, writeEnvelope } from '../functions/ews/soap.ts';
import { escapeAttribute, escapeText, NS, qualifiedName } from '../functions/ews/xml.ts';
import type { MailboxEvent } from './event-table.ts';
import { xsDateTime } from './soap-server-codec.ts';

/** The SOAPAction of SendNotification ([MS-OXWSPSNTIF] §3.1.4.1). */
export const SEND_NOTIFICATION_SOAP_ACTION =
  'http://schemas.microsoft.com/exchange/services/2006/messages/SendNotification';

/** Exchange's folder ChangeKeys are short and rarely change; the simulator keeps one. */
const FOLDER_CHANGE_KEY = 'AQAAAA==';

/** What one push carries: events from the table, or the StatusEvent heartbeat. */
export type OutgoingEvent = MailboxEvent | { readonly type: 'StatusEvent'; readonly watermark: string };

export interface OutgoingNotification {
  readonly subscriptionId: string;
  readonly previousWatermark: string;
  readonly moreEvents: boolean;
  readonly events: readonly OutgoingEvent[];
}

function header(version: ExchangeVersion): string {
  return `<t:RequestServerVersion Version="${version}"/>`;
}

export function encodeSendNotification(notification: OutgoingNotification, version: ExchangeVersion): string {
  const events = notification.events.map(encodeEvent).join('');
  return writeEnvelope(
    '<m:SendNotification><m:ResponseMessages><m:SendNotificationResponseMessage ResponseClass="Success">' +
      '<m:ResponseCode>NoError</m:ResponseCode><m:Notification>' +
      `<t:SubscriptionId>${escapeText(notification.subscriptionId)}</t:SubscriptionId>` +
      `<t:PreviousWatermark>${escapeText(notification.previousWatermark)}</t:PreviousWatermark>` +
      `<t:MoreEvents>${notification.moreEvents}</t:MoreEvents>${events}` +
      '</m:Notification></m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification>',
    { header: header(version) },
  );
}

function id(element: string, value: string, changeKey: string | null): string {
  const key = changeKey === null ? '' : ` ChangeKey="${escapeAttribute(changeKey)}"`;
  return `<t:${element} Id="${escapeAttribute(value)}"${key}/>`;
}

function encodeEvent(event: OutgoingEvent): string {
  const watermark = `<t:Watermark>${escapeText(event.watermark)}</t:Watermark>`;
  if (event.type === 'StatusEvent') return `<t:StatusEvent>${watermark}</t:StatusEvent>`;
  // Schema order: Watermark, TimeStamp, FolderId | ItemId, ParentFolderId, then the type's extras.
  const target =
    event.itemId !== null
      ? id('ItemId', event.itemId, event.itemChangeKey)
      : id('FolderId', event.folderId ?? '', FOLDER_CHANGE_KEY);
  let extra = '';
  if (event.type === 'ModifiedEvent' && event.unreadCount !== null) {
    extra = `<t:UnreadCount>${event.unreadCount}</t:UnreadCount>`;
  } else if (event.type === 'MovedEvent' || event.type === 'CopiedEvent') {
    extra =
      id('OldItemId', event.oldItemId ?? '', null) +
      id('OldParentFolderId', event.oldParentFolderId ?? '', FOLDER_CHANGE_KEY);
  }
  return (
    `<t:${event.type}>${watermark}<t:TimeStamp>${xsDateTime(event.timeStamp)}</t:TimeStamp>${target}` +
    `${id('ParentFolderId', event.parentFolderId, FOLDER_CHANGE_KEY)}${extra}</t:${event.type}>`
  );
}

/**
 * The error push Exchange sends when it can no longer read a subscription's events
 * (ErrorReadEventsFailed): no m:Notification, the SubscriptionId in MessageXml. Deliberately
 * schema-invalid, exactly like the real capture (ews-protocol.md §1.5).
 */
export function encodeErrorPush(subscriptionId: string, version: ExchangeVersion): string {
  return writeEnvelope(
    '<m:SendNotification><m:ResponseMessages><m:SendNotificationResponseMessage ResponseClass="Error">' +
      '<m:MessageText>Unable to read events. The subscription has been removed.</m:MessageText>' +
      '<m:ResponseCode>ErrorReadEventsFailed</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>' +
      `<m:MessageXml><t:Value Name="SubscriptionId">${escapeText(subscriptionId)}</t:Value></m:MessageXml>` +
      '</m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification>',
    { header: header(version) },
  );
}

/** Replies larger than this are not SendNotificationResults (the real one is ~300 bytes). */
const REPLY_LIMITS = { maxBytes: 64 * 1024, maxDepth: 16 };

/**
 * Reads a callback's reply: `OK` or `Unsubscribe` when it is a SendNotificationResult as the
 * schema defines it (messages namespace, exactly one SubscriptionStatus, exact enumeration value),
 * otherwise why it is not one.
 */
export function readSendNotificationResult(body: Uint8Array): Result<SubscriptionStatus, string> {
  const opened = openEnvelope(body, REPLY_LIMITS);
  if (!opened.ok) return err(opened.error.message);
  const { payload } = opened.value;
  if (payload.ns !== NS.messages || payload.name !== 'SendNotificationResult') {
    return err(
      `SOAP Body holds ${showValue(qualifiedName(payload))}, expected {${NS.messages}}SendNotificationResult`,
    );
  }
  const [status, ...rest] = payload.children;
  if (
    status === undefined ||
    status.ns !== NS.messages ||
    status.name !== 'SubscriptionStatus' ||
    rest.length > 0
  ) {
    return err(
      `SendNotificationResult must hold exactly one {${NS.messages}}SubscriptionStatus, it holds ${
        payload.children.map((c) => showValue(qualifiedName(c))).join(', ') || 'nothing'
      }`,
    );
  }
  if (status.text !== 'OK' && status.text !== 'Unsubscribe') {
    return err(`SubscriptionStatus is ${showValue(status.text)}, expected exactly OK or Unsubscribe`);
  }
  return ok(status.text);
}
