/**
 * Migrating one mailbox from EWS to Graph without losing a change: EWS (the fakes) keeps being
 * taken until the first Graph subscription moves the generation on; Graph (the stand-in) catches
 * up from its baseline; a change made in the window between them reaches consumers; afterwards the
 * EWS subscription is answered Unsubscribe, and the mailbox is a Graph one.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { objectConnections } from '../../../functions/adapters/connections-source.ts';
import { graphClientFor } from '../../../functions/adapters/graph-clients.ts';
import { addMailbox, migrateMailbox } from '../../../functions/admin/manage.ts';
import { callbackPath } from '../../../functions/domain/callback.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import { workFor } from '../../../functions/domain/policy.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import type { GraphClient } from '../../../functions/graph/graph-client.ts';
import { createReceiverHandler } from '../../../functions/receiver/http.ts';
import { runGraphJob } from '../../../functions/renewer/graph-lifecycle.ts';
import { type GraphSimulator, startGraphSimulator } from '../../../graph-simulator/server.ts';
import { startWebhook, type Webhook } from '../../graph-simulator/support.ts';
import { callbackPush } from '../../support/callback-push.ts';
import { CALLBACK_KEY, fakeWorld } from '../../support/fakes/index.ts';
import { sweepAndRenew } from '../../support/fakes/lifecycle.ts';
import { graphConnectionTo } from '../../support/graph-connection.ts';
import { created, sendNotification } from '../../support/pushes.ts';
import { type SteppedClock, steppedClock } from '../../support/stepped-clock.ts';
import { graphRenewDepsOn } from './lifecycle-world.ts';

const mailbox = 'ada@contoso.test';
const mailboxKey = mailboxKeyOf(mailbox);

let clock: SteppedClock;
let graph: GraphSimulator;
let webhook: Webhook;
beforeEach(async () => {
  clock = steppedClock();
  graph = await startGraphSimulator({ clock, mailboxes: [mailbox] });
  webhook = await startWebhook(clock);
});
afterEach(async () => {
  await webhook.close();
  await graph.stop();
});

describe('migrating a mailbox from EWS to Graph', () => {
  it('loses no change: EWS is taken until Graph takes over, the window between them is caught up', async () => {
    const world = fakeWorld({ connections: ['default'], graphConnections: ['contoso-graph'] });
    world.exchange.mailbox(mailbox, [{ distinguishedFolderId: 'inbox' }]);
    const added = await addMailbox(
      {
        mailbox,
        connection: 'default',
        folders: [{ distinguishedFolderId: 'inbox' }],
        eventTypes: ['CreatedEvent'],
        statusFrequency: 5,
      },
      world.manageDeps,
    );
    if (!added.ok) throw added.error;
    await sweepAndRenew(world);
    const ews = world.table.peek(mailboxKey) as SubscriptionRecord;
    expect(ews.state).toBe('active');
    const g = ews.generation;
    const receiver = createReceiverHandler({
      ...world.receiveDeps,
      graphWork: world.table,
      callbackKey: async () => CALLBACK_KEY,
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      metrics: { count: () => {}, flush: () => {} },
    });
    let watermark = ews.watermark ?? null;
    const ewsPush = async (generation: number, itemId: string) => {
      const next = `${watermark ?? 'W'}+`;
      const body = sendNotification({
        subscriptionId: ews.subscriptionId ?? '',
        previousWatermark: watermark,
        events: [created(next, itemId)],
      });
      const response = await receiver(callbackPush(callbackPath(CALLBACK_KEY, mailboxKey, generation), body));
      watermark = next;
      return /<m:SubscriptionStatus>(\w+)</.exec(String(response.body))?.[1];
    };

    // The operator migrates; EWS keeps pushing and is still taken.
    const migrated = await migrateMailbox(mailbox, 'contoso-graph', {
      ...world.manageDeps,
    });
    expect(migrated.ok && migrated.value).toMatchObject({ source: 'graph', connection: 'contoso-graph' });
    expect(await ewsPush(g, 'EWS-BEFORE-GRAPH')).toBe('OK');
    // Still active (EWS speaks), owing its Graph subscriptions: the sweeper queues it at once.
    expect(workFor(world.table.peek(mailboxKey) as SubscriptionRecord, world.clock.now(), world.policy)).toBe(
      'renew',
    );

    // The Graph lifecycle: baseline, then the creates; a change lands in between.
    const source = objectConnections(graphConnectionTo(graph));
    const connection = await source.graph('contoso-graph');
    if (!connection.ok) throw connection.error;
    const client = graphClientFor(connection.value, { clock, maxRetryWaitMs: 0 });
    let window: ReturnType<GraphSimulator['makeChange']> | undefined;
    const racing: GraphClient = {
      ...client,
      createSubscription: (input) => {
        window ??= graph.makeChange({ mailbox, itemType: 'message', kind: 'created', folder: 'inbox' });
        return client.createSubscription(input);
      },
    };
    const outcome = await runGraphJob(
      world.table.peek(mailboxKey) as SubscriptionRecord,
      graphRenewDepsOn(world, { clock, webhook }, racing),
    );
    expect(outcome).toMatchObject({ kind: 'graphSettled', created: ['messages', 'events'] });
    const after = world.table.peek(mailboxKey) as SubscriptionRecord;
    expect(after).toMatchObject({ source: 'graph', state: 'active', generation: g + 2 });

    // EWS is superseded now: its next push is answered Unsubscribe and publishes nothing.
    const before = world.publisher.events(mailboxKey).length;
    expect(await ewsPush(g, 'EWS-AFTER-GRAPH')).toBe('Unsubscribe');
    expect(world.publisher.events(mailboxKey)).toHaveLength(before);

    const subjects = world.publisher.events(mailboxKey).map((e) => e.subject);
    expect(subjects).toContain('EWS-BEFORE-GRAPH');
    expect(subjects).toContain(window?.immutableId);
  });

  it('refuses a mailbox already on Graph, an unknown Graph connection, and a mailbox not watched', async () => {
    const world = fakeWorld({ connections: ['default'], graphConnections: ['contoso-graph'] });
    const added = await addMailbox(
      {
        mailbox,
        connection: 'contoso-graph',
        folders: 'all',
        eventTypes: ['CreatedEvent'],
        statusFrequency: 5,
      },
      world.manageDeps,
    );
    if (!added.ok) throw added.error;
    const again = await migrateMailbox(mailbox, 'contoso-graph', world.manageDeps);
    expect(!again.ok && again.error.message).toMatch(/through Graph already/);
    const unknown = await migrateMailbox('bob@contoso.test', 'contoso-graph', world.manageDeps);
    expect(!unknown.ok && unknown.error.name).toBe('MailboxNotWatchedError');
    await addMailbox(
      {
        mailbox: 'eve@contoso.test',
        connection: 'default',
        folders: 'all',
        eventTypes: ['CreatedEvent'],
        statusFrequency: 5,
      },
      world.manageDeps,
    );
    const noSuch = await migrateMailbox('eve@contoso.test', 'default', world.manageDeps);
    expect(!noSuch.ok && noSuch.error.message).toMatch(/no Graph connection named "default"/);
  });
});
