/**
 * A Graph mailbox's record: `add` picks the source by the connection's kind, the record's Graph
 * fields survive the table's parsing (and EWS records parse as before), `show`/`list` say the
 * source and the expiry.
 */
import { describe, expect, it } from 'vitest';
import {
  CorruptSubscriptionRecordError,
  parseSubscriptionRecord,
} from '../../../functions/adapters/subscription-table.ts';
import { parseAdminCommand, runAdminCommand, viewOf } from '../../../functions/admin/commands.ts';
import {
  addMailbox,
  InvalidMailboxSpecError,
  type MailboxSpec,
  removeMailbox,
} from '../../../functions/admin/manage.ts';
import { graphRenewalDueAt } from '../../../functions/domain/graph-mailbox.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import { fakeWorld } from '../../support/fakes/index.ts';

const spec: MailboxSpec = {
  mailbox: 'ada@contoso.com',
  connection: 'contoso-graph',
  folders: 'all',
  eventTypes: ['CreatedEvent', 'NewMailEvent'],
  statusFrequency: 5,
};

function item(record: SubscriptionRecord): Record<string, unknown> {
  const { mailboxKey, ...rest } = record;
  return JSON.parse(JSON.stringify({ pk: mailboxKey, sk: 'subscription', ...rest }));
}

describe('a Graph mailbox', () => {
  it('add with a Graph connection registers a Graph record: no heartbeat, Graph event types, the address as user', async () => {
    const world = fakeWorld({ connections: ['onprem'], graphConnections: ['contoso-graph'] });
    const added = await addMailbox(spec, world.manageDeps);
    expect(added.ok && added.value).toMatchObject({
      mailboxKey: mailboxKeyOf('ada@contoso.com'),
      source: 'graph',
      graph: { userId: 'ada@contoso.com' },
      statusFrequency: 0,
      eventTypes: ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent'],
      state: 'subscribing',
      generation: 1,
      syncWork: 'baseline',
    });
    const ews = await addMailbox(
      { ...spec, mailbox: 'bob@contoso.com', connection: 'onprem' },
      world.manageDeps,
    );
    expect(ews.ok && ews.value.source).toBeUndefined();
    expect(ews.ok && ews.value.eventTypes).toEqual(['CreatedEvent', 'NewMailEvent']);
  });

  it('refuses folders for a Graph connection and names Graph connections among the configured ones', async () => {
    const world = fakeWorld({ connections: ['onprem'], graphConnections: ['contoso-graph'] });
    const folders = await addMailbox(
      { ...spec, folders: [{ distinguishedFolderId: 'inbox' }] },
      world.manageDeps,
    );
    expect(!folders.ok && folders.error).toBeInstanceOf(InvalidMailboxSpecError);
    expect(!folders.ok && folders.error.message).toMatch(/is a Graph connection/);
    const fields = await addMailbox({ ...spec, enrichFields: ['calendar:MyResponseType'] }, world.manageDeps);
    expect(!fields.ok && fields.error).toMatchObject({ field: 'enrichFields' });
    expect(!fields.ok && fields.error.message).toMatch(/no EWS FieldURIs/);
    const mode = await addMailbox({ ...spec, enrich: 'full' }, world.manageDeps);
    expect(mode.ok && mode.value.enrich).toBe('full');
    const unknown = await addMailbox({ ...spec, connection: 'nope' }, world.manageDeps);
    expect(!unknown.ok && unknown.error.message).toMatch(/configured: contoso-graph, onprem$/);
  });

  it('round-trips through the table parser with its subscriptions, and an EWS record stays as it was', async () => {
    const world = fakeWorld({ graphConnections: ['contoso-graph'] });
    const added = await addMailbox(spec, world.manageDeps);
    if (!added.ok) throw added.error;
    const withSubscriptions: SubscriptionRecord = {
      ...added.value,
      state: 'active',
      graph: {
        userId: 'ada@contoso.com',
        messages: { generation: 1, subscriptionId: 'sub-m', expiresAt: 1_000_000_000, lastRenewedAt: 5 },
        events: { generation: 1, subscriptionId: 'sub-e', expiresAt: 900_000_000, lastReauthorizedAt: 7 },
      },
    };
    expect(parseSubscriptionRecord(item(withSubscriptions))).toEqual(withSubscriptions);
    const ews = await addMailbox(
      { ...spec, mailbox: 'bob@contoso.com', connection: 'default' },
      world.manageDeps,
    );
    if (!ews.ok) throw ews.error;
    expect(parseSubscriptionRecord(item(ews.value))).toEqual(ews.value);
    expect(graphRenewalDueAt(withSubscriptions.graph ?? { userId: '' })).toBe(900_000_000 - 10_080 * 30_000);
  });

  it.each([
    [
      'a Graph source without its Graph state',
      (i: Record<string, unknown>) => ({ ...i, graph: undefined }),
      'graph',
    ],
    ['an unknown source', (i: Record<string, unknown>) => ({ ...i, source: 'imap' }), 'source'],
    [
      'a subscription without a generation',
      (i: Record<string, unknown>) => ({ ...i, graph: { userId: 'a', messages: { subscriptionId: 'x' } } }),
      'graph',
    ],
  ])('refuses %s as a corrupt record', async (_, corrupt, field) => {
    const world = fakeWorld({ graphConnections: ['contoso-graph'] });
    const added = await addMailbox(spec, world.manageDeps);
    if (!added.ok) throw added.error;
    const bad = JSON.parse(JSON.stringify(corrupt(item(added.value))));
    expect(() => parseSubscriptionRecord(bad)).toThrow(CorruptSubscriptionRecordError);
    expect(() => parseSubscriptionRecord(bad)).toThrow(new RegExp(`invalid ${field}`));
  });

  it('show says the source and when the earliest subscription expires; stale once it has expired', async () => {
    const world = fakeWorld({ graphConnections: ['contoso-graph'] });
    const added = await addMailbox(spec, world.manageDeps);
    if (!added.ok) throw added.error;
    const now = world.clock.now();
    const record: SubscriptionRecord = {
      ...added.value,
      state: 'active',
      graph: {
        userId: 'ada@contoso.com',
        messages: { generation: 1, subscriptionId: 'sub-m', expiresAt: now + 3_600_000 },
        events: { generation: 1, subscriptionId: 'sub-e', expiresAt: now + 7_200_000 },
      },
    };
    const view = viewOf(record, now);
    expect(view).toMatchObject({
      source: 'graph',
      expiresAt: new Date(now + 3_600_000).toISOString(),
      stale: false,
    });
    expect(view.graphSubscriptions?.map((s) => [s.resource, s.subscriptionId])).toEqual([
      ['messages', 'sub-m'],
      ['events', 'sub-e'],
    ]);
    expect(viewOf(record, now + 3_600_000).stale).toBe(true);
    expect(viewOf({ ...added.value }, now)).toMatchObject({ source: 'graph', expiresAt: null });
  });

  it('the admin command migrate: parsed field by field, run as migrateMailbox, answered with the view', async () => {
    expect(parseAdminCommand({ command: 'migrate', mailbox: 'ada@contoso.com' })).toMatchObject({
      ok: false,
      error: { field: 'connection' },
    });
    const world = fakeWorld({ connections: ['onprem'], graphConnections: ['contoso-graph'] });
    await addMailbox({ ...spec, connection: 'onprem' }, world.manageDeps);
    const response = await runAdminCommand(
      { command: 'migrate', mailbox: 'ada@contoso.com', connection: 'contoso-graph' },
      world.manageDeps,
    );
    expect(response).toMatchObject({ ok: true, result: { source: 'graph', connection: 'contoso-graph' } });
    expect(world.table.peek(mailboxKeyOf('ada@contoso.com'))?.source).toBe('graph');
  });
});

describe('removing a Graph mailbox', () => {
  const key = mailboxKeyOf('ada@contoso.com');

  /** A watched Graph mailbox: both subscriptions stored (generations 2 and 3), one superseded noted. */
  async function watched() {
    const world = fakeWorld({ graphConnections: ['contoso-graph'] });
    await addMailbox(spec, world.manageDeps);
    for (const [resource, generation, id] of [
      ['messages', 2, 'sub-m'],
      ['events', 3, 'sub-e'],
    ] as const) {
      expect(
        await world.table.putGraphSubscription({
          mailboxKey: key,
          generation: generation - 1,
          toGeneration: generation,
          resource,
          subscription: { generation, subscriptionId: id, expiresAt: world.clock.now() + 86_400_000 },
          now: world.clock.now(),
        }),
      ).toBe(true);
      world.graphSubscriptions.live.add(id);
    }
    await world.table.requestGraphWork(key, { work: [], obsolete: ['sub-old'] });
    return world;
  }

  it('DELETEs every subscription the record names at Graph, current and superseded; one already gone is fine', async () => {
    const world = await watched();
    const removed = await removeMailbox('ada@contoso.com', world.manageDeps);
    expect(removed.ok && removed.value.state).toBe('removed');
    expect(world.table.peek(key)?.state).toBe('removed');
    expect([...world.graphSubscriptions.deletes].sort()).toEqual(['sub-e', 'sub-m', 'sub-old']);
    expect(world.graphSubscriptions.live.size).toBe(0);
    expect(world.progress).toEqual(
      expect.arrayContaining([
        'deleted Graph subscription sub-m',
        'deleted Graph subscription sub-e',
        'Graph subscription sub-old was already gone',
      ]),
    );
    expect(world.publisher.types(key)).toEqual(['subscription.removed']);
  });

  it('a failed DELETE does not undo the removal: the progress names the subscription and its expiry', async () => {
    const world = await watched();
    world.graphSubscriptions.failDeleteOf('sub-e');
    const removed = await removeMailbox('ada@contoso.com', world.manageDeps);
    expect(removed.ok).toBe(true);
    expect(world.table.peek(key)?.state).toBe('removed');
    expect([...world.graphSubscriptions.live]).toEqual(['sub-e']);
    const line = world.progress.find((p) => p.startsWith('could not delete Graph subscription sub-e'));
    expect(line).toMatch(/could not be reached.*notifies until it expires \(at the latest .*Z\).*drops/);
  });

  it('a Graph connection no longer configured: removed all the same, and the progress says what stays', async () => {
    const world = await watched();
    world.graphConnections.delete('contoso-graph');
    const removed = await removeMailbox('ada@contoso.com', world.manageDeps);
    expect(removed.ok).toBe(true);
    expect(world.graphSubscriptions.deletes).toEqual([]);
    expect(world.progress.at(-1)).toMatch(
      /Graph connection "contoso-graph" is not configured, so Graph subscription\(s\) .*sub-m.* were not deleted/,
    );
  });

  it('reads the ids after the mark: a subscription stored between the first read and the mark is deleted too', async () => {
    const world = await watched();
    const table = world.table;
    let first = true;
    const racing = {
      ...world.manageDeps,
      records: {
        ...world.manageDeps.records,
        get: async (mailboxKey: typeof key) => {
          const record = await table.get(mailboxKey);
          if (first && record !== undefined) {
            first = false;
            // A renewer's create lands right after remove's first read.
            await table.putGraphSubscription({
              mailboxKey,
              generation: record.generation,
              toGeneration: record.generation + 1,
              resource: 'messages',
              subscription: { generation: record.generation + 1, subscriptionId: 'sub-new' },
              now: 0,
            });
          }
          return record;
        },
        markRemoved: table.markRemoved.bind(table),
      },
    };
    const removed = await removeMailbox('ada@contoso.com', racing);
    expect(removed.ok).toBe(true);
    expect(world.graphSubscriptions.deletes).toContain('sub-new');
  });

  it('the admin command answers the DELETEs in its progress', async () => {
    const world = await watched();
    const response = await runAdminCommand(
      { command: 'remove', mailbox: 'ada@contoso.com' },
      world.manageDeps,
    );
    expect(response).toMatchObject({ ok: true, result: { state: 'removed' } });
    expect(response.progress).toContain('deleted Graph subscription sub-m');
  });
});
