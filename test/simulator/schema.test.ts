/**
 * Everything the simulator sends validates against Microsoft's EWS schema: every shape of push
 * (heartbeat, each event type, a MoreEvents batch) and every response (successes and errors of
 * each operation). The one exception is deliberate and checked in faults.test.ts: the
 * ErrorReadEventsFailed error push, which has the real, schema-invalid shape. SOAP Faults are
 * not in messages.xsd; the other tests read every fault with the project's own decoders.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import { encodeFindFolder } from '../../functions/ews/folders.ts';
import { ENRICHMENT_SHAPE, encodeGetItem, encodeSyncFolderItems } from '../../functions/ews/items.ts';
import {
  decodeSubscribeResponse,
  encodeSubscribe,
  type PushSubscriptionRequest,
} from '../../functions/ews/subscribe.ts';
import { NS } from '../../functions/ews/xml.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { itWithSchema, validateEnvelope } from '../support/ews-schema.ts';
import { as, post, type Receiver, startReceiver, value, waitFor } from './support.ts';

const ADA = 'ada@contoso.test';
const sent = new Map<string, string>();
let sim: Simulator;
let receiver: Receiver;

const SENT_MESSAGES = [
  'push: StatusEvent heartbeat',
  'push: NewMailEvent, CreatedEvent, folder ModifiedEvent with UnreadCount',
  'push: item and folder ModifiedEvent',
  'push: MovedEvent with OldItemId and OldParentFolderId',
  'push: CopiedEvent with OldItemId and OldParentFolderId',
  'push: DeletedEvent',
  'push: CreatedEvent and FreeBusyChangedEvent of a calendar item',
  'push: 50 events with MoreEvents true',
  'response: Subscribe success',
  'response: Subscribe ErrorInvalidWatermark',
  'response: Subscribe ErrorExceededSubscriptionCount with MessageXml',
  'response: Subscribe ErrorInvalidSubscriptionRequest (pull)',
  'response: GetItem message, calendar item and per-id errors',
  'response: GetItem IdOnly',
  'response: SyncFolderItems with Create, Update, ReadFlagChange and Delete',
  'response: SyncFolderItems ErrorInvalidSyncStateData',
  'response: SyncFolderItems of the custom folder, by FolderId',
  'response: FindFolder of every folder under msgfolderroot (IdOnly, FolderClass, DisplayName)',
  'response: FindFolder AllProperties, Deep under root, a first page',
  'response: FindFolder Default shape, Shallow',
  'response: FindFolder ErrorFolderNotFound',
  'response: Unsubscribe ErrorInvalidSubscription',
  'response: GetEvents ErrorInvalidPullSubscriptionId',
  'response: GetFolder AllProperties of the inbox, a calendar and the custom folder, and ErrorFolderNotFound',
  'response: ConvertId EwsId to HexEntryId, and ErrorInvalidIdMalformed',
] as const;

function pushWith(predicate: (types: string[]) => boolean): string {
  const push = receiver.pushes.find((p) =>
    predicate(p.decoded?.notifications[0]?.events.map((e) => e.type) ?? []),
  );
  if (push === undefined) {
    const seen = receiver.pushes.map((p) => p.decoded?.notifications[0]?.events.map((e) => e.type).join());
    throw new Error(`no such push was received; received ${JSON.stringify(seen)}`);
  }
  return push.body;
}

beforeAll(async () => {
  const clock = createScaledClock({ timeScale: 600 });
  sim = await startSimulator({
    clock,
    mailboxes: [ADA, 'bob@contoso.test'],
    maxSubscriptionsPerMailbox: 2,
    initialItems: 0,
  });
  receiver = await startReceiver(clock);
  const request: PushSubscriptionRequest = {
    folders: 'all',
    eventTypes: [
      'NewMailEvent',
      'CreatedEvent',
      'ModifiedEvent',
      'MovedEvent',
      'CopiedEvent',
      'DeletedEvent',
      'FreeBusyChangedEvent',
    ],
    statusFrequency: 1,
    url: receiver.url,
  };
  const subscribe = (xml: string) => post(sim.ewsUrl, xml);
  const first = await subscribe(encodeSubscribe(request, as(ADA)));
  sent.set('response: Subscribe success', first.body);
  const { subscriptionId } = value(decodeSubscribeResponse(first.body));
  await waitFor(clock, () => sim.deliveries().length >= 1, 'the first heartbeat', 60_000);

  /** Makes a change and waits until its notification was delivered. */
  const pushed = async <T>(change: () => T): Promise<T> => {
    const count = sim.deliveries().length;
    const made = change();
    await waitFor(clock, () => sim.deliveries().length > count, 'the push', 60_000);
    return made;
  };
  const message = await pushed(() => sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' }));
  await pushed(() => sim.makeChange({ mailbox: ADA, kind: 'modify', itemId: message.itemId }));
  const copy = await pushed(() => sim.makeChange({ mailbox: ADA, kind: 'copy', itemId: message.itemId }));
  const meeting = await pushed(() => sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'calendar' }));
  const moved = await pushed(() => sim.makeChange({ mailbox: ADA, kind: 'move', itemId: meeting.itemId }));
  await pushed(() => sim.makeChange({ mailbox: ADA, kind: 'delete', itemId: moved.itemId }));
  await pushed(() => {
    for (let i = 0; i < 30; i++) sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'sentitems' });
  });
  await waitFor(clock, () => sim.deliveries().at(-1)?.moreEvents === false, 'the end of the batch', 60_000);

  sent.set(
    'push: StatusEvent heartbeat',
    pushWith((t) => t.join() === 'StatusEvent'),
  );
  sent.set(
    'push: NewMailEvent, CreatedEvent, folder ModifiedEvent with UnreadCount',
    pushWith((t) => t.join() === 'NewMailEvent,CreatedEvent,ModifiedEvent'),
  );
  sent.set(
    'push: item and folder ModifiedEvent',
    pushWith((t) => t.join() === 'ModifiedEvent,ModifiedEvent'),
  );
  sent.set(
    'push: MovedEvent with OldItemId and OldParentFolderId',
    pushWith((t) => t.includes('MovedEvent')),
  );
  sent.set(
    'push: CopiedEvent with OldItemId and OldParentFolderId',
    pushWith((t) => t.join() === 'CopiedEvent,ModifiedEvent'),
  );
  sent.set(
    'push: DeletedEvent',
    pushWith((t) => t.includes('DeletedEvent')),
  );
  sent.set(
    'push: CreatedEvent and FreeBusyChangedEvent of a calendar item',
    pushWith((t) => t.join() === 'CreatedEvent,ModifiedEvent,FreeBusyChangedEvent'),
  );
  sent.set(
    'push: 50 events with MoreEvents true',
    receiver.pushes.find((p) => p.decoded?.notifications[0]?.moreEvents === true)?.body ?? '',
  );

  const watermarkRefused = await subscribe(encodeSubscribe({ ...request, watermark: 'AQAAAA==' }, as(ADA)));
  sent.set('response: Subscribe ErrorInvalidWatermark', watermarkRefused.body);
  await subscribe(encodeSubscribe(request, as(ADA)));
  sent.set(
    'response: Subscribe ErrorExceededSubscriptionCount with MessageXml',
    (await subscribe(encodeSubscribe(request, as(ADA)))).body,
  );
  const pull = encodeSubscribe(request, as('bob@contoso.test')).replace(
    /PushSubscriptionRequest/g,
    'PullSubscriptionRequest',
  );
  sent.set('response: Subscribe ErrorInvalidSubscriptionRequest (pull)', (await subscribe(pull)).body);

  const calendarItem = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'calendar' });
  const bobs = sim.makeChange({ mailbox: 'bob@contoso.test', kind: 'create', folder: 'inbox' });
  const ids = [message.itemId, calendarItem.itemId, meeting.itemId, '!!', bobs.itemId];
  sent.set(
    'response: GetItem message, calendar item and per-id errors',
    (
      await post(
        sim.ewsUrl,
        encodeGetItem({ itemShape: ENRICHMENT_SHAPE, itemIds: ids.map((id) => ({ id })) }, as(ADA)),
      )
    ).body,
  );
  sent.set(
    'response: GetItem IdOnly',
    (
      await post(
        sim.ewsUrl,
        encodeGetItem({ itemShape: { baseShape: 'IdOnly' }, itemIds: [{ id: message.itemId }] }, as(ADA)),
      )
    ).body,
  );

  const syncRequest = {
    itemShape: ENRICHMENT_SHAPE,
    syncFolderId: { distinguishedFolderId: 'inbox' as const },
    maxChangesReturned: 512,
  };
  const firstSync = await post(sim.ewsUrl, encodeSyncFolderItems(syncRequest, as(ADA)));
  const syncState = /<m:SyncState>([^<]+)<\/m:SyncState>/.exec(firstSync.body)?.[1] ?? '';
  const [a, b, c] = [1, 2, 3].map(() => sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' }));
  const later = await post(sim.ewsUrl, encodeSyncFolderItems({ ...syncRequest, syncState }, as(ADA)));
  const laterState = /<m:SyncState>([^<]+)<\/m:SyncState>/.exec(later.body)?.[1] ?? '';
  // One of each since laterState: a create, an update, a read-flag change and a delete.
  sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
  sim.makeChange({ mailbox: ADA, kind: 'modify', itemId: a?.itemId ?? '' });
  sim.makeChange({ mailbox: ADA, kind: 'readFlag', itemId: b?.itemId ?? '' });
  sim.makeChange({ mailbox: ADA, kind: 'delete', itemId: c?.itemId ?? '' });
  sent.set(
    'response: SyncFolderItems with Create, Update, ReadFlagChange and Delete',
    (await post(sim.ewsUrl, encodeSyncFolderItems({ ...syncRequest, syncState: laterState }, as(ADA)))).body,
  );
  sent.set(
    'response: SyncFolderItems ErrorInvalidSyncStateData',
    (await post(sim.ewsUrl, encodeSyncFolderItems({ ...syncRequest, syncState: 'bm9wZQ==' }, as(ADA)))).body,
  );
  // The custom folder, by the FolderId the mailbox list gives: the copy and a message moved there.
  const projectsId = sim.mailboxes().find((m) => m.address === ADA)?.folders.projects?.folderId ?? '';
  sim.makeChange({ mailbox: ADA, kind: 'readFlag', itemId: copy.itemId });
  sim.makeChange({ mailbox: ADA, kind: 'move', folder: 'inbox', toFolder: 'projects' });
  sent.set(
    'response: SyncFolderItems of the custom folder, by FolderId',
    (
      await post(
        sim.ewsUrl,
        encodeSyncFolderItems({ ...syncRequest, syncFolderId: { folderId: projectsId } }, as(ADA)),
      )
    ).body,
  );
  sent.set(
    'response: FindFolder of every folder under msgfolderroot (IdOnly, FolderClass, DisplayName)',
    (await post(sim.ewsUrl, encodeFindFolder({ maxEntriesReturned: 1000 }, as(ADA)))).body,
  );
  // The shapes the bridge does not send, edited in by hand: every property the simulator has.
  const rootPage = encodeFindFolder(
    { parentFolderId: { distinguishedFolderId: 'root' }, maxEntriesReturned: 5 },
    as(ADA),
  );
  sent.set(
    'response: FindFolder AllProperties, Deep under root, a first page',
    (await post(sim.ewsUrl, rootPage.replace('IdOnly', 'AllProperties'))).body,
  );
  sent.set(
    'response: FindFolder Default shape, Shallow',
    (
      await post(
        sim.ewsUrl,
        encodeFindFolder({ maxEntriesReturned: 1000 }, as(ADA))
          .replace('IdOnly', 'Default')
          .replace('Traversal="Deep"', 'Traversal="Shallow"'),
      )
    ).body,
  );
  sent.set(
    'response: FindFolder ErrorFolderNotFound',
    (
      await post(
        sim.ewsUrl,
        encodeFindFolder({ parentFolderId: { folderId: 'AAMkAGI2=' }, maxEntriesReturned: 10 }, as(ADA)),
      )
    ).body,
  );
  const envelope = (body: string) =>
    `<s:Envelope xmlns:s="${NS.soap11}" xmlns:m="${NS.messages}"><s:Body>${body}</s:Body></s:Envelope>`;
  sent.set(
    'response: Unsubscribe ErrorInvalidSubscription',
    (
      await post(
        sim.ewsUrl,
        envelope(`<m:Unsubscribe><m:SubscriptionId>${subscriptionId}</m:SubscriptionId></m:Unsubscribe>`),
      )
    ).body,
  );
  sent.set(
    'response: GetEvents ErrorInvalidPullSubscriptionId',
    (
      await post(
        sim.ewsUrl,
        envelope(
          `<m:GetEvents><m:SubscriptionId>${subscriptionId}</m:SubscriptionId><m:Watermark>W</m:Watermark></m:GetEvents>`,
        ),
      )
    ).body,
  );
  const projects = sim.mailboxes()[0]?.folders.projects?.folderId ?? '';
  const withTypes = (body: string) =>
    `<s:Envelope xmlns:s="${NS.soap11}" xmlns:m="${NS.messages}" xmlns:t="${NS.types}"><s:Header><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>${ADA}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></s:Header><s:Body>${body}</s:Body></s:Envelope>`;
  sent.set(
    'response: GetFolder AllProperties of the inbox, a calendar and the custom folder, and ErrorFolderNotFound',
    (
      await post(
        sim.ewsUrl,
        withTypes(
          `<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/><t:DistinguishedFolderId Id="calendar"/><t:FolderId Id="${projects}"/><t:FolderId Id="AAMkAGI2="/></m:FolderIds></m:GetFolder>`,
        ),
      )
    ).body,
  );
  sent.set(
    'response: ConvertId EwsId to HexEntryId, and ErrorInvalidIdMalformed',
    (
      await post(
        sim.ewsUrl,
        withTypes(
          `<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="${projects}" Mailbox="${ADA}"/><t:AlternateId Format="EwsId" Id="not base64!" Mailbox="${ADA}"/></m:SourceIds></m:ConvertId>`,
        ),
      )
    ).body,
  );
});

afterAll(async () => {
  await sim?.stop();
  await receiver?.close();
});

// Concurrent: each check runs xmllint (validateEnvelope runs two at a time).
describe.concurrent('everything the simulator sends is valid against the official EWS schema', () => {
  for (const name of SENT_MESSAGES) {
    itWithSchema(name, async () => {
      const xml = sent.get(name);
      expect(xml, 'the scenario produced this message').toBeTruthy();
      const verdict = await validateEnvelope(xml ?? '');
      expect(verdict.exitCode, verdict.output).toBe(0);
    });
  }

  itWithSchema('the scenario produced what the names say', () => {
    for (const element of ['<t:Create>', '<t:Update>', '<t:ReadFlagChange>', '<t:Delete>']) {
      expect(sent.get('response: SyncFolderItems with Create, Update, ReadFlagChange and Delete')).toContain(
        element,
      );
    }
    expect(sent.get('response: GetItem message, calendar item and per-id errors')).toMatch(
      /<t:Message>.*<t:CalendarItem>.*ErrorItemNotFound.*ErrorInvalidIdMalformed.*ErrorAccessDenied/,
    );
    expect(sent.get('push: 50 events with MoreEvents true')).toContain('<t:MoreEvents>true</t:MoreEvents>');
    expect(
      sent.get(
        'response: GetFolder AllProperties of the inbox, a calendar and the custom folder, and ErrorFolderNotFound',
      ),
    ).toMatch(/<t:Folder>.*<t:CalendarFolder>.*Projects.*ErrorFolderNotFound/);
    expect(sent.get('response: ConvertId EwsId to HexEntryId, and ErrorInvalidIdMalformed')).toMatch(
      /Format="HexEntryId" Id="[0-9A-F]+".*ErrorInvalidIdMalformed/,
    );
    expect(sent.get('push: CopiedEvent with OldItemId and OldParentFolderId')).toMatch(
      /<t:CopiedEvent>.*<t:ItemId .*<t:ParentFolderId .*<t:OldItemId .*<t:OldParentFolderId .*<\/t:CopiedEvent>/,
    );
    expect(sent.get('response: SyncFolderItems of the custom folder, by FolderId')).toMatch(
      /ResponseClass="Success".*<t:Create><t:Message>.*<t:Create><t:Message>/,
    );
    expect(sent.get('response: Subscribe ErrorExceededSubscriptionCount with MessageXml')).toContain(
      '<m:MessageXml>',
    );
    for (const element of ['<t:Folder>', '<t:CalendarFolder>', '<t:ContactsFolder>', '<t:TasksFolder>']) {
      expect(
        sent.get(
          'response: FindFolder of every folder under msgfolderroot (IdOnly, FolderClass, DisplayName)',
        ),
      ).toContain(element);
    }
    expect(sent.get('response: FindFolder AllProperties, Deep under root, a first page')).toMatch(
      /IndexedPagingOffset="5" TotalItemsInView="10" IncludesLastItemInRange="false">.*<t:ParentFolderId .*<t:FolderClass>.*<t:TotalCount>.*<t:ChildFolderCount>.*<t:UnreadCount>/,
    );
    expect(sent.get('response: FindFolder Default shape, Shallow')).toMatch(
      /<t:DisplayName>.*<t:TotalCount>.*<t:ChildFolderCount>/,
    );
    expect(sent.get('response: FindFolder ErrorFolderNotFound')).toContain('ErrorFolderNotFound');
  });
});
