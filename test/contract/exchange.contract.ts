/**
 * What the renewer relies on from Exchange (RenewalExchange): Subscribe hands out an id and a
 * watermark; SyncFolderItems reports every change of a folder once, in pages, resumes from the
 * SyncState it handed out, and refuses one it never did; FindFolder lists the folders; GetItem
 * tells present from missing. Run against FakeExchange and against the EWS client over HTTP on
 * the EWS simulator, so the renewal unit tests on the fake mean what they say about Exchange.
 * Only behaviour both must share is asserted: the simulator's ids, SyncStates and extra folders
 * are its own.
 */
import { describe, expect, it } from 'vitest';
import type { Result } from '../../functions/core/result.ts';
import type { SyncChange } from '../../functions/ews/items.ts';
import type { FolderRef } from '../../functions/ews/request.ts';
import type { RenewalExchange } from '../../functions/renewer/job.ts';

/** One side of the contract: the exchange, and how a test makes a change in a mailbox. */
export interface ExchangeWorld {
  readonly exchange: RenewalExchange;
  /** A mailbox that exists and has had no change yet in `folder`. */
  newMailbox(): Promise<string>;
  readonly folder: FolderRef;
  /** Creates an item in `folder` and returns its id as SyncFolderItems reports it. */
  createItem(mailbox: string): Promise<string>;
  deleteItem(mailbox: string, itemId: string): Promise<void>;
}

/** The renewer's catch-up reads ids only (renewer/sync.ts). */
const AS_THE_RENEWER_ASKS = { baseShape: 'IdOnly' } as const;

const PUSH_REQUEST = {
  folders: [{ distinguishedFolderId: 'inbox' }],
  eventTypes: ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent'],
  statusFrequency: 5,
  url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/ews/bWFpbGJveA/1/tok',
} as const;

function value<T, E>(result: Result<T, E>): T {
  if (!result.ok) throw new Error(`expected success, got ${String(result.error)}`);
  return result.value;
}

function failure<T, E>(result: Result<T, E>): E {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.error;
}

/** Syncs `folder` from `syncState` to its end, `pageSize` changes per call. */
async function syncToEnd(
  world: ExchangeWorld,
  mailbox: string,
  syncState: string | undefined,
  pageSize: number,
): Promise<{ changes: SyncChange[]; syncState: string; pages: number }> {
  const changes: SyncChange[] = [];
  let state = syncState;
  for (let pages = 1; pages <= 100; pages++) {
    const page = value(
      await world.exchange.syncFolderItems(mailbox, {
        syncFolderId: world.folder,
        itemShape: AS_THE_RENEWER_ASKS,
        maxChangesReturned: pageSize,
        ...(state === undefined ? {} : { syncState: state }),
      }),
    );
    expect(page.changes.length).toBeLessThanOrEqual(pageSize);
    changes.push(...page.changes);
    state = page.syncState;
    if (page.includesLastItemInRange) return { changes, syncState: state, pages };
  }
  throw new Error('SyncFolderItems never reported the last item in range after 100 pages');
}

const idOf = (change: SyncChange) => ('item' in change ? change.item.id : change.itemId);

export function exchangeContract(world: () => ExchangeWorld): void {
  describe('Subscribe', () => {
    it('hands out a subscription id and a watermark', async () => {
      const w = world();
      const mailbox = await w.newMailbox();
      const subscribed = value(await w.exchange.subscribe(mailbox, PUSH_REQUEST));
      expect(subscribed.subscriptionId).not.toBe('');
      expect(subscribed.watermark).not.toBe('');
    });
  });

  describe('SyncFolderItems', () => {
    it('reports each item of the folder once, in pages no longer than asked, and ends the range', async () => {
      const w = world();
      const mailbox = await w.newMailbox();
      const created = [];
      for (let i = 0; i < 5; i++) created.push(await w.createItem(mailbox));
      const synced = await syncToEnd(w, mailbox, undefined, 2);
      expect(synced.pages).toBeGreaterThanOrEqual(3);
      expect(synced.changes.map((c) => c.kind)).toEqual(['Create', 'Create', 'Create', 'Create', 'Create']);
      expect(synced.changes.map(idOf).sort()).toEqual([...created].sort());
    });

    it('resumes from the SyncState it handed out: only what changed since, and nothing when nothing did', async () => {
      const w = world();
      const mailbox = await w.newMailbox();
      const kept = await w.createItem(mailbox);
      const gone = await w.createItem(mailbox);
      const first = await syncToEnd(w, mailbox, undefined, 10);
      expect(first.changes.map(idOf).sort()).toEqual([kept, gone].sort());

      const quiet = await syncToEnd(w, mailbox, first.syncState, 10);
      expect(quiet.changes).toEqual([]);

      await w.deleteItem(mailbox, gone);
      const added = await w.createItem(mailbox);
      const next = await syncToEnd(w, mailbox, quiet.syncState, 10);
      expect(next.changes.map((c) => `${c.kind} ${idOf(c)}`).sort()).toEqual(
        [`Create ${added}`, `Delete ${gone}`].sort(),
      );
    });

    it('refuses a SyncState it never handed out with ErrorInvalidSyncStateData, not to be retried', async () => {
      const w = world();
      const mailbox = await w.newMailbox();
      const refused = failure(
        await w.exchange.syncFolderItems(mailbox, {
          syncFolderId: w.folder,
          itemShape: AS_THE_RENEWER_ASKS,
          maxChangesReturned: 10,
          syncState: 'H4sIAAAAAAAEAO29B2AcSZYlJi9tynt/SvVK1+B0Ai',
        }),
      );
      expect(refused).toMatchObject({ responseCode: 'ErrorInvalidSyncStateData', retryable: false });
    });
  });

  describe('FindFolder (listFolders)', () => {
    it('lists folders that SyncFolderItems accepts, the synchronized one among them', async () => {
      const w = world();
      const mailbox = await w.newMailbox();
      await w.createItem(mailbox);
      const folders = value(await w.exchange.listFolders(mailbox));
      // The renewer synchronizes every folder listed (`--folders all`): each must be syncable, and
      // the folder the item went to must be one of them (by whatever reference Exchange gives).
      let itemsSeen = 0;
      for (const folder of folders) {
        const page = value(
          await w.exchange.syncFolderItems(mailbox, {
            syncFolderId: folder,
            itemShape: AS_THE_RENEWER_ASKS,
            maxChangesReturned: 10,
          }),
        );
        itemsSeen += page.changes.length;
      }
      expect(folders.length).toBeGreaterThan(0);
      expect(itemsSeen).toBe(1);
    });
  });

  describe('GetItem (checkItems)', () => {
    it('tells an item that exists from one deleted since, answer for answer in the order asked', async () => {
      const w = world();
      const mailbox = await w.newMailbox();
      const present = await w.createItem(mailbox);
      const deleted = await w.createItem(mailbox);
      await w.deleteItem(mailbox, deleted);
      expect(value(await w.exchange.checkItems(mailbox, [deleted, present]))).toEqual(['missing', 'present']);
    });
  });
}
