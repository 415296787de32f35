/** Builds SendNotification bodies the way Exchange writes them, for receiver tests. */
const MESSAGES = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const TYPES = 'http://schemas.microsoft.com/exchange/services/2006/types';

export interface PushEvent {
  readonly type:
    | 'CreatedEvent'
    | 'ModifiedEvent'
    | 'DeletedEvent'
    | 'NewMailEvent'
    | 'MovedEvent'
    | 'StatusEvent';
  readonly watermark: string;
  readonly itemId?: string;
  /** MovedEvent: the id the item had before. */
  readonly oldItemId?: string;
}

export function created(watermark: string, itemId = `item-${watermark}`): PushEvent {
  return { type: 'CreatedEvent', watermark, itemId };
}

export function deleted(watermark: string, itemId: string): PushEvent {
  return { type: 'DeletedEvent', watermark, itemId };
}

export function moved(watermark: string, oldItemId: string, itemId: string): PushEvent {
  return { type: 'MovedEvent', watermark, itemId, oldItemId };
}

export function status(watermark: string): PushEvent {
  return { type: 'StatusEvent', watermark };
}

function eventXml(event: PushEvent): string {
  if (event.type === 'StatusEvent')
    return `<t:StatusEvent><t:Watermark>${event.watermark}</t:Watermark></t:StatusEvent>`;
  return (
    `<t:${event.type}><t:Watermark>${event.watermark}</t:Watermark><t:TimeStamp>2026-11-21T10:00:00Z</t:TimeStamp>` +
    `<t:ItemId Id="${event.itemId ?? 'item'}" ChangeKey="CK"/><t:ParentFolderId Id="inbox-id"/>` +
    (event.oldItemId === undefined
      ? ''
      : `<t:OldItemId Id="${event.oldItemId}" ChangeKey="CK0"/><t:OldParentFolderId Id="drafts-id"/>`) +
    `</t:${event.type}>`
  );
}

export function sendNotification(args: {
  subscriptionId: string;
  previousWatermark: string | null;
  events: readonly PushEvent[];
  moreEvents?: boolean;
}): string {
  const previous =
    args.previousWatermark === null
      ? ''
      : `<t:PreviousWatermark>${args.previousWatermark}</t:PreviousWatermark>`;
  return (
    '<?xml version="1.0" encoding="utf-8"?><soap11:Envelope xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/">' +
    `<soap11:Header><t:RequestServerVersion xmlns:t="${TYPES}" Version="Exchange2013"/></soap11:Header><soap11:Body>` +
    `<m:SendNotification xmlns:m="${MESSAGES}" xmlns:t="${TYPES}"><m:ResponseMessages>` +
    '<m:SendNotificationResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Notification>' +
    `<t:SubscriptionId>${args.subscriptionId}</t:SubscriptionId>${previous}<t:MoreEvents>${args.moreEvents ?? false}</t:MoreEvents>` +
    `${args.events.map(eventXml).join('')}</m:Notification></m:SendNotificationResponseMessage>` +
    '</m:ResponseMessages></m:SendNotification></soap11:Body></soap11:Envelope>'
  );
}

/** The observed error push: ResponseClass Error, no Notification, the id in MessageXml. */
export function errorPush(subscriptionId: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?><soap11:Envelope xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body>' +
    `<m:SendNotification xmlns:m="${MESSAGES}" xmlns:t="${TYPES}"><m:ResponseMessages>` +
    '<m:SendNotificationResponseMessage ResponseClass="Error"><m:MessageText>Events could not be read.</m:MessageText>' +
    '<m:ResponseCode>ErrorReadEventsFailed</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>' +
    `<m:MessageXml><t:Value Name="SubscriptionId">${subscriptionId}</t:Value></m:MessageXml>` +
    '</m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification></soap11:Body></soap11:Envelope>'
  );
}
