import { afterEach, describe, expect, it } from 'vitest';
import {
  ANSWER_WINDOW_MS,
  REQUEST_TIMEOUT_MS,
  RETRY_LIMIT_MS,
  THROTTLE_WINDOW_MS,
} from '../../graph-simulator/delivery.ts';
import { type Harness, record, startHarness, text, until } from './support.ts';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const USER = 'user1@contoso.test';
const DUE_MS = 1_000;

function change(kind: 'created' | 'updated' | 'moved' | 'deleted', extra: Record<string, unknown> = {}) {
  return h.graph.makeChange({ mailbox: USER, itemType: 'message', kind, folder: 'inbox', ...extra });
}

describe('change notifications', () => {
  it("batches what falls due for one URL into one POST, across subscriptions, with Graph's fields", async () => {
    h = await startHarness();
    const mail = await h.subscribe(`/users/${USER}/messages`);
    const events = await h.subscribe(`/users/${USER}/events`, { changeType: 'created' });
    const created = change('created');
    const event = h.graph.makeChange({ mailbox: USER, itemType: 'event', kind: 'created', recurring: true });
    await h.advance(DUE_MS);
    const posts = h.webhook.notifications('/notify');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.contentType).toMatch(/^application\/json/);
    const [m, e] = posts[0]?.value ?? [];
    expect(m).toEqual({
      subscriptionId: mail,
      subscriptionExpirationDateTime: new Date(
        h.graph.subscriptions()[0]?.expirationDateTime ?? '',
      ).toISOString(),
      changeType: 'created',
      resource: `Users/${created.userId}/Messages/${created.id}`,
      resourceData: {
        '@odata.type': '#Microsoft.Graph.Message',
        '@odata.id': `Users/${created.userId}/Messages/${created.id}`,
        '@odata.etag': expect.stringMatching(/^W\/"/),
        id: created.id,
      },
      clientState: 'secret-client-state',
      tenantId: h.graph.tenantId,
    });
    expect(e).toMatchObject({
      subscriptionId: events,
      changeType: 'created',
      resource: `Users/${event.userId}/Events/${event.id}`,
    });
    expect(h.graph.deliveries()).toMatchObject([
      { count: 2, outcome: 'delivered', subscriptionIds: [mail, events] },
    ]);
  });

  it('has no move: a move is deleted in the old folder and created in the new, one id with ImmutableId', async () => {
    h = await startHarness();
    const immutable = { Prefer: 'IdType="ImmutableId"' };
    await h.subscribe(
      `/users/${USER}/mailFolders('inbox')/messages`,
      { notificationUrl: `${h.webhook.url}/inbox` },
      immutable,
    );
    await h.subscribe(
      `/users/${USER}/mailFolders('archive')/messages`,
      { notificationUrl: `${h.webhook.url}/archive` },
      immutable,
    );
    await h.subscribe(`/users/${USER}/messages`, { notificationUrl: `${h.webhook.url}/all` });
    const moved = change('moved', { toFolder: 'archive' });
    await h.advance(DUE_MS);
    const only = (path: string) => h.webhook.notifications(path).flatMap((p) => p.value);
    expect(only('/inbox').map((n) => [n.changeType, record(n.resourceData).id])).toEqual([
      ['deleted', moved.immutableId],
    ]);
    expect(only('/archive').map((n) => [n.changeType, record(n.resourceData).id])).toEqual([
      ['created', moved.immutableId],
    ]);
    // Without the preference the default id changes with the move.
    expect(only('/all').map((n) => [n.changeType, record(n.resourceData).id])).toEqual([
      ['deleted', moved.oldId],
      ['created', moved.id],
    ]);
    expect(moved.oldId).not.toBe(moved.id);
  });

  it('sends only the subscribed change types', async () => {
    h = await startHarness();
    await h.subscribe(`/users/${USER}/messages`, { changeType: 'deleted' });
    change('created');
    change('updated');
    const deleted = change('deleted');
    await h.advance(DUE_MS);
    expect(
      h.webhook.notifications().flatMap((p) => p.value.map((n) => [n.changeType, record(n.resourceData).id])),
    ).toEqual([['deleted', deleted.id]]);
  });
});

describe('acknowledgement and retries', () => {
  it('retries a failed or late (2xx after 3 s) POST with backoff, and delivers it later', async () => {
    h = await startHarness();
    await h.subscribe(`/users/${USER}/messages`);
    let posts = 0;
    h.webhook.answerWith((r) => {
      if (r.query.has('validationToken')) return 'ok';
      posts++;
      if (posts === 1) return { status: 503 };
      if (posts === 2) return { afterMs: ANSWER_WINDOW_MS + 1 };
      return 'ok';
    });
    const made = change('created');
    await h.advance(DUE_MS);
    expect(h.graph.deliveries().map((d) => d.outcome)).toEqual([503]);
    h.clock.advance(60_000);
    await until(() => h.webhook.notifications().length === 2, 'the first retry');
    h.clock.advance(ANSWER_WINDOW_MS + 1);
    await h.settle();
    expect(h.graph.deliveries().map((d) => d.outcome)).toEqual([503, 'late']);
    // The stepped clock fires a timer at the moment it is advanced to: land on the retry's due time.
    await h.advance(120_000 - (ANSWER_WINDOW_MS + 1));
    const records = h.graph.deliveries();
    expect(records.map((d) => [d.outcome, d.attempt])).toEqual([
      [503, 0],
      ['late', 1],
      ['delivered', 2],
    ]);
    // The retry is 60 s after the start of the failed attempt, the next 120 s after the late one.
    expect((records[1]?.startedAt ?? 0) - (records[0]?.startedAt ?? 0)).toBe(60_000);
    expect((records[2]?.startedAt ?? 0) - (records[1]?.startedAt ?? 0)).toBe(120_000);
    expect(h.webhook.notifications().map((p) => record(p.value[0]?.resourceData).id)).toEqual([
      made.id,
      made.id,
      made.id,
    ]);
  });

  it('discards a notification it could not deliver for 4 hours, and says missed on the lifecycle URL', async () => {
    h = await startHarness();
    await h.subscribe(`/users/${USER}/messages`, { lifecycleNotificationUrl: `${h.webhook.url}/life` });
    h.webhook.answerWith((r) =>
      r.path === '/notify' && !r.query.has('validationToken') ? { status: 500 } : 'ok',
    );
    change('created');
    await h.advance(DUE_MS);
    for (let elapsed = 0; elapsed <= RETRY_LIMIT_MS; elapsed += 10 * 60_000) await h.advance(10 * 60_000);
    const attempts = h.graph.deliveries().filter((d) => d.url.endsWith('/notify'));
    expect(attempts.every((d) => d.outcome === 500)).toBe(true);
    expect(attempts.at(-1)?.startedAt).toBe((attempts[0]?.startedAt ?? 0) + RETRY_LIMIT_MS);
    expect(h.graph.losses()).toMatchObject([{ reason: 'retriesExhausted', channel: 'change' }]);
    expect(h.webhook.notifications('/life').flatMap((p) => p.value.map((n) => n.lifecycleEvent))).toEqual([
      'missed',
    ]);
  });

  it('retries for notificationRetryLimitMs when set (a short local run proving Graph checkpoints)', async () => {
    const limit = 30 * 60_000;
    h = await startHarness({ notificationRetryLimitMs: limit });
    await h.subscribe(`/users/${USER}/messages`, { lifecycleNotificationUrl: `${h.webhook.url}/life` });
    h.webhook.answerWith((r) =>
      r.path === '/notify' && !r.query.has('validationToken') ? { status: 500 } : 'ok',
    );
    change('created');
    await h.advance(DUE_MS);
    for (let elapsed = 0; elapsed <= limit; elapsed += 5 * 60_000) await h.advance(5 * 60_000);
    const attempts = h.graph.deliveries().filter((d) => d.url.endsWith('/notify'));
    expect(attempts.at(-1)?.startedAt).toBe((attempts[0]?.startedAt ?? 0) + limit);
    expect(h.graph.losses()).toMatchObject([{ reason: 'retriesExhausted', channel: 'change' }]);
  });
});

describe('the slow and drop rules of April 2026', () => {
  /** One notification per POST: a change, then the time it takes to fall due. */
  async function oneDelivery(answer: 'fast' | 'slow' | 'timeout'): Promise<void> {
    const before = h.webhook.notifications().length;
    change('created');
    h.clock.advance(DUE_MS);
    await until(() => h.webhook.notifications().length === before + 1, 'the POST');
    if (answer === 'slow') h.clock.advance(ANSWER_WINDOW_MS + 1);
    if (answer === 'timeout') h.clock.advance(REQUEST_TIMEOUT_MS);
    await h.settle();
  }

  it('delays new notifications 10 minutes when more than 10% of answers in 10 minutes took over 3 s', async () => {
    h = await startHarness({ rules: { throttleMinAnswers: 10 } });
    await h.subscribe(`/users/${USER}/messages`);
    let post = 0;
    h.webhook.answerWith((r) => {
      if (r.query.has('validationToken')) return 'ok';
      post++;
      return post <= 2 ? { afterMs: ANSWER_WINDOW_MS + 1 } : 'ok';
    });
    await oneDelivery('slow');
    await oneDelivery('slow');
    for (let i = 0; i < 7; i++) await oneDelivery('fast');
    // 2 of 9: not judged yet (fewer than throttleMinAnswers); the tenth answer makes it 20%.
    expect(h.graph.endpoints()[0]?.state).toBe('normal');
    await oneDelivery('fast');
    expect(h.graph.endpoints()).toMatchObject([{ state: 'slow' }]);
    const made = change('created');
    await h.advance(THROTTLE_WINDOW_MS - 1);
    expect(h.graph.deliveries().some((d) => d.changeSeqs.includes(made.seq))).toBe(false);
    await h.advance(1);
    const delivered = h.graph.deliveries().find((d) => d.changeSeqs.includes(made.seq));
    expect(delivered?.outcome).toBe('delivered');
    expect(delivered?.startedAt).toBe(made.at + THROTTLE_WINDOW_MS);
  });

  it('drops change notifications for 10 minutes, unrecoverably, when more than 15% of answers took over 10 s', async () => {
    h = await startHarness({ rules: { throttleMinAnswers: 10 } });
    await h.subscribe(`/users/${USER}/messages`, { lifecycleNotificationUrl: `${h.webhook.url}/life` });
    let post = 0;
    h.webhook.answerWith((r) => {
      if (r.query.has('validationToken') || r.path === '/life') return 'ok';
      post++;
      return post <= 2 ? 'hang' : 'ok';
    });
    await oneDelivery('timeout');
    await oneDelivery('timeout');
    for (let i = 0; i < 8; i++) await oneDelivery('fast');
    expect(h.graph.endpoints().find((e) => e.channel === 'change')?.state).toBe('drop');
    const dropped = change('created');
    await h.advance(THROTTLE_WINDOW_MS);
    // Queued retries of the timed-out POSTs are dropped with it.
    expect(h.graph.losses().map((l) => l.reason)).toEqual(['dropped', 'dropped', 'dropped']);
    expect(h.graph.losses().at(-1)?.changeSeq).toBe(dropped.seq);
    expect(
      h.webhook
        .notifications('/notify')
        .some((p) => p.value.some((n) => record(n.resourceData).id === dropped.id)),
    ).toBe(false);
    expect(h.webhook.notifications('/life').flatMap((p) => p.value.map((n) => n.lifecycleEvent))).toEqual([
      'missed',
    ]);
    // Ten minutes on, the endpoint is trusted again.
    const after = change('created');
    await h.advance(DUE_MS);
    expect(h.graph.deliveries().find((d) => d.changeSeqs.includes(after.seq))?.outcome).toBe('delivered');
  });
});

describe('lifecycle notifications', () => {
  it('challenges with reauthorizationRequired in the last hour, every 15 minutes, until renewed', async () => {
    h = await startHarness();
    const id = await h.subscribe(`/users/${USER}/messages`, {
      lifecycleNotificationUrl: `${h.webhook.url}/life`,
      expirationDateTime: h.expiry(120),
    });
    await h.advance(59 * 60_000);
    expect(h.webhook.notifications('/life')).toHaveLength(0);
    await h.advance(60_000);
    await h.advance(15 * 60_000);
    const events = h.webhook.notifications('/life').flatMap((p) => p.value);
    expect(events.map((n) => n.lifecycleEvent)).toEqual([
      'reauthorizationRequired',
      'reauthorizationRequired',
    ]);
    expect(events[0]).toMatchObject({
      subscriptionId: id,
      clientState: 'secret-client-state',
      tenantId: h.graph.tenantId,
    });
    expect(
      (await h.call('PATCH', `/subscriptions/${id}`, { body: { expirationDateTime: h.expiry(600) } })).status,
    ).toBe(200);
    await h.advance(60 * 60_000);
    expect(h.webhook.notifications('/life')).toHaveLength(2);
  });

  it('pauses delivery when a challenge goes unanswered, losing the changes meanwhile; reauthorize resumes it', async () => {
    h = await startHarness({ reauthorizationGraceMs: 5 * 60_000 });
    const id = await h.subscribe(`/users/${USER}/messages`, {
      lifecycleNotificationUrl: `${h.webhook.url}/life`,
    });
    const challenge = await fetch(`${h.graph.controlUrl}/subscriptions/${id}/reauthorize`, {
      method: 'POST',
    });
    expect(challenge.status).toBe(200);
    await h.advance(0);
    expect(h.webhook.notifications('/life').flatMap((p) => p.value.map((n) => n.lifecycleEvent))).toEqual([
      'reauthorizationRequired',
    ]);
    const beforePause = change('created');
    await h.advance(5 * 60_000);
    const whilePaused = change('created');
    await h.advance(DUE_MS);
    expect(h.graph.subscriptions()[0]?.paused).toBe(true);
    expect((await h.call('POST', `/subscriptions/${id}/reauthorize`)).status).toBe(204);
    const afterwards = change('created');
    await h.advance(DUE_MS);
    const delivered = h.graph.deliveries().flatMap((d) => d.changeSeqs);
    expect(delivered).toEqual([beforePause.seq, afterwards.seq]);
    expect(h.graph.losses()).toMatchObject([{ reason: 'paused', changeSeq: whilePaused.seq }]);
  });

  it('loses what is queued and says missed when told to (the control API)', async () => {
    h = await startHarness();
    const id = await h.subscribe(`/users/${USER}/messages`, {
      lifecycleNotificationUrl: `${h.webhook.url}/life`,
    });
    const lost = change('created');
    const response = await fetch(`${h.graph.controlUrl}/subscriptions/${id}/missed`, {
      method: 'POST',
      body: '{}',
    });
    expect(response.status).toBe(200);
    await h.advance(DUE_MS);
    expect(h.graph.losses()).toMatchObject([{ reason: 'missed', changeSeq: lost.seq }]);
    expect(h.webhook.notifications('/notify')).toHaveLength(0);
    const [missed] = h.webhook.notifications('/life');
    expect(missed?.value).toEqual([
      {
        subscriptionId: id,
        subscriptionExpirationDateTime: text(h.graph.subscriptions()[0]?.expirationDateTime),
        tenantId: h.graph.tenantId,
        clientState: 'secret-client-state',
        lifecycleEvent: 'missed',
      },
    ]);
  });
});
