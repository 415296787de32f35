import { describe, expect, it } from 'vitest';
import { ok } from '../../../functions/core/result.ts';
import type { FolderSyncState } from '../../../functions/domain/folder-sync-state.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import type { FolderRef } from '../../../functions/ews/request.ts';
import { BaselineSupersededError, type SyncDeps, takeBaseline } from '../../../functions/renewer/sync.ts';
import { manualClock } from '../../support/manual-clock.ts';

const mailbox = 'user@contoso.test';
const inbox: FolderRef = { distinguishedFolderId: 'inbox' };
const calendar: FolderRef = { distinguishedFolderId: 'calendar' };
const record: SubscriptionRecord = {
  mailboxKey: mailboxKeyOf(mailbox),
  mailbox,
  connection: 'exo',
  folders: [inbox, calendar],
  eventTypes: ['CreatedEvent'],
  statusFrequency: 1,
  state: 'subscribing',
  generation: 2,
  syncWork: 'baseline',
  attempts: 0,
  createdAt: 0,
  updatedAt: 0,
};
const label = (folder: FolderRef) => ('folderId' in folder ? folder.folderId : folder.distinguishedFolderId);

/** Every folder takes two pages of one change each to read to its end. */
function world() {
  const stored = new Map<string, FolderSyncState>();
  let calls = 0;
  const deps: SyncDeps = {
    exchange: {
      async listFolders() {
        return ok([inbox, calendar]);
      },
      async syncFolderItems(_mailbox, request) {
        calls++;
        const last = request.syncState !== undefined;
        return ok({
          syncState: `${label(request.syncFolderId)}@${calls}`,
          includesLastItemInRange: last,
          changes: [{ kind: 'Delete', itemId: `item-${calls}`, changeKey: null }],
        });
      },
    },
    syncStates: {
      async get(_key, folder) {
        return stored.get(label(folder));
      },
      async put(_key, state) {
        stored.set(label(state.folder), state);
      },
    },
    publisher: {
      async publish() {
        throw new Error('a baseline publishes nothing');
      },
    },
    clock: manualClock(),
    pageSize: 1,
  };
  return { deps, stored };
}

describe('takeBaseline', () => {
  it('stores where every folder stands, page by page, publishing nothing', async () => {
    const w = world();
    expect(await takeBaseline(record, w.deps)).toEqual(ok({ items: 4 }));
    expect(w.stored.get('inbox')).toMatchObject({ syncState: 'inbox@2', complete: true, itemsSeen: 2 });
    expect(w.stored.get('calendar')).toMatchObject({ syncState: 'calendar@4', complete: true, itemsSeen: 2 });
  });

  it('stores nothing more once its renewer no longer holds the mailbox', async () => {
    const w = world();
    const answers = [true, true, false];
    const result = await takeBaseline(record, w.deps, async () => answers.shift() ?? false);
    expect(result.ok ? null : result.error).toBeInstanceOf(BaselineSupersededError);
    expect(result.ok ? '' : result.error.message).toMatch(
      /the baseline of user@contoso.test at generation 2 stopped: the mailbox moved to another generation or was removed meanwhile/,
    );
    expect(w.stored.get('inbox')).toMatchObject({ syncState: 'inbox@2', complete: true });
    expect(w.stored.has('calendar')).toBe(false);
  });
});
