/**
 * The Graph lifecycle (renewer/graph-lifecycle.ts) against the Graph stand-in, speaking the real
 * protocol through the real Graph client, on the stand-in's stepped clock, with the bridge's
 * state in the in-memory fakes: baseline then create on add; renew when due; a removed
 * subscription (lifecycle notification, or PATCH answering 404) recreated and caught up; 410 on a
 * delta link → the folder in full; 409 on create → adopt or replace; reauthorize not twice within
 * 10 minutes; 429 → requeued after Retry-After; obsolete subscriptions deleted; the sweeper's
 * reasons for Graph mailboxes.
 */
import type { SQSRecord } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryMetrics, silentLog } from '../../../functions/core/telemetry.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import { workFor } from '../../../functions/domain/policy.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import type { GraphClient } from '../../../functions/graph/graph-client.ts';
import { type ChangeNotification, decodeNotificationBody } from '../../../functions/graph/notification.ts';
import { renewalDueAt } from '../../../functions/graph/subscription.ts';
import { graphPushedItemListChanges } from '../../../functions/receiver/graph-receive.ts';
import { createRenewerHandler, runOpened } from '../../../functions/renewer/batch.ts';
import { type GraphRenewDeps, runGraphJob } from '../../../functions/renewer/graph-lifecycle.ts';
import { openJob } from '../../../functions/renewer/job.ts';
import { sweep } from '../../../functions/sweeper/sweep.ts';
import type { GraphSimulator } from '../../../graph-simulator/server.ts';
import { until, type Webhook } from '../../graph-simulator/support.ts';
import type { fakeWorld } from '../../support/fakes/index.ts';
import type { SteppedClock } from '../../support/stepped-clock.ts';
import { graphLifecycleWorld, standInPerTest } from './lifecycle-world.ts';

const mailbox = 'ada@contoso.test';
const mailboxKey = mailboxKeyOf(mailbox);

const standIn = standInPerTest(mailbox);
let clock: SteppedClock;
let graph: GraphSimulator;
let webhook: Webhook;
beforeEach(() => {
  ({ clock, graph, webhook } = standIn());
});

async function setUp(options: { maxRetryWaitMs?: number } = {}) {
  const calls: string[] = [];
  const lifecycle = await graphLifecycleWorld(standIn(), mailbox, {
    ...options,
    wrap: (client) => ({
      ...client,
      renewSubscription: (id, at) => {
        calls.push(`PATCH ${id}`);
        return client.renewSubscription(id, at);
      },
      createSubscription: (input) => {
        calls.push(`POST ${input.resource.kind}`);
        return client.createSubscription(input);
      },
    }),
  });
  return { ...lifecycle, calls };
}

const types = (world: ReturnType<typeof fakeWorld>) => world.publisher.types(mailboxKey);
/** Graph removes the messages subscription, and the receiver notes the `recreate` its `subscriptionRemoved` asks for. */
async function removedByGraph(world: ReturnType<typeof fakeWorld>, subscriptionId: string): Promise<void> {
  graph.removeSubscription(subscriptionId);
  await world.table.requestGraphWork(mailboxKey, {
    work: [{ resource: 'messages', work: 'recreate' }],
    obsolete: [],
  });
}
/** The change notifications the stand-in delivered to the webhook so far. */
const deliveredChanges = () =>
  webhook
    .notifications('/graph/notify')
    .flatMap((r) => {
      const batch = decodeNotificationBody(r.body);
      return batch.ok ? batch.value.notifications : [];
    })
    .filter((n): n is ChangeNotification => n.kind === 'change');

describe('the Graph lifecycle against the stand-in', () => {
  it('add: baseline of every folder and the calendar view, then a subscription per resource; watched', async () => {
    const { run, record, deltas, world } = await setUp();
    expect(workFor(record(), clock.now(), world.policy)).toBe('retry');
    const outcome = await run();
    expect(outcome).toMatchObject({ kind: 'graphSettled', created: ['messages', 'events'] });
    const r = record();
    expect(r).toMatchObject({ state: 'active', generation: 3, attempts: 0 });
    expect(r.syncWork).toBeUndefined();
    expect(r.graph?.messages).toMatchObject({ generation: 2, subscriptionId: expect.any(String) });
    expect(r.graph?.events).toMatchObject({ generation: 3, subscriptionId: expect.any(String) });
    expect(graph.subscriptions({ mailbox }).filter((s) => s.state === 'active')).toHaveLength(2);
    const scopes = deltas.all(mailboxKey).map((s) => s.scope);
    expect(scopes).toContain('events/calendarView');
    expect(scopes.filter((s) => s.startsWith('messages/')).length).toBeGreaterThan(1);
    // Both URLs were validated by the stand-in before the creates answered.
    expect(
      webhook
        .validations()
        .map((v) => v.path)
        .sort(),
    ).toEqual(['/graph/lifecycle', '/graph/lifecycle', '/graph/notify', '/graph/notify']);
    expect(types(world)).toEqual(['subscription.created']);
    expect(workFor(r, clock.now(), world.policy)).toBeNull();
  });

  it('add: a change made between the baseline and the subscriptions still reaches consumers', async () => {
    const { world, deps } = await setUp();
    // The stand-in's change lands while the first create is being made (after the baseline).
    const client = await deps.graph('contoso-graph');
    if (client === undefined) throw new Error('no client');
    let changed: ReturnType<GraphSimulator['makeChange']> | undefined;
    const racing = {
      ...client,
      createSubscription: (input: Parameters<GraphClient['createSubscription']>[0]) => {
        changed ??= graph.makeChange({ mailbox, itemType: 'message', kind: 'created', folder: 'inbox' });
        return client.createSubscription(input);
      },
    };
    expect(
      await runGraphJob(world.table.peek(mailboxKey) as SubscriptionRecord, {
        ...deps,
        graph: async () => racing,
      }),
    ).toMatchObject({
      kind: 'graphSettled',
      caughtUp: [],
    });
    expect(world.publisher.events(mailboxKey).map((e) => e.subject)).toContain(changed?.immutableId);
    expect(types(world)).not.toContain('subscription.gap-detected');
  });

  it('a removal while a create is answered: the subscription Graph made is deleted, not left notifying', async () => {
    const { world, deps, record } = await setUp();
    const client = await deps.graph('contoso-graph');
    if (client === undefined) throw new Error('no client');
    const racing = {
      ...client,
      createSubscription: async (input: Parameters<GraphClient['createSubscription']>[0]) => {
        const created = await client.createSubscription(input);
        // `mailboxes remove` lands between Graph's answer and the renewer's write of the id.
        await world.table.markRemoved(mailboxKey, clock.now());
        return created;
      },
    };
    expect(await runGraphJob(record(), { ...deps, graph: async () => racing })).toEqual({
      kind: 'skipped',
      why: 'raced',
    });
    const made = graph.subscriptions({ mailbox });
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ state: 'deleted' });
  });

  it('the calendar view window rolls forward once it has drifted: a later catch-up covers events around its own time', async () => {
    const { deps, record, deltas, world } = await setUp();
    const day = 86_400_000;
    // Small enough that the stand-in's new events (1 to 72 hours ahead) fall outside the first window.
    const windowed = { ...deps, calendarWindow: { backMs: day, aheadMs: 2 * day, rollAfterMs: 2 * day } };
    const run = () => runGraphJob(record(), windowed);
    await run();
    const calendar = () => deltas.all(mailboxKey).find((s) => s.scope === 'events/calendarView');
    const first = calendar()?.window;
    expect(first).toEqual({ start: clock.now() - day, end: clock.now() + 2 * day });

    // Not drifted far enough yet: a job leaves the window as it is.
    clock.advance(day);
    await world.table.requestGraphWork(mailboxKey, {
      work: [{ resource: 'messages', work: 'catchUp' }],
      obsolete: [],
    });
    await run();
    expect(calendar()?.window).toEqual(first);

    // Drifted 3 days: the next job (nothing owed but the roll) takes a round over a window around now.
    clock.advance(2 * day);
    await world.table.requestGraphWork(mailboxKey, {
      work: [{ resource: 'messages', work: 'catchUp' }],
      obsolete: [],
    });
    expect(await run()).toMatchObject({ kind: 'graphSettled' });
    expect(calendar()?.window).toEqual({ start: clock.now() - day, end: clock.now() + 2 * day });

    // An event made now (beyond the first window's end) that Graph did not notify: the catch-up finds it.
    const change = graph.makeChange({ mailbox, itemType: 'event', kind: 'created', recurring: false });
    await world.table.requestGraphWork(mailboxKey, {
      work: [{ resource: 'events', work: 'catchUp' }],
      obsolete: [],
    });
    expect(await run()).toMatchObject({ kind: 'graphSettled', caughtUp: ['events'] });
    const resynced = world.publisher
      .events(mailboxKey)
      .filter((e) => e.type.startsWith('exchange-push-bridge.resync.'));
    expect(resynced.map((e) => e.subject)).toContain(change.immutableId);
    // Enriched like a push: the hints name the Graph read the item needs.
    const found = world.publisher.messages().find((m) => m.body.subject === change.immutableId);
    expect(found?.attributes).toEqual({ 'bridge.connection': 'contoso-graph', 'bridge.graphItem': 'event' });
  });

  it('renews (PATCH) each subscription once its renewal is due, and not before', async () => {
    const { run, record, world, calls } = await setUp();
    await run();
    const before = record().graph?.messages?.expiresAt ?? 0;
    // The daily checkpoint (renewer/graph-checkpoint.ts) would come first: put off past the renewal.
    await world.table.scheduleCheckpoint({
      mailboxKey,
      generation: record().generation,
      dueAt: before,
      now: clock.now(),
    });
    clock.advance(renewalDueAt(before) - clock.now() - 60_000);
    expect(workFor(record(), clock.now(), world.policy)).toBeNull();
    clock.advance(120_000);
    expect(workFor(record(), clock.now(), world.policy)).toBe('renew');
    calls.length = 0;
    expect(await run()).toMatchObject({ kind: 'graphSettled', renewed: ['messages', 'events'], created: [] });
    expect(calls.filter((c) => c.startsWith('PATCH'))).toHaveLength(2);
    expect(record().graph?.messages?.expiresAt).toBeGreaterThan(before);
    expect(workFor(record(), clock.now(), world.policy)).toBeNull();
  });

  it('subscriptionRemoved: a new subscription (new generation), then a delta catch-up between gap-detected and resynced', async () => {
    const { run, record, world } = await setUp();
    await run();
    const old = record().graph?.messages?.subscriptionId ?? '';
    await removedByGraph(world, old);
    const change = graph.makeChange({ mailbox, itemType: 'message', kind: 'created', folder: 'inbox' });
    expect(workFor(record(), clock.now(), world.policy)).toBe('lifecycle');
    const outcome = await run();
    expect(outcome).toMatchObject({ kind: 'graphSettled', created: ['messages'], caughtUp: ['messages'] });
    const r = record();
    expect(r.graph?.messages?.subscriptionId).not.toBe(old);
    expect(r.graph?.messages?.generation).toBe(4);
    expect(r.graphWork).toBeUndefined();
    const seen = types(world);
    expect(seen.slice(1, 2)).toEqual(['subscription.gap-detected']);
    expect(seen.at(-1)).toBe('subscription.resynced');
    expect(seen).toContain('resync.Update');
    const ids = world.publisher.events(mailboxKey).map((e) => e.subject);
    expect(ids).toContain(change.immutableId);
  });

  it('subscriptionRemoved, and the job that recreated it throttled in its catch-up: the next job catches up without creating again', async () => {
    const { run, record, world, calls } = await setUp();
    await run();
    const old = record().graph?.messages?.subscriptionId ?? '';
    await removedByGraph(world, old);
    // /subscriptions is not an Outlook request: the create passes, the delta of the catch-up does not.
    graph.throttle(mailbox, 60_000);
    calls.length = 0;
    expect(await run()).toMatchObject({ kind: 'throttled' });
    const replacement = record().graph?.messages?.subscriptionId;
    expect(replacement).not.toBe(old);
    expect(calls).toEqual(['POST messages']);
    clock.advance(120_000);
    calls.length = 0;
    expect(await run()).toMatchObject({ kind: 'graphSettled', created: [], caughtUp: ['messages'] });
    expect(calls).toEqual([]);
    expect(record().graph?.messages?.subscriptionId).toBe(replacement);
    expect(record().graphWork).toBeUndefined();
    expect(graph.subscriptions({ mailbox }).filter((s) => s.state === 'active')).toHaveLength(2);
  });

  it('subscriptionRemoved of the replacement while the job that created it still catches up: recreated again by the next job, not forgotten', async () => {
    const { run, record, world, deps } = await setUp();
    await run();
    const old = record().graph?.messages?.subscriptionId ?? '';
    await removedByGraph(world, old);
    // Graph removes the replacement too, and the receiver notes it, while the job's catch-up runs:
    // the work set already holds `recreate`, so only the request count tells it apart.
    let removedAgain: string | undefined;
    const client = await deps.graph('contoso-graph');
    if (client === undefined) throw new Error('no client');
    const racing: GraphRenewDeps = {
      ...deps,
      graph: async () => ({
        ...client,
        deltaPage: async (request) => {
          const replacement = record().graph?.messages?.subscriptionId;
          if (removedAgain === undefined && replacement !== undefined && replacement !== old) {
            removedAgain = replacement;
            await removedByGraph(world, replacement);
          }
          return client.deltaPage(request);
        },
      }),
    };
    expect(await runGraphJob(record(), racing)).toMatchObject({
      kind: 'graphSettled',
      created: ['messages'],
    });
    expect(removedAgain).toBeDefined();
    expect(record().graphWork).toEqual({ messages: ['recreate'] });
    expect(workFor(record(), clock.now(), world.policy)).toBe('lifecycle');
    expect(await run()).toMatchObject({ kind: 'graphSettled', created: ['messages'] });
    const third = record().graph?.messages?.subscriptionId;
    expect(third).not.toBe(removedAgain);
    expect(record().graphWork).toBeUndefined();
    expect(
      graph.subscriptions({ mailbox }).filter((s) => s.state === 'active' && s.id === third),
    ).toHaveLength(1);
  });

  it('PATCH answering 404 (Graph deleted it): recreated and caught up', async () => {
    const { run, record, world } = await setUp();
    await run();
    const old = record().graph?.events?.subscriptionId ?? '';
    graph.removeSubscription(old);
    clock.advance(renewalDueAt(record().graph?.events?.expiresAt ?? 0) - clock.now() + 1);
    const outcome = await run();
    expect(outcome).toMatchObject({ kind: 'graphSettled', caughtUp: ['events'] });
    expect(outcome.kind === 'graphSettled' && outcome.created).toContain('events');
    expect(record().graph?.events?.subscriptionId).not.toBe(old);
    expect(types(world)).toContain('subscription.resynced');
  });

  it('missed with an expired delta link (410): the folder read in full, its items as resync Creates', async () => {
    const { run, world } = await setUp();
    await run();
    graph.makeChange({ mailbox, itemType: 'message', kind: 'created', folder: 'inbox' });
    graph.expireDeltaTokens(mailbox);
    await world.table.requestGraphWork(mailboxKey, {
      work: [{ resource: 'messages', work: 'catchUp' }],
      obsolete: [],
    });
    expect(await run()).toMatchObject({ kind: 'graphSettled', caughtUp: ['messages'], created: [] });
    expect(types(world)).toContain('resync.Create');
    // A full read cannot report deletions: the resynced event tells consumers which scope was
    // read in full, so they can treat what it did not name as gone.
    const resynced = world.publisher
      .events(mailboxKey)
      .filter((e) => e.type === 'exchange-push-bridge.subscription.resynced')
      .at(-1);
    expect(resynced === undefined ? undefined : Reflect.get(resynced.data, 'detail')).toMatch(
      /delta link of messages\/.+ \(410\): read in full/,
    );
  });

  it('missed: an item created after the stored delta link, notified, then deleted with its notification lost, is published as a resync Delete', async () => {
    // Delta reports how a folder stands against its link: an item created after the link and
    // deleted before the catch-up appears in no round. Consumers hold it (its creation was
    // notified): without the pushed-item list they would keep it for ever.
    const { run, record, world } = await setUp();
    await run();
    const kept = graph.makeChange({ mailbox, itemType: 'message', kind: 'created', folder: 'inbox' });
    const doomed = graph.makeChange({ mailbox, itemType: 'message', kind: 'created', folder: 'inbox' });
    clock.advance(2_000);
    await until(() => deliveredChanges().length >= 2, 'both creations notified');
    // What the receiver notes as it publishes them.
    await world.pushedItems.record(mailboxKey, graphPushedItemListChanges(deliveredChanges()), clock.now());
    const subscriptionId = record().graph?.messages?.subscriptionId ?? '';
    graph.missNotifications(subscriptionId, 1);
    graph.makeChange({ mailbox, itemType: 'message', kind: 'deleted', itemId: doomed.immutableId });
    expect(graph.losses({ subscriptionId }).map((l) => l.reason)).toEqual(['missed']);
    await world.table.requestGraphWork(mailboxKey, {
      work: [{ resource: 'messages', work: 'catchUp' }],
      obsolete: [],
    });
    expect(await run()).toMatchObject({ kind: 'graphSettled', caughtUp: ['messages'] });
    const deletes = world.publisher
      .events(mailboxKey)
      .filter((e) => e.type === 'exchange-push-bridge.resync.Delete')
      .map((e) => e.subject);
    expect(deletes).toEqual([doomed.immutableId]);
    // The item that still exists was named by the round (present) or asked about; never deleted.
    expect(deletes).not.toContain(kept.immutableId);
    // The deleted one leaves the list; the other stays until a catch-up well after its note.
    const listed = [];
    for await (const item of world.pushedItems.list(mailboxKey)) listed.push(item.itemId);
    expect(listed).not.toContain(doomed.immutableId);
  });

  it('a recurring series consumers were told of, deleted with its notification lost long after: a resync Delete of the series', async () => {
    // The calendar view's delta reports a series by its occurrences (their own ids), never by the
    // master's id the notifications named: only the pushed-item list can say the series is gone.
    const { run, record, world } = await setUp();
    await run();
    const series = graph.makeChange({ mailbox, itemType: 'event', kind: 'created', recurring: true });
    clock.advance(2_000);
    await until(() => deliveredChanges().length >= 1, 'the series notified');
    await world.pushedItems.record(mailboxKey, graphPushedItemListChanges(deliveredChanges()), clock.now());
    // A catch-up well after (the note older than the trim margin) finds the series present.
    clock.advance(60 * 60_000);
    const catchUp = { work: [{ resource: 'events' as const, work: 'catchUp' as const }], obsolete: [] };
    await world.table.requestGraphWork(mailboxKey, catchUp);
    expect(await run()).toMatchObject({ kind: 'graphSettled', caughtUp: ['events'] });
    const deletes = () =>
      world.publisher
        .events(mailboxKey)
        .filter((e) => e.type === 'exchange-push-bridge.resync.Delete')
        .map((e) => e.subject);
    expect(deletes()).toEqual([]);
    // Then deleted, its notification lost.
    graph.missNotifications(record().graph?.events?.subscriptionId ?? '', 1);
    graph.makeChange({ mailbox, itemType: 'event', kind: 'deleted', itemId: series.immutableId });
    await world.table.requestGraphWork(mailboxKey, catchUp);
    expect(await run()).toMatchObject({ kind: 'graphSettled', caughtUp: ['events'] });
    expect(deletes()).toContain(series.immutableId);
  });

  it('a recurring series created while the subscription was removed: caught up as its series (the id notifications use), not as its occurrences', async () => {
    const { run, record, world } = await setUp();
    await run();
    graph.removeSubscription(record().graph?.events?.subscriptionId ?? '');
    const series = graph.makeChange({ mailbox, itemType: 'event', kind: 'created', recurring: true });
    await world.table.requestGraphWork(mailboxKey, {
      work: [{ resource: 'events', work: 'recreate' }],
      obsolete: [],
    });
    expect(await run()).toMatchObject({ kind: 'graphSettled', caughtUp: ['events'] });
    const resynced = world.publisher
      .events(mailboxKey)
      .filter((e) => e.type.startsWith('exchange-push-bridge.resync.'));
    expect(resynced.map((e) => e.subject)).toEqual([series.immutableId]);
  });

  it('reauthorizationRequired: PATCH, but not again within 10 minutes', async () => {
    const { run, world, calls } = await setUp();
    await run();
    calls.length = 0;
    const work = { work: [{ resource: 'messages' as const, work: 'reauthorize' as const }], obsolete: [] };
    clock.advance(11 * 60_000);
    await world.table.requestGraphWork(mailboxKey, work);
    await run();
    expect(calls).toHaveLength(1);
    clock.advance(5 * 60_000);
    await world.table.requestGraphWork(mailboxKey, work);
    await run();
    expect(calls).toHaveLength(1);
  });

  it('reauthorizationRequired within 10 minutes of the last PATCH (here the create): answered once the 10 minutes are over, before Graph pauses delivery', async () => {
    const { run, record, world, calls } = await setUp();
    await run();
    const id = record().graph?.messages?.subscriptionId ?? '';
    clock.advance(2 * 60_000);
    graph.requireReauthorization(id);
    const work = { work: [{ resource: 'messages' as const, work: 'reauthorize' as const }], obsolete: [] };
    await world.table.requestGraphWork(mailboxKey, work);
    calls.length = 0;
    await run();
    // Not yet: the create was a PATCH's worth of authorization 2 minutes ago. Still owed.
    expect(calls).toEqual([]);
    expect(record().graphWork).toEqual({ messages: ['reauthorize'] });
    expect(workFor(record(), clock.now(), world.policy)).toBe('lifecycle');
    clock.advance(8 * 60_000 + 1);
    await run();
    expect(calls).toEqual([`PATCH ${id}`]);
    expect(record().graphWork).toBeUndefined();
    // Answered within the stand-in's grace: delivery never paused.
    clock.advance(10 * 60_000);
    expect(graph.subscriptions({ mailbox }).find((s) => s.id === id)).toMatchObject({
      paused: false,
      reauthorizationRequiredSince: null,
    });
  });

  it('create answering 409 for a subscription of an older generation: deleted and created anew', async () => {
    const { run, record, world } = await setUp();
    await run();
    // The create's answer was lost: the record knows the generation but not the id.
    const r = record();
    world.table.put({ ...r, graph: { ...(r.graph ?? { userId: mailbox }), messages: { generation: 2 } } });
    expect(await run()).toMatchObject({ kind: 'graphSettled', created: ['messages'] });
    const active = graph.subscriptions({ mailbox }).filter((s) => s.state === 'active');
    expect(active).toHaveLength(2);
    expect(active.map((s) => s.id)).toContain(record().graph?.messages?.subscriptionId);
  });

  it('a create that failed earlier: the next attempt creates it and catches up what changed meanwhile', async () => {
    const { run, record, world } = await setUp();
    await run();
    const r = record();
    const old = r.graph?.events?.subscriptionId ?? '';
    graph.removeSubscription(old);
    // An earlier recreate stored its new generation, and then its create failed.
    world.table.put({
      ...r,
      generation: r.generation + 1,
      graph: { ...(r.graph ?? { userId: mailbox }), events: { generation: r.generation + 1 } },
    });
    graph.makeChange({ mailbox, itemType: 'event', kind: 'created' });
    expect(workFor(record(), clock.now(), world.policy)).toBe('renew');
    expect(await run()).toMatchObject({ kind: 'graphSettled', created: ['events'], caughtUp: ['events'] });
    expect(types(world)).toContain('resync.Update');
  });

  it('deletes superseded subscriptions that still notify', async () => {
    const { run, record, world, deps } = await setUp();
    await run();
    // A subscription of an older generation, still alive at Graph (its deletion never happened).
    const client = await deps.graph('contoso-graph');
    const stray = await client?.createSubscription({
      resource: { kind: 'messages', userId: mailbox, folderId: 'inbox' },
      notificationUrl: `${webhook.url}/graph/notify`,
      lifecycleNotificationUrl: `${webhook.url}/graph/lifecycle`,
      clientState: 'v1.superseded',
    });
    if (stray === undefined || !stray.ok) throw new Error('no stray subscription');
    await world.table.requestGraphWork(mailboxKey, { work: [], obsolete: [stray.value.id] });
    expect(workFor(record(), clock.now(), world.policy)).toBe('lifecycle');
    expect(await run()).toMatchObject({ kind: 'graphSettled', deleted: 1 });
    expect(graph.subscriptions({ mailbox }).find((s) => s.id === stray.value.id)?.state).not.toBe('active');
    expect(record().graphObsolete).toBeUndefined();
  });

  it('throttled past what the client waits (429): requeued after Retry-After, not a failure', async () => {
    const { run, world, record } = await setUp({ maxRetryWaitMs: 0 });
    graph.throttle(mailbox, 60_000);
    const outcome = await run();
    expect(outcome.kind).toBe('throttled');
    const [pending] = world.queue.pending();
    expect(pending?.delayMs).toBeGreaterThan(0);
    expect(record().attempts).toBe(0);
  });

  it('the sweep finds the Graph mailbox and the renewer dispatches it to the Graph lifecycle; then nothing is owed', async () => {
    const { world, deps } = await setUp();
    const renewDeps = {
      ...world.renewDeps,
      clock,
      callbackBaseUrl: webhook.url,
      graph: { store: world.table, deltas: deps.deltas, client: deps.graph },
    };
    const sweepDeps = { ...world.sweepDeps, clock };
    const once = async () => {
      await sweep(sweepDeps);
      const outcomes = [];
      for (const job of world.queue.receive())
        outcomes.push(await runOpened(await openJob(job, renewDeps), renewDeps));
      return outcomes;
    };
    expect((await once()).map((o) => o.kind)).toEqual(['graphSettled']);
    expect(world.table.peek(mailboxKey)?.state).toBe('active');
    expect(await once()).toEqual([]);
    // Without Graph wired, the job fails as a missing connection does: a person must act.
    world.table.put({
      ...(world.table.peek(mailboxKey) as SubscriptionRecord),
      graphWork: { events: ['catchUp'] },
    });
    await sweep(sweepDeps);
    const [job] = world.queue.receive();
    if (job === undefined) throw new Error('no job');
    const { graph: _wired, ...unwired } = renewDeps;
    expect(await runOpened(await openJob(job, unwired), unwired)).toMatchObject({
      kind: 'failed',
      needsAttention: true,
    });
  });

  it("Graph cannot validate the receiver's URL: the job fails, counted GraphRenewalsFailed and GraphValidationFailures", async () => {
    const { world, deps } = await setUp();
    // The receiver does not answer validation (a cold start past 10 s, a broken route).
    webhook.answerWith((request) => (request.value.length === 0 ? { status: 500 } : 'ok'));
    const metrics = new MemoryMetrics();
    const handler = createRenewerHandler({
      ...world.renewDeps,
      clock,
      callbackBaseUrl: webhook.url,
      graph: { store: world.table, deltas: deps.deltas, client: deps.graph },
      logger: silentLog,
      metrics,
    });
    await sweep({ ...world.sweepDeps, clock });
    const jobs = world.queue.receive();
    expect(jobs).toHaveLength(1);
    const records = jobs.map((job, n) => ({ messageId: `j${n}`, body: JSON.stringify(job) }) as SQSRecord);
    expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] });
    expect(metrics.get('RenewalsFailed')).toBe(1);
    expect(metrics.get('GraphRenewalsFailed')).toBe(1);
    expect(metrics.get('GraphValidationFailures')).toBe(1);
    expect(world.table.peek(mailboxKey)?.lastError).toMatch(/ValidationError/);
  });

  it('an unknown Graph connection needs a person: recorded, retried slowly', async () => {
    const { deps, record, world } = await setUp();
    const outcome = await runGraphJob({ ...record(), connection: 'gone' }, deps);
    expect(outcome).toMatchObject({ kind: 'failed', needsAttention: true });
    expect(world.table.peek(mailboxKey)?.lastError).toMatch(/^needs attention: Graph connection "gone"/);
  });
});
