/**
 * The Graph checkpoint (renewer/graph-checkpoint.ts) against the Graph stand-in through the real
 * Graph client, on a stepped clock, the bridge's state in the fakes: the take (quiet delta rounds
 * stored as pending links), the promote once Graph's delivery span has passed, each refusal
 * (too early, a new generation, a catch-up in between, lifecycle work owed), the trim of the
 * pushed-item list that keeps series masters, a subscription Graph lost found by the GETs, a
 * forgotten link (410), throttling, and the catch-up noting the series masters it publishes.
 */
import type { SQSRecord } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryMetrics, silentLog } from '../../../functions/core/telemetry.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import { graphDeliverySpanMs, workFor } from '../../../functions/domain/policy.ts';
import { createRenewerHandler } from '../../../functions/renewer/batch.ts';
import { type GraphCheckpointDeps, graphCheckpoint } from '../../../functions/renewer/graph-checkpoint.ts';
import { TRIM_MARGIN_MS } from '../../../functions/renewer/reconcile.ts';
import { sweep } from '../../../functions/sweeper/sweep.ts';
import type { GraphSimulator } from '../../../graph-simulator/server.ts';
import type { Webhook } from '../../graph-simulator/support.ts';
import type { SteppedClock } from '../../support/stepped-clock.ts';
import { graphLifecycleWorld, standInPerTest } from './lifecycle-world.ts';

const mailbox = 'ada@contoso.test';
const mailboxKey = mailboxKeyOf(mailbox);
const MINUTE = 60_000;

const standIn = standInPerTest(mailbox);
let clock: SteppedClock;
let graph: GraphSimulator;
let webhook: Webhook;
beforeEach(() => {
  ({ clock, graph, webhook } = standIn());
});

async function setUp(options: { maxRetryWaitMs?: number } = {}) {
  const { world, deps, deltas, record, run } = await graphLifecycleWorld(standIn(), mailbox, options);
  const checkpointDeps: GraphCheckpointDeps = {
    store: world.table,
    deltas,
    graph: deps.graph,
    pushedItemList: world.pushedItems,
    clock,
    policy: world.policy,
    random: () => 0.5,
  };
  const checkpoint = () => graphCheckpoint(record(), checkpointDeps);
  /** Baseline and subscriptions, then the clock at the first checkpoint. */
  const settledAndDue = async () => {
    expect(await run()).toMatchObject({ kind: 'graphSettled' });
    const due = record().checkpointDueAt ?? Number.NaN;
    clock.advance(due - clock.now());
    expect(workFor(record(), clock.now(), world.policy)).toBe('checkpoint');
  };
  /** Takes a checkpoint and moves the clock to when it is proven. */
  const takeAndWait = async () => {
    const taken = await checkpoint();
    expect(taken).toMatchObject({ kind: 'graphCheckpointed', promoted: 0, refused: null });
    const pending = await deltas.getCheckpoint(mailboxKey);
    if (pending === undefined) throw new Error('no pending checkpoint');
    clock.advance(pending.provenAfter - clock.now());
    return pending;
  };
  const requestWork = (resource: 'messages' | 'events', work: 'catchUp' | 'recreate') =>
    world.table.requestGraphWork(mailboxKey, { work: [{ resource, work }], obsolete: [] });
  const links = () => Object.fromEntries(deltas.all(mailboxKey).map((s) => [s.scope, s.deltaLink]));
  return { world, deps, deltas, record, run, checkpoint, settledAndDue, takeAndWait, requestWork, links };
}

/** A message the receiver listed an hour ago (before any take the test makes). */
function notedAnHourAgo(world: Awaited<ReturnType<typeof setUp>>['world'], itemId: string): void {
  world.pushedItems.note(mailboxKey, { itemId, folderId: 'messages', notedAt: clock.now() - 3_600_000 });
}

describe('the Graph checkpoint against the stand-in', () => {
  it('is first due one interval (±10%) after the baseline, and only once nothing else is owed', async () => {
    const { run, record, world, requestWork } = await setUp();
    const added = clock.now();
    await run();
    const due = record().checkpointDueAt ?? Number.NaN;
    expect(due).toBe(added + world.policy.checkpointIntervalMs);
    clock.advance(due - clock.now() - 1);
    expect(workFor(record(), clock.now(), world.policy)).toBeNull();
    clock.advance(1);
    expect(workFor(record(), clock.now(), world.policy)).toBe('checkpoint');
    // Lifecycle work goes first.
    await requestWork('events', 'catchUp');
    expect(workFor(record(), clock.now(), world.policy)).toBe('lifecycle');
  });

  it('take: a quiet delta round per scope stored as pending links beside the current ones; proven after the take + 2 x (10 min + 4 h) + slack', async () => {
    const { settledAndDue, checkpoint, deltas, record, world, links } = await setUp();
    await settledAndDue();
    const before = links();
    const scopes = Object.keys(before);
    expect(scopes).toContain('events/calendarView');
    graph.makeChange({ mailbox, itemType: 'message', kind: 'created', folder: 'inbox' });
    const published = world.publisher.events(mailboxKey).length;
    const takenAt = clock.now();
    const outcome = await checkpoint();
    expect(outcome).toMatchObject({
      kind: 'graphCheckpointed',
      taken: scopes.length,
      promoted: 0,
      trimmed: 0,
      subscriptionsGone: 0,
      refused: null,
    });
    // Nothing published, the current links untouched, each pending one based on its scope's.
    expect(world.publisher.events(mailboxKey)).toHaveLength(published);
    expect(links()).toEqual(before);
    for (const scope of scopes) {
      const pending = await deltas.getPending(mailboxKey, scope);
      expect(pending?.basedOn).toBe(before[scope]);
      expect(pending?.deltaLink).not.toBe(before[scope]);
    }
    const provenAfter = takenAt + graphDeliverySpanMs(world.policy) + world.policy.staleSlackMs;
    expect(graphDeliverySpanMs(world.policy)).toBe(2 * (10 * MINUTE + 4 * 3_600_000));
    expect(await deltas.getCheckpoint(mailboxKey)).toEqual({
      generation: record().generation,
      takenAt,
      provenAfter,
    });
    expect(outcome.kind === 'graphCheckpointed' && outcome.nextAt).toBe(provenAfter);
    expect(record().checkpointDueAt).toBe(provenAfter);
    expect(workFor(record(), clock.now(), world.policy)).toBeNull();
  });

  it('too early: a run before the proof leaves the pending links pending and comes back when it is proven', async () => {
    const { settledAndDue, checkpoint, deltas, links, world, record } = await setUp();
    await settledAndDue();
    await checkpoint();
    const pending = await deltas.getCheckpoint(mailboxKey);
    const before = links();
    clock.advance(MINUTE);
    // The sweeper would not queue it yet; a late lease or a stray message runs it anyway.
    await world.table.scheduleCheckpoint({
      mailboxKey,
      generation: record().generation,
      dueAt: clock.now(),
      now: clock.now(),
    });
    const outcome = await checkpoint();
    expect(outcome).toMatchObject({
      kind: 'graphCheckpointed',
      taken: 0,
      promoted: 0,
      nextAt: pending?.provenAfter,
    });
    expect(links()).toEqual(before);
    expect(await deltas.getCheckpoint(mailboxKey)).toEqual(pending);
  });

  it('promote: every pending link made current; messages noted before the take trimmed, events only where the view named them, series masters kept', async () => {
    const { settledAndDue, checkpoint, takeAndWait, deltas, world, links, record } = await setUp();
    await settledAndDue();
    const single = graph.makeChange({ mailbox, itemType: 'event', kind: 'created', recurring: false });
    const series = graph.makeChange({ mailbox, itemType: 'event', kind: 'created', recurring: true });
    const notedBefore = clock.now() - TRIM_MARGIN_MS - MINUTE;
    const list = world.pushedItems;
    list.note(mailboxKey, { itemId: 'M-old', folderId: 'messages', notedAt: notedBefore });
    list.note(mailboxKey, { itemId: single.immutableId, folderId: 'events', notedAt: notedBefore });
    list.note(mailboxKey, { itemId: series.immutableId, folderId: 'events', notedAt: notedBefore });
    // Within the margin of the take: kept. Another source's entry: never this source's to trim.
    list.note(mailboxKey, { itemId: 'M-recent', folderId: 'messages', notedAt: clock.now() - MINUTE });
    list.note(mailboxKey, { itemId: 'AAMkEWS=', folderId: 'AAMkInbox=', notedAt: notedBefore });

    const pending = await takeAndWait();
    const pendingLinks = Object.fromEntries(
      await Promise.all(
        Object.keys(links()).map(async (scope) => [
          scope,
          (await deltas.getPending(mailboxKey, scope))?.deltaLink,
        ]),
      ),
    );
    expect(workFor(record(), clock.now(), world.policy)).toBe('checkpoint');
    const outcome = await checkpoint();
    expect(outcome).toMatchObject({
      kind: 'graphCheckpointed',
      taken: 0,
      promoted: Object.keys(pendingLinks).length,
      trimmed: 2,
      refused: null,
    });
    expect(links()).toEqual(pendingLinks);
    expect(
      list
        .entries(mailboxKey)
        .map((e) => e.itemId)
        .sort(),
    ).toEqual(['AAMkEWS=', 'M-recent', series.immutableId].sort());
    expect(await deltas.getCheckpoint(mailboxKey)).toBeUndefined();
    // The next one an interval (±10%) later.
    expect(record().checkpointDueAt).toBe(clock.now() + world.policy.checkpointIntervalMs);
    expect(pending.takenAt).toBeLessThan(clock.now());
  });

  it('refused: a new generation since the take (a recreate) discards it, and a new one is taken', async () => {
    const { settledAndDue, checkpoint, takeAndWait, deltas, requestWork, run, record, links } = await setUp();
    await settledAndDue();
    const taken = await takeAndWait();
    graph.removeSubscription(record().graph?.messages?.subscriptionId ?? '');
    await requestWork('messages', 'recreate');
    expect(await run()).toMatchObject({ kind: 'graphSettled', created: ['messages'] });
    const generation = record().generation;
    expect(generation).toBeGreaterThan(taken.generation);
    const calendar = links()['events/calendarView'];
    await checkpoint();
    // Nothing promoted (not even the calendar view, which no catch-up touched): taken again.
    expect(links()['events/calendarView']).toBe(calendar);
    expect(await deltas.getCheckpoint(mailboxKey)).toMatchObject({ generation });
    expect((await deltas.getPending(mailboxKey, 'events/calendarView'))?.basedOn).toBe(calendar);
  });

  it('refused per scope: a catch-up in between replaced the links it was taken from; the rest is promoted, nothing trimmed', async () => {
    const { settledAndDue, checkpoint, takeAndWait, requestWork, run, world, links } = await setUp();
    await settledAndDue();
    notedAnHourAgo(world, 'M-old');
    await takeAndWait();
    await requestWork('messages', 'catchUp');
    expect(await run()).toMatchObject({ kind: 'graphSettled', caughtUp: ['messages'] });
    const caughtUp = links();
    // The catch-up asked about the listed item (the stand-in has no such message: a resync Delete).
    notedAnHourAgo(world, 'M-old2');
    const outcome = await checkpoint();
    expect(outcome).toMatchObject({ kind: 'graphCheckpointed', promoted: 1, trimmed: 0 });
    const after = links();
    for (const scope of Object.keys(after).filter((s) => s.startsWith('messages/')))
      expect(after[scope]).toBe(caughtUp[scope]);
    expect(after['events/calendarView']).not.toBe(caughtUp['events/calendarView']);
    expect(world.pushedItems.entries(mailboxKey).map((e) => e.itemId)).toEqual(['M-old2']);
  });

  it('refused: lifecycle work owed (a missed notification whose catch-up has not run) stops the promote', async () => {
    const { settledAndDue, checkpoint, takeAndWait, requestWork, world, links, record } = await setUp();
    await settledAndDue();
    notedAnHourAgo(world, 'M-old');
    await takeAndWait();
    const before = links();
    await requestWork('events', 'catchUp');
    expect(workFor(record(), clock.now(), world.policy)).toBe('lifecycle');
    expect(await checkpoint()).toMatchObject({
      kind: 'graphCheckpointed',
      promoted: 0,
      trimmed: 0,
      refused: 'workOwed',
    });
    expect(links()).toEqual(before);
    expect(world.pushedItems.entries(mailboxKey)).toHaveLength(1);
  });

  it('a subscription Graph lost without telling (no subscriptionRemoved reached us): found by the GET, recreate owed', async () => {
    const { settledAndDue, checkpoint, record, world, run, deltas } = await setUp();
    await settledAndDue();
    const lost = record().graph?.events?.subscriptionId ?? '';
    graph.removeSubscription(lost);
    expect(await checkpoint()).toMatchObject({
      kind: 'graphCheckpointed',
      subscriptionsGone: 1,
      taken: 0,
      refused: 'subscriptionGone',
    });
    expect(record().graphWork).toEqual({ events: ['recreate'] });
    expect(await deltas.getCheckpoint(mailboxKey)).toBeUndefined();
    expect(workFor(record(), clock.now(), world.policy)).toBe('lifecycle');
    expect(await run()).toMatchObject({ kind: 'graphSettled', created: ['events'], caughtUp: ['events'] });
    expect(record().graph?.events?.subscriptionId).not.toBe(lost);
  });

  it('a link Graph forgot (410) at the take: a catch-up is asked for (it reads the scope in full and asks about every listed item)', async () => {
    const { settledAndDue, checkpoint, record, deltas } = await setUp();
    await settledAndDue();
    graph.expireDeltaTokens(mailbox);
    expect(await checkpoint()).toMatchObject({ kind: 'graphCheckpointed', refused: 'linkExpired' });
    expect(record().graphWork).toEqual({ messages: ['catchUp'], events: ['catchUp'] });
    expect(await deltas.getCheckpoint(mailboxKey)).toBeUndefined();
  });

  it('throttled: deferred for Retry-After; the mailbox stays active with no failure counted', async () => {
    const { settledAndDue, checkpoint, record } = await setUp();
    await settledAndDue();
    graph.throttle(mailbox, 60_000);
    const outcome = await checkpoint();
    expect(outcome).toMatchObject({ kind: 'deferred', throttled: true });
    expect(outcome.kind === 'deferred' && outcome.nextAt).toBeGreaterThan(clock.now());
    expect(record()).toMatchObject({ state: 'active', attempts: 0 });
    expect(record().checkpointDueAt).toBe(outcome.kind === 'deferred' ? outcome.nextAt : Number.NaN);
  });

  it('the sweep queues a due Graph checkpoint and the renewer runs it: taken, then promoted, counted', async () => {
    const { settledAndDue, world, deps, deltas, record } = await setUp();
    await settledAndDue();
    const metrics = new MemoryMetrics();
    const handler = createRenewerHandler({
      ...world.renewDeps,
      clock,
      callbackBaseUrl: webhook.url,
      graph: { store: world.table, deltas: deps.deltas, client: deps.graph },
      logger: silentLog,
      metrics,
    });
    const once = async () => {
      await sweep({ ...world.sweepDeps, clock });
      const jobs = world.queue.receive();
      expect(jobs.map((j) => j.reason)).toEqual(['checkpoint']);
      const records = jobs.map((job, n) => ({ messageId: `j${n}`, body: JSON.stringify(job) }) as SQSRecord);
      expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] });
    };
    await once();
    expect(metrics.get('GraphCheckpointsTaken')).toBe(1);
    clock.advance((record().checkpointDueAt ?? 0) - clock.now());
    await once();
    expect(metrics.get('GraphCheckpointsPromoted')).toBe(1);
    expect(metrics.get('GraphCheckpointLinksPromoted')).toBe(deltas.all(mailboxKey).length);
    expect(await deltas.getCheckpoint(mailboxKey)).toBeUndefined();
  });

  it('a catch-up notes the series masters it publishes: their deletion is then asked about', async () => {
    const { run, requestWork, world } = await setUp();
    await run();
    const series = graph.makeChange({ mailbox, itemType: 'event', kind: 'created', recurring: true });
    await requestWork('events', 'catchUp');
    expect(await run()).toMatchObject({ kind: 'graphSettled', caughtUp: ['events'] });
    expect(world.pushedItems.entries(mailboxKey)).toEqual([
      { itemId: series.immutableId, folderId: 'events', notedAt: clock.now() },
    ]);
  });
});
