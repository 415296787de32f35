/**
 * The simulator driven by an EWS client it was not written with: ews-javascript-api, the
 * TypeScript port of Microsoft's EWS Managed API, as another team would use it for its own
 * integration tests. Bind the inbox (GetFolder), list the folders (FindFolder), subscribe for
 * push, receive a push on a local callback and read it with the library's own reader and
 * GetEventsResults, fetch the item the push named (GetItem), synchronize the folder
 * (SyncFolderItems) and try Unsubscribe, which Exchange refuses for a push subscription.
 * Every answer is checked against the simulator's ground truth, not against what the simulator
 * says it sent.
 */
import http from 'node:http';
import {
  AlternateId,
  BasePropertySet,
  ConnectingIdType,
  EventType,
  EwsServiceXmlReader,
  ExchangeService,
  ExchangeVersion,
  Folder,
  FolderId,
  FolderView,
  GetEventsResults,
  IdFormat,
  ImpersonatedUserId,
  Item,
  ItemId,
  PropertySet,
  ServiceError,
  ServiceResponseException,
  SoapFaultDetails,
  SyncFolderItemsScope,
  Uri,
  WebCredentials,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it, type TestContext } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { defined, waitFor } from './support.ts';

const ADA = 'ada@contoso.test';

const OK_REPLY =
  '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendNotificationResult xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><SubscriptionStatus>OK</SubscriptionStatus></SendNotificationResult></soap:Body></soap:Envelope>';

/** A bare callback endpoint: records each push body and acknowledges it. */
async function startCallback(context: TestContext): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      response.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
      response.end(OK_REPLY);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  context.onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the callback has no port');
  return { url: `http://127.0.0.1:${address.port}/ews-callback`, bodies };
}

async function setUp(context: TestContext): Promise<{ sim: Simulator; service: ExchangeService }> {
  const sim = await startSimulator({
    clock: createScaledClock({ timeScale: 60 }),
    auth: 'basic',
    mailboxes: [ADA],
  });
  context.onTestFinished(() => sim.stop());
  const account = defined(sim.credentials.basic[0], 'a Basic account');
  const service = new ExchangeService(ExchangeVersion.Exchange2013);
  service.Credentials = new WebCredentials(account.username, account.password);
  service.Url = new Uri(sim.ewsUrl);
  service.ImpersonatedUserId = new ImpersonatedUserId(ConnectingIdType.SmtpAddress, ADA);
  return { sim, service };
}

/** The simulator's view of a folder, by its own name. */
function folderOf(sim: Simulator, name: string) {
  return defined(sim.mailboxes()[0]?.folders[name], `folder ${name}`);
}

/** A push body read the way the library reads EWS XML, its Notification loaded into GetEventsResults. */
function readPush(body: string, service: ExchangeService): GetEventsResults {
  const envelope: unknown = new EwsServiceXmlReader(body, service).JsObject;
  const notification = [
    'Body',
    'SendNotification',
    'ResponseMessages',
    'SendNotificationResponseMessage',
    'Notification',
  ].reduce<unknown>(
    (node, key) => (typeof node === 'object' && node !== null ? Reflect.get(node, key) : undefined),
    envelope,
  );
  if (notification === undefined) throw new Error(`not a SendNotification with a Notification: ${body}`);
  const results = new GetEventsResults();
  // The loader the library uses for GetEvents answers (the same t:NotificationType); it is not in
  // its type declarations, hence the look-up.
  const load: unknown = Reflect.get(results, 'LoadFromXmlJsObject');
  if (typeof load !== 'function') throw new Error('GetEventsResults has no LoadFromXmlJsObject any more');
  load.call(results, notification, service);
  return results;
}

describe('ews-javascript-api 0.15.3 against the simulator', () => {
  it('binds, lists, subscribes, is pushed, gets, syncs, and is refused Unsubscribe as Exchange refuses it', async (context) => {
    const { sim, service } = await setUp(context);
    const callback = await startCallback(context);

    // GetFolder: the inbox by its well-known name, as the library's entry points start.
    const inbox = await Folder.Bind(service, WellKnownFolderName.Inbox);
    expect(inbox.Id.UniqueId).toBe(folderOf(sim, 'inbox').folderId);
    expect(inbox.DisplayName).toBe('Inbox');
    expect(inbox.TotalCount).toBe(folderOf(sim, 'inbox').items);

    // FindFolder: the custom folder is found, with the FolderId the simulator knows it by.
    const found = await service.FindFolders(WellKnownFolderName.MsgFolderRoot, new FolderView(100));
    const projects = found.Folders.find((f) => f.DisplayName === 'Projects');
    expect(projects?.Id.UniqueId).toBe(folderOf(sim, 'projects').folderId);
    expect(found.Folders.map((f) => f.DisplayName).sort()).toEqual([
      'Calendar',
      'Contacts',
      'Deleted Items',
      'Drafts',
      'Inbox',
      'Junk Email',
      'Projects',
      'Sent Items',
      'Tasks',
    ]);

    // Subscribe for push; the first push is the StatusEvent Exchange sends at once.
    const subscription = await service.SubscribeToPushNotifications(
      [new FolderId(WellKnownFolderName.Inbox)],
      new Uri(callback.url),
      1,
      '', // no watermark: a fresh subscription
      EventType.NewMail,
      EventType.Created,
      EventType.Modified,
    );
    expect(sim.subscriptions({ mailbox: ADA }).map((s) => s.subscriptionId)).toEqual([subscription.Id]);
    await waitFor(sim.clock, () => callback.bodies.length >= 1, 'the first push', 120_000);

    // A new message in the inbox: pushed, and read with the library's own types.
    const created = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const pushedItem = () =>
      callback.bodies
        .map((body) => readPush(body, service))
        .flatMap((results) => results.ItemEvents)
        .find((event) => event.EventType === EventType.Created && event.ItemId.UniqueId === created.itemId);
    await waitFor(sim.clock, () => pushedItem() !== undefined, 'the push of the new message', 120_000);
    const pushes = callback.bodies.map((body) => readPush(body, service));
    expect(new Set(pushes.map((p) => Reflect.get(p, 'subscriptionId')))).toEqual(new Set([subscription.Id]));
    const event = defined(pushedItem(), 'the CreatedEvent');
    expect(event.ParentFolderId.UniqueId).toBe(folderOf(sim, 'inbox').folderId);

    // GetItem: the item the push named.
    const item = await Item.Bind(
      service,
      new ItemId(event.ItemId.UniqueId),
      new PropertySet(BasePropertySet.FirstClassProperties),
    );
    expect(item.Id.UniqueId).toBe(created.itemId);
    expect(item.Id.ChangeKey).toBe(created.changeKey);
    expect(item.Subject).not.toBe('');

    // SyncFolderItems from scratch: every item the ground truth says the inbox holds, as a Create.
    const sync = await service.SyncFolderItems(
      new FolderId(WellKnownFolderName.Inbox),
      PropertySet.IdOnly,
      [],
      512,
      SyncFolderItemsScope.NormalItems,
      '', // no SyncState: from scratch
    );
    const truth = new Set<string>();
    for (const change of sim.changes({ mailbox: ADA })) {
      if (change.oldFolder === 'inbox' && change.kind === 'move' && change.oldItemId !== null)
        truth.delete(change.oldItemId);
      if (change.folder !== 'inbox') continue;
      if (change.kind === 'delete') truth.delete(change.itemId);
      else truth.add(change.itemId);
    }
    const synced = [...Array(sync.Count).keys()].map((i) => sync._getItem(i));
    expect(new Set(synced.map((change) => change.ItemId.UniqueId))).toEqual(truth);
    expect(sync.MoreChangesAvailable).toBe(false);

    // Unsubscribe: a push subscription is ended by answering a push, so Exchange refuses it.
    const unsubscribe: unknown = Reflect.get(service, 'Unsubscribe');
    if (typeof unsubscribe !== 'function') throw new Error('ExchangeService has no Unsubscribe any more');
    const refusal = await Promise.resolve(unsubscribe.call(service, subscription.Id)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(ServiceResponseException);
    if (!(refusal instanceof ServiceResponseException)) return;
    expect(ServiceError[refusal.ErrorCode]).toBe('ErrorInvalidSubscription');
    expect(sim.subscriptions({ mailbox: ADA })[0]?.state).toBe('active');
  });

  it('speaks every RequestServerVersion the schema has, says which it is, and converts ids', async (context) => {
    const { sim, service } = await setUp(context);
    const accepted = [
      ExchangeVersion.Exchange2007_SP1,
      ExchangeVersion.Exchange2010,
      ExchangeVersion.Exchange2010_SP1,
      ExchangeVersion.Exchange2010_SP2,
      ExchangeVersion.Exchange2013,
      ExchangeVersion.Exchange2013_SP1,
      ExchangeVersion.Exchange2015,
      ExchangeVersion.Exchange2016,
      ExchangeVersion.V2015_10_05,
      ExchangeVersion.V2016_01_06,
      ExchangeVersion.V2016_04_13,
      ExchangeVersion.V2016_07_13,
      ExchangeVersion.V2016_10_10,
    ];
    for (const version of accepted) {
      const versioned = new ExchangeService(version);
      versioned.Credentials = service.Credentials;
      versioned.Url = service.Url;
      versioned.ImpersonatedUserId = service.ImpersonatedUserId;
      const folder = await Folder.Bind(versioned, WellKnownFolderName.Calendar);
      expect(folder.Id.UniqueId, ExchangeVersion[version]).toBe(folderOf(sim, 'calendar').folderId);
      // What the server says it is: the newest version it accepts.
      expect(versioned.ServerInfo.VersionString).toBe('V2016_10_10');
    }
    // Newer than the schema: refused as the schema refuses it.
    const newer = new ExchangeService(ExchangeVersion.V2017_04_14);
    newer.Credentials = service.Credentials;
    newer.Url = service.Url;
    newer.ImpersonatedUserId = service.ImpersonatedUserId;
    const refusal = await Folder.Bind(newer, WellKnownFolderName.Inbox).then(
      () => null,
      (e: unknown) => e,
    );
    // The library reads the fault's code and where in its request the violation is.
    expect(refusal).toBeInstanceOf(SoapFaultDetails);
    if (refusal instanceof SoapFaultDetails) {
      expect(ServiceError[refusal.ResponseCode]).toBe('ErrorSchemaValidation');
      expect(refusal.LineNumber).toBe(1);
      expect(refusal.PositionWithinLine).toBeGreaterThan(1);
    }

    // ConvertId: an EwsId to HexEntryId and back is the same id.
    const inboxId = folderOf(sim, 'inbox').folderId;
    const hex = await service.ConvertId(new AlternateId(IdFormat.EwsId, inboxId, ADA), IdFormat.HexEntryId);
    if (!(hex instanceof AlternateId)) throw new Error('ConvertId did not answer an AlternateId');
    expect(hex.UniqueId).toMatch(/^[0-9A-F]+$/);
    const back = await service.ConvertId(
      new AlternateId(IdFormat.HexEntryId, hex.UniqueId, ADA),
      IdFormat.EwsId,
    );
    if (!(back instanceof AlternateId)) throw new Error('ConvertId did not answer an AlternateId');
    expect(back.UniqueId).toBe(inboxId);
    expect(back.Mailbox).toBe(ADA);
  });
});
