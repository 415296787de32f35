/**
 * SyncFolderItems is state-based, as Exchange's is: a sync reports how the folder is now compared
 * with what the SyncState knows, whatever the page size, and never replays history. Tested on the
 * mailbox store itself (no HTTP, a clock that stands still).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Result } from '../../functions/core/result.ts';
import { CHANGE_KINDS, type ChangeKind } from '../../simulator/change-planner.ts';
import { SimulatorInputError } from '../../simulator/input-error.ts';
import { MailboxStore } from '../../simulator/mailbox-store.ts';
import { createIdMinter, createRandom } from '../../simulator/random.ts';
import type { SyncChange, SyncResult } from '../../simulator/sync.ts';
import { manualClock } from '../support/manual-clock.ts';

const ADA = 'ada@contoso.test';

function emptyStore(seed = 1): MailboxStore {
  return new MailboxStore({
    clock: manualClock(),
    addresses: [ADA],
    initialItems: 0,
    random: createRandom(seed, 'mailboxes'),
    ids: createIdMinter(createRandom(seed, 'ids')),
  });
}

function page(result: Result<SyncResult, 'invalidSyncState'>): SyncResult {
  if (!result.ok) throw new Error(`sync refused: ${result.error}`);
  return result.value;
}

/** Every page from `syncState` to the end, `max` changes a page. */
function syncAll(store: MailboxStore, max: number, syncState?: string) {
  const changes: SyncChange[] = [];
  let state = syncState;
  let pages = 0;
  for (;;) {
    const next = page(store.syncFolderItems(ADA, 'inbox', state, max, new Set()));
    changes.push(...next.changes);
    state = next.syncState;
    pages++;
    if (next.includesLastItemInRange) return { changes, syncState: state, pages };
    if (pages > 1000) throw new Error('the sync never ends');
  }
}

const describeChange = (c: SyncChange) => [c.kind, 'item' in c ? c.item.id : c.itemId];

describe('SyncFolderItems, state-based', () => {
  it('after create A, create B, delete A, a first sync reports Create B only, paged or not', () => {
    const store = emptyStore();
    const a = store.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const b = store.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    store.makeChange({ mailbox: ADA, kind: 'delete', itemId: a.itemId });
    const paged = syncAll(store, 1);
    const whole = syncAll(store, 512);
    expect(paged.changes.map(describeChange)).toEqual([['Create', b.itemId]]);
    expect(whole.changes.map(describeChange)).toEqual([['Create', b.itemId]]);
    expect(paged.pages).toBe(1);
  });

  it('never reports an item created and deleted between two syncs', () => {
    const store = emptyStore();
    const first = syncAll(store, 512);
    const gone = store.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    store.makeChange({ mailbox: ADA, kind: 'delete', itemId: gone.itemId });
    expect(syncAll(store, 1, first.syncState).changes).toEqual([]);
  });

  it('reports a read flag as ReadFlagChange and an edit (read flag too) as Update', () => {
    const store = emptyStore();
    const read = store.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const edited = store.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const first = syncAll(store, 512);
    store.makeChange({ mailbox: ADA, kind: 'readFlag', itemId: read.itemId });
    store.makeChange({ mailbox: ADA, kind: 'readFlag', itemId: edited.itemId });
    store.makeChange({ mailbox: ADA, kind: 'modify', itemId: edited.itemId });
    expect(syncAll(store, 1, first.syncState).changes.map((c) => c.kind)).toEqual([
      'ReadFlagChange',
      'Update',
    ]);
  });

  it('takes ignored items as known without reporting or counting them', () => {
    const store = emptyStore();
    const ignored = store.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const reported = store.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const first = page(store.syncFolderItems(ADA, 'inbox', undefined, 1, new Set([ignored.itemId])));
    expect(first.changes.map(describeChange)).toEqual([['Create', reported.itemId]]);
    expect(first.includesLastItemInRange).toBe(true);
    expect(syncAll(store, 512, first.syncState).changes).toEqual([]);
  });

  it('refuses a SyncState of another folder', () => {
    const store = emptyStore();
    const calendar = page(store.syncFolderItems(ADA, 'calendar', undefined, 512, new Set()));
    expect(store.syncFolderItems(ADA, 'inbox', calendar.syncState, 512, new Set())).toEqual({
      ok: false,
      error: 'invalidSyncState',
    });
  });

  it('whatever the changes and page size, a sync brings a client from its SyncState to the folder as it is now', () => {
    const kinds = fc.constantFrom(...CHANGE_KINDS);
    fc.assert(
      fc.property(
        fc.array(kinds, { maxLength: 25 }),
        fc.array(kinds, { maxLength: 25 }),
        fc.integer({ min: 1, max: 7 }),
        (before, after, max) => {
          const store = emptyStore(max);
          const change = (kind: ChangeKind) => {
            try {
              store.makeChange({
                mailbox: ADA,
                kind,
                folder: 'inbox',
                ...(kind === 'move' ? { toFolder: 'junkemail' as const } : {}),
              });
            } catch (e) {
              // Nothing in the inbox to act on: a create instead.
              if (!(e instanceof SimulatorInputError)) throw e;
              store.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
            }
          };
          for (const kind of before) change(kind);
          const base = syncAll(store, 512);
          for (const kind of after) change(kind);
          const paged = syncAll(store, max, base.syncState);
          const whole = syncAll(store, 512, base.syncState);
          expect(paged.changes).toEqual(whole.changes);
          const id = (c: SyncChange) => ('item' in c ? c.item.id : c.itemId);
          expect(new Set(whole.changes.map(id)).size).toBe(whole.changes.length);
          const folder = new Set(base.changes.map(id));
          for (const c of whole.changes) {
            if (c.kind === 'Create') folder.add(c.item.id);
            if (c.kind === 'Delete') folder.delete(c.itemId);
          }
          const now = syncAll(store, 512).changes.map(id);
          expect([...folder].sort()).toEqual(now.sort());
        },
      ),
      { numRuns: 60 },
    );
  });
});
