/**
 * What every SyncStates table must do: the conditional writes the checkpoint relies on (a pending
 * SyncState only next to, and only replacing, the one it was taken from), the checkpoint item,
 * the pushed-item list in the same partition, and removal of everything a mailbox has there; the
 * same for Graph's delta links (renewer/graph-checkpoint.ts). Run against the fakes and
 * DynamoSyncStateStore + DynamoPushedItemList + DynamoGraphDeltaStore on the emulator.
 */
import { describe, expect, it } from 'vitest';
import type { SyncProgress } from '../../functions/admin/manage.ts';
import { mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import type { FolderRef } from '../../functions/ews/request.ts';
import type { PushedItemListWriter } from '../../functions/receiver/receive.ts';
import type { CheckpointStore } from '../../functions/renewer/checkpoint.ts';
import type { GraphDeltaStore } from '../../functions/renewer/graph-lifecycle.ts';
import type { PushedItemList, PushedItemWriter } from '../../functions/renewer/reconcile.ts';

export interface SyncStateTable {
  readonly states: CheckpointStore & SyncProgress;
  readonly items: PushedItemList & PushedItemListWriter & PushedItemWriter;
  /** Graph's delta links, their pending links and the Graph checkpoint item. */
  readonly deltas: GraphDeltaStore;
}

const inbox: FolderRef = { distinguishedFolderId: 'inbox' };
const byId: FolderRef = { folderId: 'AAMkAGI2=' };
let counter = 0;
const newMailbox = () =>
  mailboxKeyOf(`sync${++counter}-${Math.random().toString(36).slice(2, 8)}@contoso.test`);
const stored = (syncState: string, folder: FolderRef = inbox) => ({
  folder,
  syncState,
  complete: true,
  itemsSeen: 4,
  updatedAt: 1000,
});

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export function syncStateTableContract(table: () => SyncStateTable): void {
  describe('folder SyncStates and checkpoints', () => {
    it('keeps a pending SyncState next to the one it was taken from, and promotes it only over that one', async () => {
      const { states } = table();
      const mailboxKey = newMailbox();
      expect(await states.get(mailboxKey, inbox)).toBeUndefined();
      expect(await states.putPending(mailboxKey, inbox, { syncState: 'S2', basedOn: 'S1' })).toBe(false);
      await states.put(mailboxKey, stored('S1'));
      expect(await states.putPending(mailboxKey, inbox, { syncState: 'S2', basedOn: 'S0' })).toBe(false);
      expect(await states.putPending(mailboxKey, inbox, { syncState: 'S2', basedOn: 'S1' })).toBe(true);
      expect(await states.get(mailboxKey, inbox)).toEqual({
        ...stored('S1'),
        pending: { syncState: 'S2', basedOn: 'S1' },
      });
      expect(await states.promote(mailboxKey, inbox, { syncState: 'S9', basedOn: 'S1' }, 2000)).toBe(false);
      expect(await states.promote(mailboxKey, inbox, { syncState: 'S2', basedOn: 'S1' }, 2000)).toBe(true);
      expect(await states.get(mailboxKey, inbox)).toEqual({ ...stored('S2'), updatedAt: 2000 });
    });

    it('lets a state stored by a catch-up win over a pending one taken before it', async () => {
      const { states } = table();
      const mailboxKey = newMailbox();
      await states.put(mailboxKey, stored('S1', byId));
      await states.putPending(mailboxKey, byId, { syncState: 'S2', basedOn: 'S1' });
      await states.put(mailboxKey, stored('C1', byId));
      expect((await states.get(mailboxKey, byId))?.pending).toBeUndefined();
      expect(await states.promote(mailboxKey, byId, { syncState: 'S2', basedOn: 'S1' }, 2000)).toBe(false);
      expect((await states.get(mailboxKey, byId))?.syncState).toBe('C1');
    });

    it('takes a folder with no state from scratch: pending only while it has none, current once promoted', async () => {
      const { states } = table();
      const mailboxKey = newMailbox();
      const pending = { syncState: 'N1', basedOn: null };
      expect(await states.putPending(mailboxKey, byId, pending)).toBe(true);
      expect(await states.get(mailboxKey, byId)).toEqual({
        folder: byId,
        complete: false,
        itemsSeen: 0,
        updatedAt: 0,
        pending,
      });
      expect(await states.promote(mailboxKey, byId, pending, 3000)).toBe(true);
      expect(await states.get(mailboxKey, byId)).toEqual({
        folder: byId,
        syncState: 'N1',
        complete: true,
        itemsSeen: 0,
        updatedAt: 3000,
      });
      expect(await states.putPending(mailboxKey, byId, { syncState: 'N2', basedOn: null })).toBe(false);
      expect(await states.promote(mailboxKey, byId, { syncState: 'N1', basedOn: null }, 4000)).toBe(false);
    });

    it('stores one checkpoint per mailbox, and a removed mailbox leaves nothing behind', async () => {
      const { states, items } = table();
      const mailboxKey = newMailbox();
      expect(await states.getCheckpoint(mailboxKey)).toBeUndefined();
      await states.putCheckpoint(mailboxKey, { generation: 3, provenByDrainedAfter: 7000, takenAt: 5000 });
      expect(await states.getCheckpoint(mailboxKey)).toEqual({
        generation: 3,
        provenByDrainedAfter: 7000,
        takenAt: 5000,
      });
      await states.put(mailboxKey, stored('S1'));
      await states.put(mailboxKey, stored('T1', byId));
      await items.record(mailboxKey, { noted: [{ itemId: 'A', folderId: null }], forgotten: [] }, 10);
      // Folder states are listed without the checkpoint item or the pushed-item list.
      expect((await states.list(mailboxKey)).map((s) => s.syncState).sort()).toEqual(['S1', 'T1']);
      await states.deleteCheckpoint(mailboxKey);
      expect(await states.getCheckpoint(mailboxKey)).toBeUndefined();
      await states.putCheckpoint(mailboxKey, { generation: 4, provenByDrainedAfter: 9000, takenAt: 6000 });
      await states.clear(mailboxKey);
      expect(await states.getCheckpoint(mailboxKey)).toBeUndefined();
      expect(await states.list(mailboxKey)).toEqual([]);
      expect(await all(items.list(mailboxKey))).toEqual([]);
    });
  });

  describe('Graph delta links and Graph checkpoints', () => {
    const scope = 'messages/AAMkF1=';
    const link = (deltaLink: string, extra: object = {}) => ({
      scope,
      deltaLink,
      itemsSeen: 3,
      updatedAt: 1000,
      ...extra,
    });

    it('keeps a pending link next to the one it was taken from, promotes it only over that one, and a stored link drops it', async () => {
      const { deltas } = table();
      const mailboxKey = newMailbox();
      const pending = { deltaLink: 'L2', itemsSeen: 1, basedOn: 'L1' };
      expect(await deltas.putPending(mailboxKey, scope, pending)).toBe(false);
      await deltas.put(mailboxKey, link('L1'));
      expect(await deltas.putPending(mailboxKey, scope, { ...pending, basedOn: 'L0' })).toBe(false);
      expect(await deltas.putPending(mailboxKey, scope, pending)).toBe(true);
      expect(await deltas.get(mailboxKey, scope)).toEqual(link('L1'));
      expect(await deltas.getPending(mailboxKey, scope)).toEqual(pending);
      expect(await deltas.promote(mailboxKey, scope, { ...pending, deltaLink: 'L9' }, 2000)).toBe(false);
      expect(await deltas.promote(mailboxKey, scope, pending, 2000)).toBe(true);
      expect(await deltas.get(mailboxKey, scope)).toEqual(link('L2', { itemsSeen: 1, updatedAt: 2000 }));
      expect(await deltas.getPending(mailboxKey, scope)).toBeUndefined();

      // A catch-up's link (a Put) replaces the item: the pending link taken before it is gone.
      expect(await deltas.putPending(mailboxKey, scope, { ...pending, deltaLink: 'L3', basedOn: 'L2' })).toBe(
        true,
      );
      await deltas.put(mailboxKey, link('C1'));
      expect(await deltas.getPending(mailboxKey, scope)).toBeUndefined();
      expect(
        await deltas.promote(mailboxKey, scope, { ...pending, deltaLink: 'L3', basedOn: 'L2' }, 3000),
      ).toBe(false);
      expect((await deltas.get(mailboxKey, scope))?.deltaLink).toBe('C1');
    });

    it('takes a scope with no link in full: pending only while it has none, current (with its window) once promoted', async () => {
      const { deltas } = table();
      const mailboxKey = newMailbox();
      const calendar = 'events/calendarView';
      const window = { start: 100, end: 900 };
      const pending = { deltaLink: 'V1', itemsSeen: 7, window, basedOn: null };
      expect(await deltas.putPending(mailboxKey, calendar, pending)).toBe(true);
      // Only a pending link: no link yet, for a catch-up.
      expect(await deltas.get(mailboxKey, calendar)).toBeUndefined();
      expect(await deltas.getPending(mailboxKey, calendar)).toEqual(pending);
      expect(await deltas.promote(mailboxKey, calendar, pending, 5000)).toBe(true);
      expect(await deltas.get(mailboxKey, calendar)).toEqual({
        scope: calendar,
        deltaLink: 'V1',
        itemsSeen: 7,
        window,
        updatedAt: 5000,
      });
      // Now it has one: a pending link "from none" is refused, and so is its promotion.
      expect(await deltas.putPending(mailboxKey, calendar, { ...pending, deltaLink: 'V2' })).toBe(false);
      expect(await deltas.promote(mailboxKey, calendar, { ...pending, deltaLink: 'V2' }, 6000)).toBe(false);
    });

    it('stores one Graph checkpoint per mailbox', async () => {
      const { deltas } = table();
      const mailboxKey = newMailbox();
      const other = newMailbox();
      expect(await deltas.getCheckpoint(mailboxKey)).toBeUndefined();
      await deltas.putCheckpoint(mailboxKey, { generation: 3, takenAt: 5000, provenAfter: 9000 });
      await deltas.putCheckpoint(other, { generation: 1, takenAt: 1, provenAfter: 2 });
      expect(await deltas.getCheckpoint(mailboxKey)).toEqual({
        generation: 3,
        takenAt: 5000,
        provenAfter: 9000,
      });
      await deltas.putCheckpoint(mailboxKey, { generation: 4, takenAt: 6000, provenAfter: 9500 });
      expect(await deltas.getCheckpoint(mailboxKey)).toEqual({
        generation: 4,
        takenAt: 6000,
        provenAfter: 9500,
      });
      await deltas.deleteCheckpoint(mailboxKey);
      expect(await deltas.getCheckpoint(mailboxKey)).toBeUndefined();
      expect(await deltas.getCheckpoint(other)).toEqual({ generation: 1, takenAt: 1, provenAfter: 2 });
    });
  });

  describe('the pushed-item list', () => {
    it("writes entries as given (a Graph checkpoint's viewedAt marker); the receiver's next note of the item drops the marker", async () => {
      const { items } = table();
      const mailboxKey = newMailbox();
      await items.write(mailboxKey, [
        { itemId: 'E1', folderId: 'events', notedAt: 10, viewedAt: 50 },
        { itemId: 'E2', folderId: 'events', notedAt: 20 },
      ]);
      await items.write(mailboxKey, []);
      expect(await all(items.list(mailboxKey))).toEqual([
        { itemId: 'E1', folderId: 'events', notedAt: 10, viewedAt: 50 },
        { itemId: 'E2', folderId: 'events', notedAt: 20 },
      ]);
      await items.record(mailboxKey, { noted: [{ itemId: 'E1', folderId: 'events' }], forgotten: [] }, 60);
      expect((await all(items.list(mailboxKey)))[0]).toEqual({
        itemId: 'E1',
        folderId: 'events',
        notedAt: 60,
      });
    });

    it('notes and forgets items per mailbox, lists them in item-id order, and forgets what it is told', async () => {
      const { items } = table();
      const mailboxKey = newMailbox();
      const other = newMailbox();
      await items.record(
        mailboxKey,
        {
          noted: [
            { itemId: 'B', folderId: 'F1' },
            { itemId: 'A', folderId: null },
            { itemId: 'C', folderId: null },
          ],
          forgotten: [],
        },
        10,
      );
      await items.record(other, { noted: [{ itemId: 'Z', folderId: null }], forgotten: [] }, 11);
      await items.record(
        mailboxKey,
        { noted: [{ itemId: 'D', folderId: 'F2' }], forgotten: ['C', 'never-noted'] },
        20,
      );
      expect(await all(items.list(mailboxKey))).toEqual([
        { itemId: 'A', folderId: null, notedAt: 10 },
        { itemId: 'B', folderId: 'F1', notedAt: 10 },
        { itemId: 'D', folderId: 'F2', notedAt: 20 },
      ]);
      // Noting an item again moves its time: it was pushed again.
      await items.record(mailboxKey, { noted: [{ itemId: 'A', folderId: 'F3' }], forgotten: [] }, 30);
      await items.forget(mailboxKey, ['B', 'D']);
      await items.forget(mailboxKey, []);
      expect(await all(items.list(mailboxKey))).toEqual([{ itemId: 'A', folderId: 'F3', notedAt: 30 }]);
      expect((await all(items.list(other))).map((i) => i.itemId)).toEqual(['Z']);
    });

    it('writes more than one batch (25 requests) at a time', async () => {
      const { items } = table();
      const mailboxKey = newMailbox();
      const noted = Array.from({ length: 60 }, (_, i) => ({
        itemId: `I${String(i).padStart(3, '0')}`,
        folderId: null,
      }));
      await items.record(mailboxKey, { noted, forgotten: [] }, 1);
      expect((await all(items.list(mailboxKey))).map((i) => i.itemId)).toEqual(noted.map((i) => i.itemId));
      await items.forget(
        mailboxKey,
        noted.map((i) => i.itemId),
      );
      expect(await all(items.list(mailboxKey))).toEqual([]);
    });
  });
}
