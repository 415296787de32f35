/**
 * The custom folder ("Projects": no distinguished name, reached by its FolderId only) and copies,
 * everywhere a folder or a change shows: the mailbox list, FindFolder, Subscribe FolderIds,
 * pushes, SyncFolderItems, GetItem, moves and the ground truth. Spoken to with the project's own
 * client encoders and decoders, as the bridge speaks to Exchange.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import { EwsResponseError } from '../../functions/ews/errors.ts';
import {
  decodeFindFolderResponse,
  encodeFindFolder,
  type FindFolderRequest,
  type FoundFolder,
} from '../../functions/ews/folders.ts';
import {
  decodeGetItemResponse,
  decodeSyncFolderItemsResponse,
  ENRICHMENT_SHAPE,
  encodeGetItem,
  encodeSyncFolderItems,
} from '../../functions/ews/items.ts';
import type { NotificationEvent } from '../../functions/ews/notification.ts';
import type { FolderRef } from '../../functions/ews/request.ts';
import {
  decodeSubscribeResponse,
  encodeSubscribe,
  type PushSubscriptionRequest,
} from '../../functions/ews/subscribe.ts';
import { type FolderDescription, ITEM_FOLDERS, type SimulatedFolder } from '../../simulator/folders.ts';
import type { ChangeRecord } from '../../simulator/mailbox-store.ts';
import { type Simulator, SimulatorInputError } from '../../simulator/server.ts';
import {
  as,
  defined,
  failure,
  post,
  type Receiver,
  startWithReceiver,
  subscribe,
  value,
  waitFor,
} from './support.ts';

const ADA = 'ada@contoso.test';
const BOB = 'bob@contoso.test';

async function setUp(context: TestContext): Promise<{ sim: Simulator; receiver: Receiver }> {
  return startWithReceiver(context.onTestFinished, {
    clock: createScaledClock({ timeScale: 600 }),
    mailboxes: [ADA, BOB],
  });
}

function folder(sim: Simulator, name: SimulatedFolder, mailbox = ADA): FolderDescription {
  const described = sim.mailboxes().find((m) => m.address === mailbox);
  return defined(described?.folders[name], `${mailbox}'s folder ${name}`);
}

/** The events a subscription was pushed, in order, without heartbeats. */
function eventsOf(receiver: Receiver, subscriptionId: string): NotificationEvent[] {
  return receiver.pushes
    .flatMap((p) => p.decoded?.notifications ?? [])
    .filter((n) => n.subscriptionId === subscriptionId)
    .flatMap((n) => n.events)
    .filter((e) => e.type !== 'StatusEvent');
}

/** Waits until the subscription was pushed the event with this watermark (and so all before it). */
async function pushedThrough(sim: Simulator, subscriptionId: string, watermark: string): Promise<void> {
  await waitFor(
    sim.clock,
    () => sim.deliveries({ subscriptionId }).some((d) => d.watermark === watermark && d.outcome === 'OK'),
    `the push carrying watermark ${watermark}`,
    60_000,
  );
}

function lastWatermark(changes: readonly ChangeRecord[]): string {
  return defined(changes.at(-1)?.events.at(-1)?.watermark, 'the last event of the changes');
}

async function syncAll(sim: Simulator, syncFolderId: FolderRef, syncState?: string) {
  const reply = await post(
    sim.ewsUrl,
    encodeSyncFolderItems(
      {
        itemShape: ENRICHMENT_SHAPE,
        syncFolderId,
        maxChangesReturned: 512,
        ...(syncState ? { syncState } : {}),
      },
      as(ADA),
    ),
  );
  return { body: reply.body, result: value(decodeSyncFolderItemsResponse(reply.body)) };
}

describe('the custom folder', () => {
  it('is listed with a stable, opaque FolderId of its own, under msgfolderroot, without a distinguished name', async (context) => {
    const { sim } = await setUp(context);
    const projects = folder(sim, 'projects');
    expect(projects).toEqual({
      folderId: expect.stringMatching(/^[A-Za-z0-9+/]{20,}={0,2}$/),
      displayName: 'Projects',
      distinguishedFolderId: null,
      parentFolderId: folder(sim, 'msgfolderroot').folderId,
      // The fourth initial item of a mailbox is a message filed there.
      items: 1,
      unread: 1,
    });
    expect(folder(sim, 'inbox')).toMatchObject({ distinguishedFolderId: 'inbox', displayName: 'Inbox' });
    const ids = sim.mailboxes().flatMap((m) => Object.values(m.folders).map((f) => f.folderId));
    expect(new Set(ids).size).toBe(ids.length);
    sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'projects' });
    sim.makeChange({ mailbox: ADA, kind: 'move', folder: 'inbox', toFolder: 'projects' });
    expect(folder(sim, 'projects')).toMatchObject({ folderId: projects.folderId, items: 3 });
    expect(folder(sim, 'projects', BOB).folderId).not.toBe(projects.folderId);
    const listed = await (await fetch(`${sim.controlUrl}/mailboxes`)).json();
    expect(listed).toEqual({ mailboxes: sim.mailboxes() });
  });

  it('cannot be named as a DistinguishedFolderId: Exchange answers ErrorSchemaValidation', async (context) => {
    const { sim, receiver } = await setUp(context);
    const request: PushSubscriptionRequest = {
      folders: [{ distinguishedFolderId: 'inbox' }],
      eventTypes: ['CreatedEvent'],
      statusFrequency: 1,
      url: receiver.url,
    };
    // The project's encoder refuses the name too, so the request is edited by hand.
    const subscribeXml = encodeSubscribe(request, as(ADA)).replace(
      'DistinguishedFolderId Id="inbox"',
      'DistinguishedFolderId Id="projects"',
    );
    const syncXml = encodeSyncFolderItems(
      {
        itemShape: ENRICHMENT_SHAPE,
        syncFolderId: { distinguishedFolderId: 'inbox' },
        maxChangesReturned: 10,
      },
      as(ADA),
    ).replace('DistinguishedFolderId Id="inbox"', 'DistinguishedFolderId Id="projects"');
    const replies = [await post(sim.ewsUrl, subscribeXml), await post(sim.ewsUrl, syncXml)];
    const refusals = [
      failure(decodeSubscribeResponse(defined(replies[0]).body)),
      failure(decodeSyncFolderItemsResponse(defined(replies[1]).body)),
    ];
    expect(replies.map((r) => r.status)).toEqual([500, 500]);
    for (const refused of refusals) {
      if (!(refused instanceof EwsResponseError)) throw refused;
      expect(refused).toMatchObject({ responseCode: 'ErrorSchemaValidation', via: 'soapFault' });
      expect(refused.messageText).toMatch(/'projects' is invalid .*DistinguishedFolderIdNameType/);
    }
    expect(sim.subscriptions()).toEqual([]);
  });

  it('takes a FolderId subscription that is pushed its own events only: creates, moves in and out, copies in', async (context) => {
    const { sim, receiver } = await setUp(context);
    const projectsId = folder(sim, 'projects').folderId;
    const eventTypes = [
      'CreatedEvent',
      'ModifiedEvent',
      'MovedEvent',
      'CopiedEvent',
      'DeletedEvent',
    ] as const;
    const { subscriptionId } = value(
      await subscribe(sim, ADA, {
        folders: [{ folderId: projectsId }],
        eventTypes: [...eventTypes],
        statusFrequency: 1,
        url: receiver.url,
      }),
    );
    await waitFor(sim.clock, () => receiver.pushes.length >= 1, 'the first heartbeat', 60_000);
    const elsewhere = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const changes = [
      elsewhere,
      sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'projects' }),
      sim.makeChange({ mailbox: ADA, kind: 'move', itemId: elsewhere.itemId, toFolder: 'projects' }),
      sim.makeChange({ mailbox: ADA, kind: 'copy', folder: 'inbox', toFolder: 'projects' }),
      sim.makeChange({ mailbox: ADA, kind: 'move', folder: 'projects', toFolder: 'deleteditems' }),
      sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'calendar' }),
    ];
    const expected = changes
      .flatMap((c) => c.events)
      .filter((e) => eventTypes.some((t) => t === e.type))
      .filter((e) => [e.parentFolderId, e.folderId, e.oldParentFolderId].includes(projectsId));
    await pushedThrough(sim, subscriptionId, defined(expected.at(-1)?.watermark));
    // Anything the filter should have held back would have come with these or straight after.
    await sim.clock.sleep(30_000);
    const pushed = eventsOf(receiver, subscriptionId);
    expect(pushed.map((e) => [e.type, e.watermark])).toEqual(expected.map((e) => [e.type, e.watermark]));
    expect(pushed.map((e) => e.type)).toEqual([
      'CreatedEvent',
      'ModifiedEvent',
      'MovedEvent',
      'ModifiedEvent',
      'CopiedEvent',
      'ModifiedEvent',
      'MovedEvent',
      'ModifiedEvent',
    ]);
    expect(pushed.some((e) => e.itemId?.id === elsewhere.itemId)).toBe(false);
    expect(sim.subscriptions().find((s) => s.subscriptionId === subscriptionId)?.folders).toEqual([
      'projects',
    ]);
  });

  it('is moved to and from like any folder, and the ground truth names it projects with its FolderId', async (context) => {
    const { sim } = await setUp(context);
    const projectsId = folder(sim, 'projects').folderId;
    const inboxId = folder(sim, 'inbox').folderId;
    const filed = sim.makeChange({ mailbox: ADA, kind: 'move', folder: 'inbox', toFolder: 'projects' });
    expect(filed).toMatchObject({
      kind: 'move',
      folder: 'projects',
      folderId: projectsId,
      oldFolder: 'inbox',
      oldFolderId: inboxId,
    });
    expect(filed.events[0]).toMatchObject({
      type: 'MovedEvent',
      itemId: filed.itemId,
      parentFolderId: projectsId,
      oldParentFolderId: inboxId,
    });
    // A move of the kind asked for, without toFolder, goes to Deleted Items: from Projects too.
    const binned = sim.makeChange({ mailbox: ADA, kind: 'move', itemId: filed.itemId });
    expect(binned).toMatchObject({ folder: 'deleteditems', oldFolder: 'projects', oldFolderId: projectsId });
    const restored = sim.makeChange({
      mailbox: ADA,
      kind: 'move',
      itemId: binned.itemId,
      toFolder: 'projects',
    });
    expect(restored).toMatchObject({
      folder: 'projects',
      oldFolder: 'deleteditems',
      oldItemId: binned.itemId,
    });
    const reply = await post(
      sim.ewsUrl,
      encodeGetItem({ itemShape: ENRICHMENT_SHAPE, itemIds: [{ id: restored.itemId }] }, as(ADA)),
    );
    expect(value(defined(value(decodeGetItemResponse(reply.body))[0]))).toMatchObject({
      id: restored.itemId,
    });
    expect(reply.body).toContain(`<t:ParentFolderId Id="${projectsId}"`);
  });

  it('is synced by FolderId: creates, moves in, copies in, moves out', async (context) => {
    const { sim } = await setUp(context);
    const projects: FolderRef = { folderId: folder(sim, 'projects').folderId };
    const first = await syncAll(sim, projects);
    const initial = sim.changes({ mailbox: ADA }).find((c) => c.folder === 'projects');
    expect(first.result.changes.map((c) => [c.kind, c.kind === 'Create' ? c.item.id : null])).toEqual([
      ['Create', initial?.itemId],
    ]);
    const created = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'projects' });
    const movedIn = sim.makeChange({ mailbox: ADA, kind: 'move', folder: 'inbox', toFolder: 'projects' });
    const copiedIn = sim.makeChange({ mailbox: ADA, kind: 'copy', folder: 'inbox' });
    const movedOut = sim.makeChange({ mailbox: ADA, kind: 'move', itemId: initial?.itemId ?? '' });
    const second = await syncAll(sim, projects, first.result.syncState);
    expect(second.result.changes.map((c) => [c.kind, 'item' in c ? c.item.id : c.itemId])).toEqual([
      ['Create', created.itemId],
      ['Create', movedIn.itemId],
      ['Create', copiedIn.itemId],
      ['Delete', movedOut.oldItemId],
    ]);
    expect(second.result.includesLastItemInRange).toBe(true);
  });
});

async function findFolders(sim: Simulator, request: FindFolderRequest, mailbox = ADA) {
  const reply = await post(sim.ewsUrl, encodeFindFolder(request, as(mailbox)));
  return { reply, result: decodeFindFolderResponse(reply.body) };
}

/** Every folder of a mailbox that holds items, as Exchange lists it: simulator name, element, class, name. */
const LISTED: ReadonlyArray<readonly [SimulatedFolder, FoundFolder['kind'], string, string]> = [
  ['inbox', 'Folder', 'IPF.Note', 'Inbox'],
  ['calendar', 'CalendarFolder', 'IPF.Appointment', 'Calendar'],
  ['contacts', 'ContactsFolder', 'IPF.Contact', 'Contacts'],
  ['tasks', 'TasksFolder', 'IPF.Task', 'Tasks'],
  ['drafts', 'Folder', 'IPF.Note', 'Drafts'],
  ['sentitems', 'Folder', 'IPF.Note', 'Sent Items'],
  ['deleteditems', 'Folder', 'IPF.Note', 'Deleted Items'],
  ['junkemail', 'Folder', 'IPF.Note', 'Junk Email'],
  ['projects', 'Folder', 'IPF.Note', 'Projects'],
];

describe('FindFolder', () => {
  it('lists every folder under msgfolderroot with its FolderId, element, FolderClass and DisplayName', async (context) => {
    const { sim } = await setUp(context);
    const { reply, result } = await findFolders(sim, { maxEntriesReturned: 1000 });
    expect(reply.status).toBe(200);
    expect(value(result)).toEqual({
      folders: LISTED.map(([name, kind, folderClass, displayName]) => ({
        folderId: folder(sim, name).folderId,
        changeKey: expect.any(String),
        kind,
        folderClass,
        displayName,
      })),
      includesLastItemInRange: true,
      nextOffset: null,
    });
    expect(reply.body).toContain('TotalItemsInView="9"');
    const listed = value(result).folders.map((f) => f.folderId);
    // Every folder items can be in is there; the roots are not (Deep lists the parent's descendants).
    for (const name of ITEM_FOLDERS) expect(listed).toContain(folder(sim, name).folderId);
    for (const root of ['root', 'msgfolderroot'] as const) {
      expect(listed).not.toContain(folder(sim, root).folderId);
    }
    // Each mailbox its own: Bob's folders have other ids.
    const bobs = value((await findFolders(sim, { maxEntriesReturned: 1000 }, BOB)).result).folders;
    expect(bobs.map((f) => f.folderId)).toEqual(LISTED.map(([name]) => folder(sim, name, BOB).folderId));
    expect(bobs.some((f) => listed.includes(f.folderId))).toBe(false);
  });

  it('gives the FolderIds that pushes and SyncFolderItems use, so a client can watch and sync what it found', async (context) => {
    const { sim, receiver } = await setUp(context);
    const found = value((await findFolders(sim, { maxEntriesReturned: 1000 })).result).folders;
    const idOf = (displayName: string) => defined(found.find((f) => f.displayName === displayName)).folderId;
    const { subscriptionId } = value(
      await subscribe(sim, ADA, {
        folders: [{ folderId: idOf('Projects') }, { folderId: idOf('Calendar') }],
        eventTypes: ['CreatedEvent', 'MovedEvent'],
        statusFrequency: 1,
        url: receiver.url,
      }),
    );
    await waitFor(sim.clock, () => receiver.pushes.length >= 1, 'the first heartbeat', 60_000);
    const changes = [
      sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'projects' }),
      sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'calendar' }),
      sim.makeChange({ mailbox: ADA, kind: 'move', folder: 'inbox', toFolder: 'projects' }),
    ];
    const moved = defined(
      changes[2]?.events.find((e) => e.type === 'MovedEvent'),
      'the MovedEvent',
    );
    await pushedThrough(sim, subscriptionId, moved.watermark);
    expect(
      eventsOf(receiver, subscriptionId).map((e) => [e.type, e.itemId?.id, e.parentFolderId?.id]),
    ).toEqual([
      ['CreatedEvent', changes[0]?.itemId, idOf('Projects')],
      ['CreatedEvent', changes[1]?.itemId, idOf('Calendar')],
      ['MovedEvent', changes[2]?.itemId, idOf('Projects')],
    ]);
    const { result } = await syncAll(sim, { folderId: idOf('Projects') });
    const synced = result.changes.flatMap((c) => (c.kind === 'Create' ? [c.item.id] : []));
    expect(synced).toEqual(expect.arrayContaining([changes[0]?.itemId, changes[2]?.itemId]));
    expect(synced).toHaveLength(folder(sim, 'projects').items);
  });

  it('pages with MaxEntriesReturned and Offset: IndexedPagingOffset, IncludesLastItemInRange, TotalItemsInView', async (context) => {
    const { sim } = await setUp(context);
    const all = value((await findFolders(sim, { maxEntriesReturned: 1000 })).result).folders;
    const pages: Array<{ offset: number; count: number; last: boolean; next: number | null }> = [];
    const paged: FoundFolder[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const { reply, result } = await findFolders(sim, { maxEntriesReturned: 4, offset });
      const page = value(result);
      expect(reply.body).toContain('TotalItemsInView="9"');
      pages.push({
        offset,
        count: page.folders.length,
        last: page.includesLastItemInRange,
        next: page.nextOffset,
      });
      paged.push(...page.folders);
      offset = page.nextOffset;
    }
    expect(pages).toEqual([
      { offset: 0, count: 4, last: false, next: 4 },
      { offset: 4, count: 4, last: false, next: 8 },
      { offset: 8, count: 1, last: true, next: null },
    ]);
    expect(paged).toEqual(all);
    const exact = value((await findFolders(sim, { maxEntriesReturned: 9 })).result);
    expect(exact).toMatchObject({ includesLastItemInRange: true, nextOffset: null });
    const beyond = await findFolders(sim, { maxEntriesReturned: 4, offset: 20 });
    expect(value(beyond.result)).toEqual({ folders: [], includesLastItemInRange: true, nextOffset: null });
    expect(beyond.reply.body).toContain('IndexedPagingOffset="20"');
  });

  it('lists the descendants of the folder asked for: Shallow or Deep, under root, under a leaf', async (context) => {
    const { sim } = await setUp(context);
    const underRoot = value(
      (await findFolders(sim, { parentFolderId: { distinguishedFolderId: 'root' }, maxEntriesReturned: 100 }))
        .result,
    ).folders;
    expect(underRoot.map((f) => f.displayName)).toEqual([
      'Top of Information Store',
      ...LISTED.map(([, , , displayName]) => displayName),
    ]);
    expect(underRoot[0]).toMatchObject({
      folderId: folder(sim, 'msgfolderroot').folderId,
      folderClass: null,
    });
    const shallowXml = encodeFindFolder(
      { parentFolderId: { distinguishedFolderId: 'root' }, maxEntriesReturned: 100 },
      as(ADA),
    ).replace('Traversal="Deep"', 'Traversal="Shallow"');
    const shallow = value(decodeFindFolderResponse((await post(sim.ewsUrl, shallowXml)).body)).folders;
    expect(shallow.map((f) => f.folderId)).toEqual([folder(sim, 'msgfolderroot').folderId]);
    const leaf = await findFolders(sim, {
      parentFolderId: { folderId: folder(sim, 'projects').folderId },
      maxEntriesReturned: 10,
    });
    expect(value(leaf.result)).toEqual({ folders: [], includesLastItemInRange: true, nextOffset: null });
  });

  it('answers what Exchange answers for folders it cannot list and pages it cannot give', async (context) => {
    const { sim } = await setUp(context);
    const refused = async (request: FindFolderRequest) => failure((await findFolders(sim, request)).result);
    expect(
      await refused({ parentFolderId: { folderId: 'AAMkAGI2=' }, maxEntriesReturned: 10 }),
    ).toMatchObject({
      operation: 'FindFolder',
      responseCode: 'ErrorFolderNotFound',
      category: 'NotFound',
      via: 'responseMessage',
    });
    // Bob's folder, asked for as Ada: by id it is not in her mailbox; by his address, denied.
    expect(
      await refused({
        parentFolderId: { folderId: folder(sim, 'msgfolderroot', BOB).folderId },
        maxEntriesReturned: 10,
      }),
    ).toMatchObject({ responseCode: 'ErrorFolderNotFound' });
    expect(
      await refused({
        parentFolderId: { distinguishedFolderId: 'msgfolderroot', mailbox: BOB },
        maxEntriesReturned: 10,
      }),
    ).toMatchObject({ responseCode: 'ErrorAccessDenied', category: 'AccessDenied' });
    const edited = async (from: string, to: string) => {
      const xml = encodeFindFolder({ maxEntriesReturned: 10 }, as(ADA)).replace(from, to);
      const reply = await post(sim.ewsUrl, xml);
      return { status: reply.status, error: failure(decodeFindFolderResponse(reply.body)) };
    };
    expect(await edited('MaxEntriesReturned="10"', 'MaxEntriesReturned="0"')).toMatchObject({
      status: 200,
      error: { responseCode: 'ErrorInvalidPagingMaxRows' },
    });
    expect(await edited('Offset="0"', 'Offset="-1"')).toMatchObject({
      status: 200,
      error: { responseCode: 'ErrorInvalidIndexedPagingParameters' },
    });
    const schema = await edited('Traversal="Deep"', 'Traversal="Sideways"');
    expect(schema).toMatchObject({
      status: 500,
      error: { responseCode: 'ErrorSchemaValidation', via: 'soapFault' },
    });
    if (!(schema.error instanceof EwsResponseError)) throw schema.error;
    expect(schema.error.messageText).toMatch(/'Sideways' is invalid .*FolderQueryTraversalType/);
    // The paging view before the shape: out of schema order.
    const swapped = encodeFindFolder({ maxEntriesReturned: 10 }, as(ADA)).replace(
      /(<m:FolderShape>.*<\/m:FolderShape>)(<m:IndexedPageFolderView [^>]*\/>)/,
      '$2$1',
    );
    const outOfOrder = await post(sim.ewsUrl, swapped);
    expect(outOfOrder.status).toBe(500);
    expect(failure(decodeFindFolderResponse(outOfOrder.body))).toMatchObject({
      responseCode: 'ErrorSchemaValidation',
    });
    const end = await edited('BasePoint="Beginning"', 'BasePoint="End"');
    expect(end).toMatchObject({ status: 500, error: { responseCode: 'ErrorInvalidRequest' } });
    expect(end.error.message).toContain('does not implement FindFolder with BasePoint');
    sim.moveMailbox(ADA);
    expect(await refused({ maxEntriesReturned: 10 })).toMatchObject({
      responseCode: 'ErrorMailboxMoveInProgress',
      category: 'MailboxMoved',
    });
  });
});

describe('copies', () => {
  it('make a new item in the target folder and leave the original where it was', async (context) => {
    const { sim } = await setUp(context);
    const inboxId = folder(sim, 'inbox').folderId;
    const projectsId = folder(sim, 'projects').folderId;
    const before = { inbox: folder(sim, 'inbox').items, projects: folder(sim, 'projects').items };
    const original = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const copy = sim.makeChange({ mailbox: ADA, kind: 'copy', itemId: original.itemId });
    expect(copy).toEqual({
      seq: original.seq + 1,
      at: expect.any(Number),
      mailbox: ADA,
      kind: 'copy',
      element: 'Message',
      // A copy of the kind asked for, without toFolder, is filed in Projects.
      folder: 'projects',
      folderId: projectsId,
      itemId: expect.any(String),
      changeKey: expect.any(String),
      oldItemId: original.itemId,
      oldFolder: 'inbox',
      oldFolderId: inboxId,
      isRead: false,
      calendarActivity: null,
      occurrenceItemId: null,
      events: [
        {
          type: 'CopiedEvent',
          watermark: expect.any(String),
          itemId: copy.itemId,
          folderId: null,
          parentFolderId: projectsId,
          oldParentFolderId: inboxId,
        },
        {
          type: 'ModifiedEvent',
          watermark: expect.any(String),
          itemId: null,
          folderId: projectsId,
          parentFolderId: folder(sim, 'msgfolderroot').folderId,
          oldParentFolderId: null,
        },
      ],
    });
    expect(copy.itemId).not.toBe(original.itemId);
    expect(folder(sim, 'inbox').items).toBe(before.inbox + 1);
    expect(folder(sim, 'projects').items).toBe(before.projects + 1);
    const reply = await post(
      sim.ewsUrl,
      encodeGetItem(
        { itemShape: ENRICHMENT_SHAPE, itemIds: [{ id: original.itemId }, { id: copy.itemId }] },
        as(ADA),
      ),
    );
    const [a, b] = value(decodeGetItemResponse(reply.body)).map((r) => value(r));
    expect(a?.subject).toBe(b?.subject);
    const parents = [...reply.body.matchAll(/<t:ParentFolderId Id="([^"]+)"/g)].map((m) => m[1]);
    expect(parents).toEqual([inboxId, projectsId]);
    // And back: from Projects a copy goes to the inbox.
    expect(sim.makeChange({ mailbox: ADA, kind: 'copy', itemId: copy.itemId })).toMatchObject({
      folder: 'inbox',
      oldFolder: 'projects',
      oldItemId: copy.itemId,
    });
  });

  it('are pushed as Exchange pushes them: CopiedEvent with both ids and both folders, then the target folder ModifiedEvent with UnreadCount', async (context) => {
    const { sim, receiver } = await setUp(context);
    const request = {
      eventTypes: ['CopiedEvent', 'ModifiedEvent'],
      statusFrequency: 1,
      url: receiver.url,
    } as const;
    const all = value(
      await subscribe(sim, ADA, { ...request, folders: 'all', eventTypes: [...request.eventTypes] }),
    );
    const source = value(
      await subscribe(sim, ADA, {
        ...request,
        folders: [{ distinguishedFolderId: 'inbox' }],
        eventTypes: [...request.eventTypes],
      }),
    );
    await waitFor(sim.clock, () => receiver.pushes.length >= 2, 'the first heartbeats', 60_000);
    const copy = sim.makeChange({ mailbox: ADA, kind: 'copy', folder: 'inbox', toFolder: 'junkemail' });
    await pushedThrough(sim, all.subscriptionId, lastWatermark([copy]));
    await pushedThrough(sim, source.subscriptionId, defined(copy.events[0]?.watermark));
    const junk = folder(sim, 'junkemail');
    const id = (value: string) => ({ id: value, changeKey: expect.any(String) });
    expect(eventsOf(receiver, all.subscriptionId)).toEqual([
      {
        type: 'CopiedEvent',
        watermark: copy.events[0]?.watermark,
        timeStamp: expect.any(String),
        itemId: { id: copy.itemId, changeKey: copy.changeKey },
        folderId: null,
        parentFolderId: id(junk.folderId),
        oldItemId: { id: copy.oldItemId, changeKey: null },
        oldFolderId: null,
        oldParentFolderId: id(folder(sim, 'inbox').folderId),
        unreadCount: null,
      },
      {
        type: 'ModifiedEvent',
        watermark: copy.events[1]?.watermark,
        timeStamp: expect.any(String),
        itemId: null,
        folderId: id(junk.folderId),
        parentFolderId: id(folder(sim, 'msgfolderroot').folderId),
        oldItemId: null,
        oldFolderId: null,
        oldParentFolderId: null,
        unreadCount: junk.unread,
      },
    ]);
    expect(junk.unread).toBeGreaterThan(0);
    // The source folder's subscriber hears of the copy; its own folder did not change.
    expect(eventsOf(receiver, source.subscriptionId).map((e) => [e.type, e.itemId?.id])).toEqual([
      ['CopiedEvent', copy.itemId],
    ]);
  });

  it('show in SyncFolderItems of the target folder as a Create, and not at all in the source', async (context) => {
    const { sim } = await setUp(context);
    const inbox = await syncAll(sim, { distinguishedFolderId: 'inbox' });
    const projects = await syncAll(sim, { folderId: folder(sim, 'projects').folderId });
    const copy = sim.makeChange({ mailbox: ADA, kind: 'copy', folder: 'inbox' });
    expect(
      (await syncAll(sim, { distinguishedFolderId: 'inbox' }, inbox.result.syncState)).result.changes,
    ).toEqual([]);
    const target = await syncAll(
      sim,
      { folderId: folder(sim, 'projects').folderId },
      projects.result.syncState,
    );
    expect(target.result.changes).toEqual([
      { kind: 'Create', item: expect.objectContaining({ kind: 'Message', id: copy.itemId, isRead: false }) },
    ]);
  });

  it('are refused when they cannot happen, saying what would work', async (context) => {
    const { sim } = await setUp(context);
    const meeting = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'calendar' });
    const message = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const refusals: Array<[Parameters<Simulator['makeChange']>[0], RegExp]> = [
      [
        { mailbox: ADA, kind: 'copy', itemId: meeting.itemId },
        /is a calendar item; the simulator copies messages only/,
      ],
      [{ mailbox: ADA, kind: 'copy', itemId: message.itemId, toFolder: 'inbox' }, /is in inbox already/],
      [
        { mailbox: ADA, kind: 'copy', itemId: message.itemId, toFolder: 'calendar' },
        /is a message; it cannot be copied to calendar; use one of drafts, sentitems, deleteditems, junkemail, projects/,
      ],
      [
        { mailbox: ADA, kind: 'move', itemId: meeting.itemId, toFolder: 'projects' },
        /is a calendar item; it cannot be moved to projects; use one of deleteditems/,
      ],
      [
        { mailbox: ADA, kind: 'modify', toFolder: 'projects' },
        /give it with kind "move" or "copy", not "modify"/,
      ],
      // Without a kind, refused every time: not only when the random kind drawn is no move or copy.
      [
        { mailbox: ADA, toFolder: 'projects' },
        /toFolder "projects" is where a move or copy goes; give it with kind/,
      ],
      [
        { mailbox: ADA, kind: 'copy', folder: 'junkemail' },
        /has no message in junkemail to copy; create one first/,
      ],
      [
        { mailbox: ADA, kind: 'copy', folder: 'calendar' },
        /the calendar holds calendar items, and the simulator copies messages only/,
      ],
    ];
    for (const [request, message] of refusals) {
      expect(() => sim.makeChange(request), JSON.stringify(request)).toThrow(SimulatorInputError);
      expect(() => sim.makeChange(request), JSON.stringify(request)).toThrow(message);
    }
    const post = (body: unknown) =>
      fetch(`${sim.controlUrl}/changes`, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({
        status: r.status,
        json: await r.json(),
      }));
    expect(await post({ mailbox: ADA, kind: 'copy', toFolder: 'Projects' })).toEqual({
      status: 400,
      json: {
        error:
          'toFolder "Projects" cannot hold simulated items; use one of inbox, calendar, drafts, sentitems, deleteditems, junkemail, projects (folder names, not FolderIds)',
      },
    });
    expect(await post({ mailbox: ADA, kind: 'copy', itemId: meeting.itemId })).toMatchObject({ status: 400 });
    const made = await post({ mailbox: ADA, kind: 'copy', itemId: message.itemId, toFolder: 'sentitems' });
    expect(made).toMatchObject({
      status: 201,
      json: { kind: 'copy', folder: 'sentitems', oldItemId: message.itemId },
    });
  });
});
