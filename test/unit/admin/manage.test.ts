/**
 * Mailbox management on the fakes: add registers a mailbox due for the lifecycle at once (its
 * baseline first), refuses what Exchange would refuse before storing anything, never reissues a
 * generation; remove marks the record (the receiver then answers Unsubscribe), forgets its
 * synchronization and tells consumers.
 */
import { describe, expect, it } from 'vitest';
import {
  addMailbox,
  ConcurrentChangeError,
  InvalidMailboxSpecError,
  listMailboxes,
  MailboxAlreadyWatchedError,
  MailboxNotWatchedError,
  type MailboxSpec,
  removeMailbox,
  setupOf,
  showMailbox,
} from '../../../functions/admin/manage.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import { fakeWorld } from '../../support/fakes/index.ts';
import { sweepAndRenew } from '../../support/fakes/lifecycle.ts';

const spec: MailboxSpec = {
  mailbox: 'Ada@Contoso.test',
  connection: 'default',
  folders: [{ distinguishedFolderId: 'inbox' }],
  eventTypes: ['CreatedEvent', 'DeletedEvent'],
  statusFrequency: 5,
};
const mailboxKey = mailboxKeyOf('ada@contoso.test');

describe('adding a mailbox', () => {
  it('registers it at generation 1, owing its baseline, due for the lifecycle at once; nothing is sent to Exchange', async () => {
    const world = fakeWorld();
    const added = await addMailbox(spec, world.manageDeps);
    expect(added.ok && added.value).toMatchObject({
      mailbox: 'ada@contoso.test',
      mailboxKey,
      state: 'subscribing',
      generation: 1,
      syncWork: 'baseline',
      attempts: 0,
      nextAttemptAt: world.clock.now(),
    });
    expect(world.table.peek(mailboxKey)).toEqual(added.ok ? added.value : undefined);
    expect(world.exchange.calls).toEqual([]);
    expect(setupOf(world.table.peek(mailboxKey) ?? (undefined as never))).toEqual({
      kind: 'settingUp',
      step: 'waiting for the lifecycle to take the baseline',
    });
    // The next sweep hands it to the renewer: watched.
    world.exchange.mailbox('ada@contoso.test', [{ distinguishedFolderId: 'inbox' }]);
    await sweepAndRenew(world);
    expect(setupOf(world.table.peek(mailboxKey) ?? (undefined as never))).toEqual({ kind: 'watched' });
  });

  it.each([
    ['an address that is not one', { mailbox: 'not-an-address' }, 'mailbox'],
    ['an unknown connection', { connection: 'elsewhere' }, 'connection'],
    ['a StatusFrequency Exchange refuses', { statusFrequency: 0 }, undefined],
    ['no event types', { eventTypes: [] }, undefined],
  ])('refuses %s, storing nothing', async (_case, overrides, field) => {
    const world = fakeWorld();
    const added = await addMailbox({ ...spec, ...overrides }, world.manageDeps);
    expect(added.ok).toBe(false);
    if (!added.ok) {
      expect(added.error).toBeInstanceOf(InvalidMailboxSpecError);
      if (field !== undefined) expect(added.error).toMatchObject({ field });
    }
    expect(world.table.writes).toEqual([]);
  });

  it('refuses a mailbox already watched', async () => {
    const world = fakeWorld();
    await addMailbox(spec, world.manageDeps);
    const again = await addMailbox(spec, world.manageDeps);
    expect(!again.ok && again.error).toBeInstanceOf(MailboxAlreadyWatchedError);
  });

  it('after a removal, adds it again on the next generation (an old subscription can never pass for the new one)', async () => {
    const world = fakeWorld();
    await addMailbox(spec, world.manageDeps);
    await removeMailbox(spec.mailbox, world.manageDeps);
    const again = await addMailbox(spec, world.manageDeps);
    expect(again.ok && again.value.generation).toBe(2);
  });

  it('a concurrent change while adding is reported, not overwritten', async () => {
    const world = fakeWorld();
    world.table.failures.failOn('create', 1);
    await expect(addMailbox(spec, world.manageDeps)).rejects.toThrow(/injected/);
    // Another operator adds it between our read and our write: our read saw nothing.
    let reads = 0;
    const table = world.table;
    const racing = {
      ...world.manageDeps,
      records: {
        get: async (key: typeof mailboxKey) => (reads++ === 0 ? undefined : table.get(key)),
        create: table.create.bind(table),
        markRemoved: table.markRemoved.bind(table),
        migrateToGraph: table.migrateToGraph.bind(table),
        list: table.list.bind(table),
      },
    };
    await addMailbox(spec, world.manageDeps);
    const lost = await addMailbox(spec, racing);
    expect(!lost.ok && lost.error).toBeInstanceOf(MailboxAlreadyWatchedError);
  });
});

describe('removing a mailbox', () => {
  it('marks it removed, forgets its SyncStates and pushed-item list, and publishes removed', async () => {
    const world = fakeWorld();
    await addMailbox(spec, world.manageDeps);
    await world.syncStates.put(mailboxKey, {
      folder: { distinguishedFolderId: 'inbox' },
      syncState: 'S',
      complete: true,
      itemsSeen: 1,
      updatedAt: 0,
    });
    world.pushedItems.note(mailboxKey, { itemId: 'i', folderId: null, notedAt: 0 });
    world.clock.advance(1_000);
    const removed = await removeMailbox('ada@contoso.test', world.manageDeps);
    expect(removed.ok && removed.value).toMatchObject({ state: 'removed', updatedAt: world.clock.now() });
    expect(world.table.peek(mailboxKey)).toMatchObject({ state: 'removed' });
    expect(world.table.peek(mailboxKey)?.nextAttemptAt).toBeUndefined();
    expect(await world.syncStates.list(mailboxKey)).toEqual([]);
    expect(world.pushedItems.entries(mailboxKey)).toEqual([]);
    expect(world.publisher.types()).toEqual(['subscription.removed']);
    // The sweeper leaves it alone from now on.
    expect((await sweepAndRenew(world)).summary.enqueued).toBe(0);
  });

  it('refuses a mailbox not watched (or already removed)', async () => {
    const world = fakeWorld();
    const none = await removeMailbox('nobody@contoso.test', world.manageDeps);
    expect(!none.ok && none.error).toBeInstanceOf(MailboxNotWatchedError);
    await addMailbox(spec, world.manageDeps);
    await removeMailbox(spec.mailbox, world.manageDeps);
    const twice = await removeMailbox(spec.mailbox, world.manageDeps);
    expect(!twice.ok && twice.error).toBeInstanceOf(MailboxNotWatchedError);
    expect(world.publisher.types()).toEqual(['subscription.removed']);
  });

  it('reports a record that changed under it', async () => {
    const world = fakeWorld();
    await addMailbox(spec, world.manageDeps);
    const racing = {
      ...world.manageDeps,
      records: {
        get: world.table.get.bind(world.table),
        create: world.table.create.bind(world.table),
        list: world.table.list.bind(world.table),
        migrateToGraph: world.table.migrateToGraph.bind(world.table),
        markRemoved: async () => false,
      },
    };
    const result = await removeMailbox(spec.mailbox, racing);
    expect(!result.ok && result.error).toBeInstanceOf(ConcurrentChangeError);
    expect(world.publisher.events()).toEqual([]);
  });
});

describe('listing and showing', () => {
  it('lists watched mailboxes sorted, removed ones only when asked; shows one', async () => {
    const world = fakeWorld();
    for (const mailbox of ['zoe@contoso.test', 'bob@contoso.test', 'ann@contoso.test'])
      await addMailbox({ ...spec, mailbox }, world.manageDeps);
    await removeMailbox('bob@contoso.test', world.manageDeps);
    expect((await listMailboxes(world.manageDeps)).map((r) => r.mailbox)).toEqual([
      'ann@contoso.test',
      'zoe@contoso.test',
    ]);
    expect((await listMailboxes(world.manageDeps, { includeRemoved: true })).map((r) => r.mailbox)).toEqual([
      'ann@contoso.test',
      'bob@contoso.test',
      'zoe@contoso.test',
    ]);
    const shown = await showMailbox('ZOE@contoso.test', world.manageDeps);
    expect(shown.ok && shown.value.mailbox).toBe('zoe@contoso.test');
    const missing = await showMailbox('x@contoso.test', world.manageDeps);
    expect(!missing.ok && missing.error).toBeInstanceOf(MailboxNotWatchedError);
  });
});
