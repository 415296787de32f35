import { describe, expect, it } from 'vitest';
import type { BridgeEvent } from '../../../events/bridge-event.ts';
import { err, ok } from '../../../functions/core/result.ts';
import { type MailboxKey, mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import type { PushedItemListEntry } from '../../../functions/domain/pushed-item-list.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import {
  CHECK_BATCH,
  type ItemChecker,
  type ItemPresence,
  type PushedItemList,
  reconcilePushedItemList,
  TRIM_MARGIN_MS,
} from '../../../functions/renewer/reconcile.ts';
import type { ReportedItems } from '../../../functions/renewer/sync.ts';
import { manualClock } from '../../support/manual-clock.ts';

const mailbox = 'user@contoso.test';
const mailboxKey = mailboxKeyOf(mailbox);
const record: SubscriptionRecord = {
  mailboxKey,
  mailbox,
  connection: 'default',
  folders: [{ distinguishedFolderId: 'inbox' }],
  eventTypes: ['CreatedEvent', 'DeletedEvent'],
  statusFrequency: 1,
  state: 'active',
  generation: 3,
  subscriptionId: 'S3',
  watermark: 'W1',
  lastContactAt: 0,
  attempts: 0,
  createdAt: 0,
  updatedAt: 0,
};

function list(
  items: readonly PushedItemListEntry[],
): PushedItemList & { readonly left: Map<string, PushedItemListEntry> } {
  const left = new Map(items.map((item) => [item.itemId, item]));
  return {
    left,
    async *list(key: MailboxKey) {
      expect(key).toBe(mailboxKey);
      yield* [...left.values()];
    },
    async forget(_key, itemIds) {
      for (const id of itemIds) left.delete(id);
    },
  };
}

/** Exchange with the given items; records every GetItem. */
function exchange(present: ReadonlySet<string>, answers: Record<string, ItemPresence> = {}) {
  const calls: string[][] = [];
  const checker: ItemChecker = {
    async checkItems(_mailbox, itemIds) {
      calls.push([...itemIds]);
      return ok(itemIds.map((id) => answers[id] ?? (present.has(id) ? 'present' : 'missing')));
    },
  };
  return { checker, calls };
}

function publisher() {
  const published: BridgeEvent[] = [];
  return {
    published,
    async publish(_key: MailboxKey, events: readonly BridgeEvent[]) {
      published.push(...events);
    },
  };
}

describe('reconcilePushedItemList', () => {
  const clock = manualClock();
  const startedAt = clock.now();
  const old = startedAt - TRIM_MARGIN_MS - 1;
  const recent = startedAt - 1000;

  it('publishes a resync Delete for each listed item Exchange no longer has, and forgets it', async () => {
    const items = list([
      { itemId: 'gone', folderId: 'projects-id', notedAt: recent },
      { itemId: 'here', folderId: 'inbox-id', notedAt: old },
    ]);
    const { checker, calls } = exchange(new Set(['here']));
    const events = publisher();
    const result = await reconcilePushedItemList(record, 'watermarkRejected', new Map(), startedAt, {
      exchange: checker,
      pushedItemList: items,
      publisher: events,
      clock,
    });
    expect(result).toEqual(ok({ checked: 2, deleted: 1, undetermined: 0 }));
    expect(calls).toEqual([['gone', 'here']]);
    expect(events.published).toHaveLength(1);
    expect(events.published[0]).toMatchObject({
      type: 'exchange-push-bridge.resync.Delete',
      subject: 'gone',
      data: {
        mailbox,
        folder: { folderId: 'projects-id' },
        changeType: 'Delete',
        itemId: { id: 'gone', changeKey: null },
        reason: 'watermarkRejected',
      },
    });
    // The item still there was noted before the catch-up began: the new SyncState covers it.
    expect([...items.left.keys()]).toEqual([]);
  });

  it('gives a Delete the same id when the reconciliation runs again (a retried job)', async () => {
    const run = async () => {
      const events = publisher();
      await reconcilePushedItemList(record, 'watermarkExpired', new Map(), startedAt, {
        exchange: exchange(new Set()).checker,
        pushedItemList: list([{ itemId: 'gone', folderId: 'f', notedAt: recent }]),
        publisher: events,
        clock,
      });
      return events.published.map((e) => e.id);
    };
    const [first] = await run();
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await run()).toEqual([first]);
  });

  it('asks Exchange only about items the catch-up did not name', async () => {
    const reported: ReportedItems = new Map([
      ['created-old', 'present'],
      ['created-recent', 'present'],
      ['deleted', 'deleted'],
    ]);
    const items = list([
      { itemId: 'created-old', folderId: 'f', notedAt: old },
      { itemId: 'created-recent', folderId: 'f', notedAt: recent },
      { itemId: 'deleted', folderId: 'f', notedAt: recent },
    ]);
    const { checker, calls } = exchange(new Set());
    const events = publisher();
    const result = await reconcilePushedItemList(record, 'watermarkExpired', reported, startedAt, {
      exchange: checker,
      pushedItemList: items,
      publisher: events,
      clock,
    });
    expect(result).toEqual(ok({ checked: 0, deleted: 0, undetermined: 0 }));
    expect(calls).toEqual([]);
    expect(events.published).toEqual([]);
    // Noted shortly before the catch-up began: kept, in case it was created after a SyncState was taken.
    expect([...items.left.keys()]).toEqual(['created-recent']);
  });

  it('keeps items whose fate GetItem does not tell, and says so', async () => {
    const progress: string[] = [];
    const items = list([{ itemId: 'hidden', folderId: 'f', notedAt: old }]);
    const result = await reconcilePushedItemList(record, 'watermarkExpired', new Map(), startedAt, {
      exchange: exchange(new Set(), { hidden: { undetermined: 'ErrorAccessDenied' } }).checker,
      pushedItemList: items,
      publisher: publisher(),
      clock,
      progress: (line) => progress.push(line),
    });
    expect(result).toEqual(ok({ checked: 1, deleted: 0, undetermined: 1 }));
    expect([...items.left.keys()]).toEqual(['hidden']);
    expect(progress.join('\n')).toMatch(
      /could not tell whether item hidden… still exists \(ErrorAccessDenied\)/,
    );
  });

  it(`checks in batches of ${CHECK_BATCH}`, async () => {
    const many = Array.from({ length: CHECK_BATCH * 2 + 3 }, (_, i) => ({
      itemId: `i${i}`,
      folderId: 'f',
      notedAt: old,
    }));
    const { checker, calls } = exchange(new Set(many.map((i) => i.itemId)));
    const result = await reconcilePushedItemList(record, 'watermarkExpired', new Map(), startedAt, {
      exchange: checker,
      pushedItemList: list(many),
      publisher: publisher(),
      clock,
    });
    expect(result.ok).toBe(true);
    expect(calls.map((c) => c.length)).toEqual([CHECK_BATCH, CHECK_BATCH, 3]);
  });

  it('fails without forgetting anything when Exchange cannot answer, so the retry checks again', async () => {
    const items = list([{ itemId: 'gone', folderId: 'f', notedAt: old }]);
    const failure = Object.assign(new Error('GetItem failed with ErrorServerBusy'), {
      category: 'ServerBusy' as const,
      backOffMilliseconds: 5000,
    });
    const events = publisher();
    const result = await reconcilePushedItemList(record, 'watermarkExpired', new Map(), startedAt, {
      exchange: { checkItems: async () => err(failure) },
      pushedItemList: items,
      publisher: events,
      clock,
    });
    expect(result).toEqual(err(failure));
    expect(events.published).toEqual([]);
    expect([...items.left.keys()]).toEqual(['gone']);
  });
});
