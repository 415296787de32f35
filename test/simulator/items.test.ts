/**
 * GetItem and SyncFolderItems, spoken to with the project's own client encoders and read back
 * with its decoders: every property the decoders define is there, errors come per id, and
 * SyncFolderItems pages reproduce a folder exactly as the ground truth says it is.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import { EwsResponseError } from '../../functions/ews/errors.ts';
import type { EwsItem } from '../../functions/ews/items.ts';
import {
  decodeGetItemResponse,
  decodeSyncFolderItemsResponse,
  ENRICHMENT_SHAPE,
  encodeGetItem,
  encodeSyncFolderItems,
  type SyncFolderItemsRequest,
} from '../../functions/ews/items.ts';
import type { FolderRef } from '../../functions/ews/request.ts';
import { CHANGE_KINDS } from '../../simulator/change-planner.ts';
import type { ItemFolder } from '../../simulator/folders.ts';
import { createRandom } from '../../simulator/random.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { as, defined, failure, post, value } from './support.ts';

const ADA = 'ada@contoso.test';

async function setUp(context: TestContext, initialItems = 3): Promise<Simulator> {
  const sim = await startSimulator({
    clock: createScaledClock({ timeScale: 60 }),
    mailboxes: [ADA, 'bob@contoso.test'],
    initialItems,
  });
  context.onTestFinished(() => sim.stop());
  return sim;
}

async function getItems(sim: Simulator, ids: string[], shape = ENRICHMENT_SHAPE) {
  const reply = await post(
    sim.ewsUrl,
    encodeGetItem({ itemShape: shape, itemIds: ids.map((id) => ({ id })) }, as(ADA)),
  );
  return value(decodeGetItemResponse(reply.body));
}

async function sync(sim: Simulator, request: Omit<SyncFolderItemsRequest, 'itemShape'>) {
  const reply = await post(
    sim.ewsUrl,
    encodeSyncFolderItems({ itemShape: ENRICHMENT_SHAPE, ...request }, as(ADA)),
  );
  return decodeSyncFolderItemsResponse(reply.body);
}

/**
 * How a client names a folder: by its distinguished name, or (the custom folder) by the FolderId
 * it learns from the simulator's mailbox list.
 */
function folderRef(sim: Simulator, folder: ItemFolder): FolderRef {
  const described = defined(sim.mailboxes().find((m) => m.address === ADA)?.folders[folder], folder);
  return described.distinguishedFolderId === null
    ? { folderId: described.folderId }
    : { distinguishedFolderId: described.distinguishedFolderId };
}

/**
 * What a folder holds according to the ground truth: item id → read flag (null for calendar
 * items). A move takes the old id out of the old folder; a copy leaves the original where it is.
 */
function truthOf(sim: Simulator, folder: ItemFolder): Map<string, boolean | null> {
  const items = new Map<string, boolean | null>();
  for (const change of sim.changes({ mailbox: ADA })) {
    if (change.kind === 'move' && change.oldFolder === folder && change.oldItemId !== null)
      items.delete(change.oldItemId);
    if (change.folder !== folder) continue;
    if (change.kind === 'delete') items.delete(change.itemId);
    else items.set(change.itemId, change.isRead);
  }
  return items;
}

/** Syncs a folder to the end, page by page, applying each change to `view` as a client would. */
async function syncToEnd(
  sim: Simulator,
  folder: ItemFolder,
  view: Map<string, boolean | null>,
  syncState: string | undefined,
  max: number,
): Promise<{ syncState: string; kinds: string[] }> {
  const kinds: string[] = [];
  let state = syncState;
  for (let page = 0; page < 1000; page++) {
    const result = value(
      await sync(sim, {
        syncFolderId: folderRef(sim, folder),
        ...(state === undefined ? {} : { syncState: state }),
        maxChangesReturned: max,
      }),
    );
    expect(result.changes.length).toBeLessThanOrEqual(max);
    for (const change of result.changes) {
      kinds.push(change.kind);
      switch (change.kind) {
        case 'Create':
        case 'Update':
          view.set(change.item.id, change.item.kind === 'Message' ? change.item.isRead : null);
          break;
        case 'ReadFlagChange':
          expect(view.has(change.itemId)).toBe(true);
          view.set(change.itemId, change.isRead);
          break;
        case 'Delete':
          view.delete(change.itemId);
          break;
      }
    }
    state = result.syncState;
    if (result.includesLastItemInRange) return { syncState: state, kinds };
  }
  throw new Error('SyncFolderItems never reached IncludesLastItemInRange');
}

describe('GetItem', () => {
  it('returns every property the decoders define, for messages and calendar items, with the current ChangeKey', async (context) => {
    const sim = await setUp(context, 0);
    const message = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const read = sim.makeChange({ mailbox: ADA, kind: 'readFlag', folder: 'inbox' });
    const meeting = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'calendar' });
    const [m, c] = await getItems(sim, [message.itemId, meeting.itemId]);
    const messageItem: EwsItem = value(defined(m));
    expect(messageItem).toMatchObject({
      kind: 'Message',
      element: 'Message',
      id: message.itemId,
      changeKey: read.changeKey,
      itemClass: 'IPM.Note',
      isRead: true,
    });
    if (messageItem.kind !== 'Message') throw new Error('expected a message');
    expect(messageItem.subject).toMatch(/#\d+$/);
    expect(messageItem.from?.emailAddress).toMatch(/@/);
    expect(messageItem.received).toBe(new Date(message.at).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    expect(messageItem.lastModified).toBe(new Date(read.at).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const calendarItem = value(defined(c));
    if (calendarItem.kind !== 'CalendarItem') throw new Error('expected a calendar item');
    expect(calendarItem).toMatchObject({
      id: meeting.itemId,
      changeKey: meeting.changeKey,
      itemClass: 'IPM.Appointment',
    });
    for (const field of ['subject', 'start', 'end', 'location', 'lastModified'] as const) {
      expect(calendarItem[field], field).toBeTruthy();
    }
    expect(Date.parse(calendarItem.end ?? '')).toBeGreaterThan(Date.parse(calendarItem.start ?? ''));
    expect(calendarItem.organizer?.emailAddress).toMatch(/@/);
  });

  it('returns only the ids for IdOnly, and answers each id on its own: moved, deleted, malformed, another mailbox', async (context) => {
    const sim = await setUp(context, 0);
    const kept = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const moved = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const move = sim.makeChange({ mailbox: ADA, kind: 'move', folder: 'inbox' });
    const gone = move.oldItemId === moved.itemId ? kept : moved;
    const deleted = sim.makeChange({ mailbox: ADA, kind: 'delete', folder: 'inbox' });
    expect(deleted.itemId).toBe(gone.itemId);
    const bobs = sim.makeChange({ mailbox: 'bob@contoso.test', kind: 'create', folder: 'inbox' });
    const [idOnly] = await getItems(sim, [move.itemId], { baseShape: 'IdOnly' });
    expect(value(defined(idOnly))).toMatchObject({ id: move.itemId, subject: null });
    const results = await getItems(sim, [
      move.oldItemId ?? '',
      deleted.itemId,
      'not an id!',
      bobs.itemId,
      move.itemId,
    ]);
    expect(
      results.map((r) =>
        r.ok ? 'ok' : r.error instanceof EwsResponseError ? r.error.responseCode : r.error.message,
      ),
    ).toEqual([
      'ErrorItemNotFound',
      'ErrorItemNotFound',
      'ErrorInvalidIdMalformed',
      'ErrorAccessDenied',
      'ok',
    ]);
  });
});

describe('SyncFolderItems', () => {
  it('pages through a folder from scratch, then reports creates, updates, read flags, moves and deletes', async (context) => {
    const sim = await setUp(context, 0);
    for (let i = 0; i < 7; i++) sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const view = new Map<string, boolean | null>();
    const first = await syncToEnd(sim, 'inbox', view, undefined, 3);
    expect(first.kinds).toEqual(Array(7).fill('Create'));
    expect(view).toEqual(truthOf(sim, 'inbox'));

    const created = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const modified = sim.makeChange({ mailbox: ADA, kind: 'modify', folder: 'inbox' });
    let read = sim.makeChange({ mailbox: ADA, kind: 'readFlag', folder: 'inbox' });
    while (read.itemId === modified.itemId || read.itemId === created.itemId) {
      read = sim.makeChange({ mailbox: ADA, kind: 'readFlag', folder: 'inbox' });
    }
    const second = await syncToEnd(sim, 'inbox', view, first.syncState, 512);
    expect(view).toEqual(truthOf(sim, 'inbox'));
    expect(second.kinds).toContain('Create');
    expect(second.kinds).toContain('ReadFlagChange');
    expect(second.kinds).toContain('Update');

    sim.makeChange({ mailbox: ADA, kind: 'move', folder: 'inbox' });
    sim.makeChange({ mailbox: ADA, kind: 'delete', folder: 'inbox' });
    sim.makeChange({ mailbox: ADA, kind: 'move', folder: 'deleteditems' });
    const third = await syncToEnd(sim, 'inbox', view, second.syncState, 512);
    expect(view).toEqual(truthOf(sim, 'inbox'));
    expect(third.kinds.filter((k) => k === 'Delete')).toHaveLength(2);
    expect(third.kinds.filter((k) => k === 'Create')).toHaveLength(1);
  });

  it('reproduces every folder exactly, whatever the changes and the page size', async (context) => {
    const sim = await setUp(context, 5);
    const random = createRandom(7, 'test');
    // Random changes file items into the custom folder too (creates, moves and copies).
    const folders: ItemFolder[] = ['inbox', 'calendar', 'deleteditems', 'projects'];
    const views = new Map(folders.map((f) => [f, new Map<string, boolean | null>()]));
    const states = new Map<ItemFolder, string | undefined>();
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 25; i++) sim.makeChange({ mailbox: ADA }); // random kinds and folders
      for (const folder of folders) {
        const view = views.get(folder) ?? new Map();
        const done = await syncToEnd(sim, folder, view, states.get(folder), 1 + random.int(6));
        states.set(folder, done.syncState);
        expect(view, `${folder} after round ${round}`).toEqual(truthOf(sim, folder));
      }
    }
    // The random changes were of every kind, so every way into and out of a folder was synced.
    expect(new Set(sim.changes({ mailbox: ADA }).map((c) => c.kind))).toEqual(new Set(CHANGE_KINDS));
  });

  it('refuses a SyncState that is unknown or belongs to another folder, and an unknown folder id', async (context) => {
    const sim = await setUp(context);
    const inbox = value(
      await sync(sim, { syncFolderId: { distinguishedFolderId: 'inbox' }, maxChangesReturned: 10 }),
    );
    expect(
      failure(
        await sync(sim, {
          syncFolderId: { distinguishedFolderId: 'calendar' },
          syncState: inbox.syncState,
          maxChangesReturned: 10,
        }),
      ),
    ).toMatchObject({ responseCode: 'ErrorInvalidSyncStateData', category: 'InvalidSyncState' });
    expect(
      failure(
        await sync(sim, {
          syncFolderId: { distinguishedFolderId: 'inbox' },
          syncState: 'H4sIAAAA',
          maxChangesReturned: 10,
        }),
      ),
    ).toMatchObject({ responseCode: 'ErrorInvalidSyncStateData' });
    expect(
      failure(await sync(sim, { syncFolderId: { folderId: 'AAMkAGI2=' }, maxChangesReturned: 10 })),
    ).toMatchObject({
      responseCode: 'ErrorSyncFolderNotFound',
      category: 'NotFound',
    });
  });
});
