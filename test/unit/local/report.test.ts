import { describe, expect, it } from 'vitest';
import type { LossRecord } from '../../../graph-simulator/delivery.ts';
import type { GraphChange } from '../../../graph-simulator/mailbox-store.ts';
import type { SubscriptionView as GraphSubscriptionView } from '../../../graph-simulator/subscriptions.ts';
import type { DeliveredEvent } from '../../../local/audit.ts';
import {
  buildReport,
  changesWhileWatched,
  findMissingChanges,
  type RunState,
} from '../../../local/report.ts';
import type { ChangeRecord } from '../../../simulator/mailbox-store.ts';
import type { SubscriptionView } from '../../../simulator/push-engine.ts';

const T = Date.UTC(2026, 10, 21, 10, 0, 0);
const S = 1000;
let seq = 0;
function change(
  kind: ChangeRecord['kind'],
  at: number,
  itemId: string,
  oldItemId: string | null = null,
): ChangeRecord {
  return {
    seq: ++seq,
    at,
    mailbox: 'ada@contoso.test',
    kind,
    element: 'Message',
    folder: 'inbox',
    folderId: 'F',
    itemId,
    changeKey: null,
    oldItemId,
    oldFolder: null,
    oldFolderId: null,
    isRead: null,
    events: [],
  };
}
function notified(itemId: string, at: number, oldItemId: string | null = null): DeliveredEvent {
  return {
    id: `e-${itemId}-${at}`,
    type: 'exchange-push-bridge.notification.CreatedEvent',
    mailboxKey: 'k',
    time: new Date(at).toISOString(),
    data: {
      timeStamp: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      itemId: { id: itemId, changeKey: null },
      oldItemId: oldItemId === null ? null : { id: oldItemId, changeKey: null },
    },
    receivedAt: at,
  };
}
function sub(
  id: string,
  createdAt: number,
  endedAt: number | null,
  state: SubscriptionView['state'] = endedAt === null ? 'active' : 'lost',
): SubscriptionView {
  return {
    subscriptionId: id,
    mailbox: 'ada@contoso.test',
    folders: 'all',
    eventTypes: [],
    statusFrequency: 1,
    url: '',
    callerData: null,
    resumedFrom: null,
    state,
    createdAt,
    endedAt,
    endReason: null,
    lastWatermark: 'W',
    lastDeliveredAt: null,
    failedAttempts: 0,
  };
}

describe('the local run report', () => {
  it('counts an item change as delivered only by an event for that item (or its old id) at or after its last change', () => {
    const changes = [
      change('create', T, 'A'),
      change('modify', T + 10 * S, 'A'),
      change('move', T + 20 * S, 'B', 'A'),
      change('create', T + 30 * S, 'C'),
    ];
    // A's events predate its move; the move is reflected by an event naming B (or A as its old id).
    expect(
      findMissingChanges(changes, [notified('A', T), notified('A', T + 10 * S)]).map((c) => c.itemId),
    ).toEqual(['B', 'C']);
    expect(findMissingChanges(changes, [notified('B', T + 20 * S, 'A'), notified('C', T + 30 * S)])).toEqual(
      [],
    );
    // TimeStamps are whole seconds: an event in the change's second reflects it.
    expect(
      findMissingChanges([change('create', T + 30 * S + 400, 'D')], [notified('D', T + 30 * S)]),
    ).toEqual([]);
  });

  it('counts a delete as reflected by a Delete naming an id the item had before a move (the pushed-item list check names the id consumers hold)', () => {
    const changes = [
      change('create', T, 'A'),
      change('move', T + 10 * S, 'B', 'A'),
      change('delete', T + 20 * S, 'B'),
    ];
    const resyncDelete = (itemId: string, at: number): DeliveredEvent => ({
      ...notified(itemId, at),
      type: 'exchange-push-bridge.resync.Delete',
      data: { itemId: { id: itemId, changeKey: null } },
    });
    const base = {
      deliveries: new Map(),
      // Exchange pushed after the delete: what is not reflected now never will be.
      subscriptions: [{ ...sub('S1', T - S, null), lastDeliveredAt: T + 60 * S }],
      mailboxes: ['ada@contoso.test'],
    };
    const state: RunState = { inFlight: { ingest: 0 }, deadLetters: {}, busyMailboxes: new Set() };
    expect(
      buildReport({ ...base, changes, delivered: [notified('A', T), resyncDelete('A', T + 30 * S)], state })
        .missingChanges,
    ).toBe(0);
    // A Delete of the old id from before the delete proves nothing.
    expect(
      buildReport({ ...base, changes, delivered: [notified('A', T), resyncDelete('A', T + 5 * S)], state })
        .missingChanges,
    ).toBe(1);
  });

  it('leaves out changes made before the mailbox was first subscribed', () => {
    const changes = [change('create', T - S, 'old'), change('create', T + S, 'new')];
    expect(changesWhileWatched(changes, [sub('S1', T, null)]).map((c) => c.itemId)).toEqual(['new']);
  });

  it('counts losses, recoveries, the longest heal, duplicates and unhealed mailboxes', () => {
    const report = buildReport({
      changes: [],
      delivered: [],
      deliveries: new Map([
        ['a', 1],
        ['b', 3],
      ]),
      subscriptions: [
        sub('S1', T, T + 60 * S),
        sub('S2', T + 150 * S, T + 200 * S, 'expired'),
        sub('S3', T + 230 * S, null),
      ],
      mailboxes: ['ada@contoso.test', 'bob@contoso.test'],
    });
    expect(report).toMatchObject({
      duplicateEvents: 2,
      subscriptionsLost: 2,
      subscriptionsRecovered: 2,
      maxHealSeconds: 90,
      unhealed: 1,
    });
  });

  it('counts a subscription the bridge replaced before Exchange dropped it as healed at once', () => {
    const report = buildReport({
      changes: [],
      delivered: [],
      deliveries: new Map(),
      // S1 was renewed (S2) while still alive, then lost: nothing was waiting on it.
      subscriptions: [sub('S1', T, T + 100 * S), sub('S2', T + 60 * S, null)],
      mailboxes: ['ada@contoso.test'],
    });
    expect(report).toMatchObject({ subscriptionsLost: 1, subscriptionsRecovered: 1, maxHealSeconds: 0 });
  });

  it('tells unobservable changes (created and deleted while no subscription existed, then resynced) from missing ones', () => {
    const lostAt = T + 60 * S;
    const renewedAt = T + 240 * S;
    // Judged at rest: nothing in flight, S2 has pushed since.
    const subscriptions = [
      sub('S1', T, lostAt),
      { ...sub('S2', renewedAt, null), lastDeliveredAt: renewedAt },
    ];
    const state: RunState = { inFlight: {}, deadLetters: {}, busyMailboxes: new Set() };
    const changes = [
      change('create', T + 100 * S, 'X'),
      change('delete', T + 120 * S, 'X'),
      change('create', T + 130 * S, 'Y'),
    ];
    const resynced: DeliveredEvent = {
      id: 'r',
      type: 'exchange-push-bridge.subscription.resynced',
      mailboxKey: 'k',
      time: new Date(renewedAt).toISOString(),
      data: { subscriptionId: 'S2' },
      receivedAt: renewedAt,
    };
    const withResync = buildReport({
      changes,
      delivered: [resynced, notified('Y', renewedAt)],
      deliveries: new Map(),
      subscriptions,
      mailboxes: ['ada@contoso.test'],
      state,
    });
    expect(withResync).toMatchObject({ missingChanges: 1, unobservableChanges: 1 });
    // Had the next subscription resumed (no resync), Exchange would have replayed X: truly missing.
    const resumed = buildReport({
      changes,
      delivered: [notified('Y', renewedAt)],
      deliveries: new Map(),
      subscriptions,
      mailboxes: ['ada@contoso.test'],
      state,
    });
    expect(resumed).toMatchObject({ missingChanges: 1, unobservableChanges: 0 });
  });
});

describe('unobservable changes when the heal took more than one subscription', () => {
  // The chaos e2e (seed 42): a mass loss moved the mailbox; an item was created and deleted
  // before the fresh subscription that healed it; that one gapped before its catch-up ran, and
  // the catch-up owed ran under the subscription that resumed from it.
  const lostAt = T + 60 * S;
  const freshAt = T + 240 * S;
  const resumedAt = T + 300 * S;
  const state: RunState = { inFlight: {}, deadLetters: {}, busyMailboxes: new Set() };
  const changes = () => [change('create', T + 100 * S, 'X'), change('delete', T + 120 * S, 'X')];
  const resynced = (subscriptionId: string): DeliveredEvent => ({
    id: `r-${subscriptionId}`,
    type: 'exchange-push-bridge.subscription.resynced',
    mailboxKey: 'k',
    time: new Date(resumedAt).toISOString(),
    data: { subscriptionId },
    receivedAt: resumedAt,
  });
  const judge = (next: SubscriptionView, resyncedBy: string) =>
    buildReport({
      changes: changes(),
      delivered: [resynced(resyncedBy)],
      deliveries: new Map(),
      subscriptions: [
        sub('S1', T, lostAt),
        next,
        { ...sub('S3', resumedAt, null), resumedFrom: 'W2', lastDeliveredAt: resumedAt },
      ],
      mailboxes: ['ada@contoso.test'],
      state,
    });

  it('a fresh subscription after the delete, resynced under the one that replaced it: unobservable', () => {
    const fresh = { ...sub('S2', freshAt, resumedAt - S, 'unsubscribed'), lastWatermark: 'W2' };
    expect(judge(fresh, 'S3')).toMatchObject({ missingChanges: 1, unobservableChanges: 1 });
  });

  it('the next subscription resumed from a watermark: Exchange replays the item, so it is missing', () => {
    const resumed = { ...sub('S2', freshAt, resumedAt - S, 'unsubscribed'), resumedFrom: 'W1' };
    expect(judge(resumed, 'S2')).toMatchObject({ missingChanges: 1, unobservableChanges: 0 });
  });

  it('a resync of an earlier subscription proves nothing about this gap', () => {
    const fresh = sub('S2', freshAt, resumedAt - S, 'unsubscribed');
    expect(judge(fresh, 'S1')).toMatchObject({ missingChanges: 1, unobservableChanges: 0 });
  });
});

describe('unobservable changes whose events Exchange pushed to nobody', () => {
  // The chaos e2e under load (seed 4): the subscription the item was created under was replaced
  // (answered Unsubscribe) before pushing it, the one resumed after it was lost before pushing that
  // far, then a mass loss moved the mailbox: a fresh subscription and a catch-up followed.
  const state: RunState = { inFlight: {}, deadLetters: {}, busyMailboxes: new Set() };
  const withEvents = (record: ChangeRecord, watermark: string): ChangeRecord => ({
    ...record,
    events: [
      {
        type: record.kind === 'delete' ? 'DeletedEvent' : 'CreatedEvent',
        watermark,
        itemId: record.itemId,
        folderId: null,
        parentFolderId: 'F',
        oldParentFolderId: null,
      },
    ],
  });
  const changes = () => [
    withEvents(change('create', T + 100 * S, 'X'), 'W-create'),
    withEvents(change('delete', T + 200 * S, 'X'), 'W-delete'),
  ];
  const resynced: DeliveredEvent = {
    id: 'r',
    type: 'exchange-push-bridge.subscription.resynced',
    mailboxKey: 'k',
    time: new Date(T + 500 * S).toISOString(),
    data: { subscriptionId: 'S3' },
    receivedAt: T + 500 * S,
  };
  const judge = (acknowledged: string, delivered: DeliveredEvent[] = []) =>
    buildReport({
      changes: changes(),
      delivered: [resynced, ...delivered],
      deliveries: new Map(),
      subscriptions: [
        { ...sub('S1', T, T + 150 * S, 'unsubscribed'), lastWatermark: acknowledged },
        { ...sub('S2', T + 250 * S, T + 300 * S), resumedFrom: 'W-before', lastWatermark: 'W-before' },
        { ...sub('S3', T + 400 * S, null), lastDeliveredAt: T + 500 * S },
      ],
      mailboxes: ['ada@contoso.test'],
      state,
    });

  it('created under a subscription that never pushed it, deleted before a resumed one pushed it: unobservable', () => {
    expect(judge('W-before')).toMatchObject({ missingChanges: 1, unobservableChanges: 1 });
  });

  it('a subscription had the item acknowledged: the bridge took its events, so the missing delete is a loss', () => {
    expect(judge('W-create')).toMatchObject({ missingChanges: 1, unobservableChanges: 0 });
  });

  it('consumers were told of the item: the missing delete is a loss', () => {
    expect(judge('W-before', [notified('X', T + 100 * S)])).toMatchObject({
      missingChanges: 1,
      unobservableChanges: 0,
    });
  });
});

describe('the report tells backlog from loss', () => {
  const ADA = 'ada@contoso.test';
  const atRest: RunState = {
    inFlight: { ingest: 0, renewals: 0, audit: 0 },
    deadLetters: { QueuesIngestDeadLetters: 0 },
    busyMailboxes: new Set(),
  };
  const delivered = (lastDeliveredAt: number | null, failedAttempts = 0): SubscriptionView => ({
    ...sub('S1', T - 60 * S, null),
    lastDeliveredAt,
    failedAttempts,
  });
  const judge = (state: RunState | undefined, subscriptions: SubscriptionView[]) =>
    buildReport({
      changes: [change('create', T + 10 * S, 'A'), change('create', T + 20 * S, 'B')],
      delivered: [notified('A', T + 10 * S)],
      deliveries: new Map(),
      subscriptions,
      mailboxes: [ADA],
      state,
    });

  it('counts as missing what was pushed, with nothing in flight and the mailbox at rest: settled', () => {
    expect(judge(atRest, [delivered(T + 30 * S)])).toMatchObject({
      settled: true,
      awaitingChanges: 0,
      missingChanges: 1,
      inFlight: { ingest: 0, renewals: 0, audit: 0 },
    });
  });

  it('awaits every unreflected change while events are in flight in any live queue', () => {
    for (const queue of ['ingest', 'renewals', 'audit']) {
      const report = judge({ ...atRest, inFlight: { ...atRest.inFlight, [queue]: 3 } }, [
        delivered(T + 30 * S),
      ]);
      expect(report, queue).toMatchObject({
        settled: false,
        awaitingChanges: 1,
        missingChanges: 0,
        inFlight: { [queue]: 3 },
      });
    }
  });

  it('does not let dead letters hold the run up: what they hold cannot arrive', () => {
    const report = judge({ ...atRest, deadLetters: { QueuesIngestDeadLetters: 2 } }, [delivered(T + 30 * S)]);
    expect(report).toMatchObject({
      settled: true,
      missingChanges: 1,
      deadLetters: { QueuesIngestDeadLetters: 2 },
    });
  });

  it('awaits changes Exchange has not pushed since (a push due or retrying)', () => {
    expect(judge(atRest, [delivered(T + 15 * S)])).toMatchObject({
      settled: false,
      awaitingChanges: 1,
      missingChanges: 0,
    });
    expect(judge(atRest, [delivered(null)])).toMatchObject({ settled: false, awaitingChanges: 1 });
    expect(judge(atRest, [delivered(T + 30 * S, 2)])).toMatchObject({ settled: false, awaitingChanges: 1 });
  });

  it('awaits changes of a mailbox whose heal is owed: lost by Exchange (not yet noticed) or at work in the lifecycle', () => {
    const lost = { ...delivered(T + 30 * S), state: 'lost' as const, endedAt: T + 40 * S };
    expect(judge(atRest, [lost])).toMatchObject({ settled: false, awaitingChanges: 1, missingChanges: 0 });
    expect(judge({ ...atRest, busyMailboxes: new Set([ADA]) }, [delivered(T + 30 * S)])).toMatchObject({
      settled: false,
      awaitingChanges: 1,
      missingChanges: 0,
    });
    // Two active subscriptions: the bridge has not yet let go of the old one.
    expect(
      judge(atRest, [delivered(T + 30 * S), { ...delivered(T + 30 * S), subscriptionId: 'S2' }]),
    ).toMatchObject({ settled: false, awaitingChanges: 1 });
  });

  it('is never settled when the run was not observed, and counts nothing missing then', () => {
    expect(judge(undefined, [delivered(T + 30 * S)])).toMatchObject({
      settled: false,
      awaitingChanges: 1,
      missingChanges: 0,
      inFlight: {},
    });
  });

  it('reports heal time percentiles over the healed losses', () => {
    const subs = [0, 1, 2, 3].flatMap((i) => [
      { ...sub(`L${i}`, T, T + 10 * S), mailbox: `m${i}@contoso.test` },
      { ...sub(`N${i}`, T + 10 * S + (i + 1) * 60 * S, null), mailbox: `m${i}@contoso.test` },
    ]);
    const report = buildReport({
      changes: [],
      delivered: [],
      deliveries: new Map(),
      subscriptions: subs,
      mailboxes: [],
    });
    expect(report).toMatchObject({ maxHealSeconds: 240, healSeconds: { p50: 120, p95: 240 } });
  });

  it('reports each mass loss apart: the mailboxes it hit, how many healed, and the time until all had', () => {
    const lossAt = T + 10 * S;
    // Twenty mailboxes lose their subscriptions together; mailbox i heals (i + 1) minutes later,
    // but m19 has not healed yet. m20 was moved without a subscription to lose; m21 had a scattered
    // loss of its own, which stays out of the mass loss's figures.
    const hit = Array.from({ length: 20 }, (_, i) => i);
    const subs = [
      ...hit.flatMap((i) => [
        { ...sub(`L${i}`, T, lossAt), mailbox: `m${i}@contoso.test` },
        ...(i === 19
          ? []
          : [{ ...sub(`N${i}`, lossAt + (i + 1) * 60 * S, null), mailbox: `m${i}@contoso.test` }]),
      ]),
      { ...sub('O', T, T + 5 * S), mailbox: 'm21@contoso.test' },
      { ...sub('P', T + 5 * S + 3600 * S, null), mailbox: 'm21@contoso.test' },
    ];
    const report = buildReport({
      changes: [],
      delivered: [],
      deliveries: new Map(),
      subscriptions: subs,
      mailboxes: [],
      massLosses: [
        {
          seq: 1,
          at: lossAt,
          reason: 'the control API',
          mailboxes: [...hit.map((i) => `m${i}@contoso.test`), 'm20@contoso.test'],
          subscriptionIds: hit.map((i) => `L${i}`),
        },
      ],
    });
    expect(report.massLosses).toEqual([
      {
        at: lossAt,
        mailboxes: 21,
        affected: 20,
        healed: 19,
        healSeconds: { p50: 600, p95: 1140, max: 1140 },
      },
    ]);
    expect(report.massLossHealSeconds).toEqual({ p50: 600, p95: 1140, max: 1140 });
    // The scattered loss's hour-long heal shows in the ordinary figures, and only it: the mass
    // loss's heals (10 minutes at the median) stay out of them.
    expect(report.maxHealSeconds).toBe(3600);
    expect(report.healSeconds).toEqual({ p50: 3600, p95: 3600 });
    expect(report).toMatchObject({ subscriptionsLost: 21, subscriptionsRecovered: 20 });
  });

  it('has no mass loss figures when none struck', () => {
    const report = buildReport({
      changes: [],
      delivered: [],
      deliveries: new Map(),
      subscriptions: [],
      mailboxes: [],
    });
    expect(report).toMatchObject({ massLosses: [], massLossHealSeconds: { p50: 0, p95: 0, max: 0 } });
  });
});

describe('the local run report: Graph mailboxes', () => {
  const grace = 'grace@contoso.test';
  let graphSeq = 0;
  const graphChange = (
    kind: GraphChange['kind'],
    at: number,
    immutableId: string,
    itemType: GraphChange['itemType'] = 'message',
  ): GraphChange => ({
    seq: ++graphSeq,
    at,
    mailbox: grace,
    userId: 'u-grace',
    itemType,
    kind,
    immutableId,
    id: `default-${immutableId}`,
    oldId: null,
    folder: itemType === 'event' ? 'calendar' : 'inbox',
    folderId: 'F',
    oldFolder: null,
    oldFolderId: null,
    recurring: false,
    subject: 's',
  });
  const graphSub = (
    id: string,
    resource: 'messages' | 'events',
    createdAt: number,
    state: GraphSubscriptionView['state'] = 'active',
    endedAt: number | null = null,
  ): GraphSubscriptionView => ({
    id,
    applicationId: 'app',
    resource: `/users/${grace}/${resource}`,
    changeType: 'created,updated,deleted',
    clientState: null,
    notificationUrl: '',
    lifecycleNotificationUrl: null,
    expirationDateTime: '',
    includeResourceData: false,
    immutableIds: true,
    mailbox: grace,
    state,
    createdAt,
    endedAt,
    endReason: null,
    reauthorizationRequiredSince: null,
    paused: false,
  });
  const rest: RunState = {
    inFlight: { ingest: 0, renewals: 0, audit: 0, graph: 0 },
    deadLetters: {},
    busyMailboxes: new Set(),
  };
  const resynced = (at: number): DeliveredEvent => ({
    id: `r-${at}`,
    type: 'exchange-push-bridge.subscription.resynced',
    mailboxKey: 'g',
    time: new Date(at).toISOString(),
    data: { mailbox: grace },
    receivedAt: at,
  });
  const report = (args: {
    changes: GraphChange[];
    delivered: DeliveredEvent[];
    subscriptions: GraphSubscriptionView[];
    losses?: LossRecord[];
    state?: RunState;
  }) =>
    buildReport({
      changes: [],
      delivered: args.delivered,
      deliveries: new Map(),
      subscriptions: [],
      mailboxes: [],
      state: args.state ?? rest,
      graph: {
        changes: args.changes,
        subscriptions: args.subscriptions,
        losses: args.losses ?? [],
        deliveries: [],
        mailboxes: [grace],
      },
    });

  it('judges Graph changes by immutable id, by source, and names a missing one with its source, item and notification', () => {
    const changes = [
      graphChange('created', T + S, 'A'),
      graphChange('moved', T + 2 * S, 'A'),
      graphChange('created', T + 3 * S, 'B'),
      graphChange('deleted', T + 10 * S, 'B'),
    ];
    const subs = [graphSub('M1', 'messages', T), graphSub('E1', 'events', T)];
    const lost: LossRecord = {
      seq: 1,
      at: T + 4 * S,
      subscriptionId: 'M1',
      channel: 'change',
      changeSeq: changes[3]?.seq ?? 0,
      reason: 'missed',
      lifecycleEvent: null,
    };
    const r = report({
      changes,
      delivered: [notified('A', T + 2 * S), notified('B', T + 3 * S)],
      subscriptions: subs,
      losses: [lost],
    });
    expect(r).toMatchObject({
      settled: true,
      generatedChanges: 4,
      missingChanges: 1,
      awaitingChanges: 0,
      unhealed: 0,
    });
    expect(r.bySource?.graph).toMatchObject({ mailboxes: 1, missingChanges: 1, generatedChanges: 4 });
    expect(r.bySource?.ews).toMatchObject({ mailboxes: 0, missingChanges: 0 });
    expect(r.missingExamples).toEqual([
      expect.objectContaining({
        source: 'graph',
        mailbox: grace,
        kind: 'deleted',
        itemId: 'B',
        lastEvent: {
          type: 'exchange-push-bridge.notification.CreatedEvent',
          time: new Date(T + 3 * S).toISOString(),
        },
        notification: 'lost: missed',
      }),
    ]);
  });

  it('counts a deleted Graph item no delivered event ever named as unobservable: consumers never held it', () => {
    const changes = [graphChange('created', T + S, 'C'), graphChange('deleted', T + 10 * S, 'C')];
    const subs = [graphSub('M1', 'messages', T), graphSub('E1', 'events', T)];
    expect(report({ changes, delivered: [], subscriptions: subs })).toMatchObject({
      missingChanges: 1,
      unobservableChanges: 1,
    });
    // Told of its creation, consumers hold it: a loss.
    expect(report({ changes, delivered: [notified('C', T + S)], subscriptions: subs })).toMatchObject({
      missingChanges: 1,
      unobservableChanges: 0,
    });
  });

  it('awaits a Graph change while notifications are in transit, the mailbox is at work, or its resource has no subscription', () => {
    const changes = [graphChange('created', T + S, 'A')];
    const subs = [graphSub('M1', 'messages', T), graphSub('E1', 'events', T)];
    const inTransit = { ...rest, inFlight: { ...rest.inFlight, graph: 1 } };
    expect(report({ changes, delivered: [], subscriptions: subs, state: inTransit })).toMatchObject({
      settled: false,
      awaitingChanges: 1,
      missingChanges: 0,
    });
    const busy = { ...rest, busyMailboxes: new Set([grace]) };
    expect(report({ changes, delivered: [], subscriptions: subs, state: busy })).toMatchObject({
      awaitingChanges: 1,
    });
    const removed = [graphSub('M1', 'messages', T, 'removed', T + 2 * S), graphSub('E1', 'events', T)];
    expect(report({ changes, delivered: [], subscriptions: removed })).toMatchObject({
      awaitingChanges: 1,
      unhealed: 1,
      settled: false,
    });
  });

  it('heals a removed subscription by the next one for its resource, and a missed episode by the next resynced event', () => {
    const subs = [
      graphSub('M1', 'messages', T, 'removed', T + 60 * S),
      graphSub('E1', 'events', T),
      graphSub('M2', 'messages', T + 90 * S),
    ];
    const losses: LossRecord[] = [
      {
        seq: 1,
        at: T + 200 * S,
        subscriptionId: 'M2',
        channel: 'change',
        changeSeq: 1,
        reason: 'missed',
        lifecycleEvent: null,
      },
      {
        seq: 2,
        at: T + 210 * S,
        subscriptionId: 'M2',
        channel: 'change',
        changeSeq: 2,
        reason: 'dropped',
        lifecycleEvent: null,
      },
      {
        seq: 4,
        at: T + 220 * S,
        subscriptionId: 'M2',
        channel: 'lifecycle',
        changeSeq: null,
        reason: 'retriesExhausted',
        lifecycleEvent: 'missed',
      },
      {
        seq: 3,
        at: T + 60 * S,
        subscriptionId: 'M1',
        channel: 'change',
        changeSeq: 3,
        reason: 'subscriptionEnded',
        lifecycleEvent: null,
      },
    ];
    const r = report({
      changes: [],
      delivered: [resynced(T + 100 * S), resynced(T + 250 * S)],
      subscriptions: subs,
      losses,
    });
    expect(r).toMatchObject({
      subscriptionsLost: 1,
      subscriptionsRecovered: 1,
      maxHealSeconds: 30,
      unhealed: 0,
    });
    expect(r.bySource?.graph.graphLosses).toMatchObject({
      subscriptionRemoved: { count: 1, healed: 1, healSeconds: { p50: 30, p95: 30, max: 30 } },
      // One episode (the two losses 10 s apart), caught up by the resync 40 s after its last loss.
      missed: { count: 1, healed: 1, healSeconds: { p50: 40, p95: 40, max: 40 } },
      lifecycleNotificationsLost: { 'missed (retriesExhausted)': 1 },
      unhealedResources: [],
    });
  });
});
