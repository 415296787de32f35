/**
 * What every SyncStates table must do: the conditional writes the checkpoint relies on (a pending
 * SyncState only next to, and only replacing, the one it was taken from), the checkpoint item,
 * the pushed-item list in the same partition, and removal of everything a mailbox has there.
 * Run against the fakes and DynamoSyncStateStore + DynamoPushedItemList on the emulator.
 */
import { describe, expect, it } from 'vitest';
import type { SyncProgress } from '../../functions/admin/manage.ts';
import { mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import type { FolderRef } from '../../functions/ews/request.ts';
import type { PushedItemListWriter } from '../../functions/receiver/receive.ts';
import type { CheckpointStore } from '../../functions/renewer/checkpoint.ts';
import type { PushedItemList } from '../../functions/renewer/reconcile.ts';

export interface SyncStateTable {
  readonly states: CheckpointStore & SyncProgress;
  readonly items: PushedItemList & PushedItemListWriter;
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

  describe('the pushed-item list', () => {
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
