/**
 * The SyncStates table adapter against the DynamoDB emulator: the conditional writes the
 * checkpoint relies on (a pending SyncState only next to, and only replacing, the one it was
 * taken from), the checkpoint item, and removal of everything a mailbox has there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoPushedItemList } from '../../functions/adapters/pushed-item-list.ts';
import { documentClient } from '../../functions/adapters/subscription-table.ts';
import { DynamoSyncStateStore } from '../../functions/adapters/sync-state-table.ts';
import { mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import type { FolderRef } from '../../functions/ews/request.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

let aws: LocalAws;
let states: DynamoSyncStateStore;
let items: DynamoPushedItemList;
const inbox: FolderRef = { distinguishedFolderId: 'inbox' };
const byId: FolderRef = { folderId: 'AAMkAGI2=' };

beforeAll(async () => {
  aws = await startLocalAws();
  const table = aws.environment('renewer').SYNC_STATE_TABLE_NAME ?? '';
  states = new DynamoSyncStateStore(documentClient(aws.emulators.dynamodb), table);
  items = new DynamoPushedItemList(documentClient(aws.emulators.dynamodb), table);
});

afterAll(async () => {
  await aws?.stop();
});

let counter = 0;
const newMailbox = () => mailboxKeyOf(`sync${++counter}@contoso.test`);
const stored = (syncState: string, folder: FolderRef = inbox) => ({
  folder,
  syncState,
  complete: true,
  itemsSeen: 4,
  updatedAt: 1000,
});

describe('SyncStates table', () => {
  it('keeps a pending SyncState next to the one it was taken from, and promotes it only over that one', async () => {
    const mailboxKey = newMailbox();
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
    const mailboxKey = newMailbox();
    await states.put(mailboxKey, stored('S1', byId));
    await states.putPending(mailboxKey, byId, { syncState: 'S2', basedOn: 'S1' });
    await states.put(mailboxKey, stored('C1', byId));
    expect((await states.get(mailboxKey, byId))?.pending).toBeUndefined();
    expect(await states.promote(mailboxKey, byId, { syncState: 'S2', basedOn: 'S1' }, 2000)).toBe(false);
    expect((await states.get(mailboxKey, byId))?.syncState).toBe('C1');
  });

  it('takes a folder with no state from scratch: pending only while it has none, current once promoted', async () => {
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
    // Once the folder has a state, one taken from scratch neither waits next to it nor replaces it.
    expect(await states.putPending(mailboxKey, byId, { syncState: 'N2', basedOn: null })).toBe(false);
    expect(await states.promote(mailboxKey, byId, { syncState: 'N1', basedOn: null }, 4000)).toBe(false);
  });

  it('stores one checkpoint per mailbox, and a removed mailbox leaves nothing behind', async () => {
    const mailboxKey = newMailbox();
    expect(await states.getCheckpoint(mailboxKey)).toBeUndefined();
    await states.putCheckpoint(mailboxKey, { generation: 3, drainedPushes: 7, takenAt: 5000 });
    expect(await states.getCheckpoint(mailboxKey)).toEqual({
      generation: 3,
      drainedPushes: 7,
      takenAt: 5000,
    });
    // Folder states are listed without the checkpoint item or the pushed-item list.
    await states.put(mailboxKey, stored('S1'));
    await items.record(mailboxKey, { noted: [{ itemId: 'A', folderId: null }], forgotten: [] }, 10);
    expect((await states.list(mailboxKey)).map((s) => s.syncState)).toEqual(['S1']);
    await states.clear(mailboxKey);
    expect(await states.getCheckpoint(mailboxKey)).toBeUndefined();
    expect(await states.list(mailboxKey)).toEqual([]);
    const left = [];
    for await (const item of items.list(mailboxKey)) left.push(item);
    expect(left).toEqual([]);
  });
});
