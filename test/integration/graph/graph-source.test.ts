/**
 * The Graph protocol layer against the Graph stand-in over real HTTP: a subscription created
 * through the validation handshake (answered by a receiver made of our helpers), notifications
 * received and verified, renewal, lifecycle notifications, 404 → recreate, 409 → adopt, delta
 * catch-up with 410 → full resync, 429 Retry-After honoured and the per-mailbox limit kept.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import { clientStateFor } from '../../../functions/graph/client-state.ts';
import {
  buildCalendarViewDelta,
  buildDeltaFollow,
  buildMessagesDelta,
  type DeltaChange,
} from '../../../functions/graph/delta.ts';
import { lifecycleActionOf } from '../../../functions/graph/events.ts';
import {
  createGraphClient,
  type GraphClient,
  type GraphClientOptions,
} from '../../../functions/graph/graph-client.ts';
import type { GraphRequest } from '../../../functions/graph/request.ts';
import { type CreateSubscriptionInput, isAdoptable } from '../../../functions/graph/subscription.ts';
import { type GraphSimulator, startGraphSimulator } from '../../../graph-simulator/server.ts';
import { type SteppedClock, steppedClock } from '../../support/stepped-clock.ts';
import { startTestReceiver, type TestReceiver } from './receiver.ts';

const MAILBOX = 'user1@contoso.test';
const key = { bytes: randomBytes(32) };
const mailboxKey = mailboxKeyOf(MAILBOX);

interface World {
  readonly clock: SteppedClock;
  readonly graph: GraphSimulator;
  readonly receiver: TestReceiver;
  readonly client: GraphClient;
  /** HTTP statuses Graph answered the client, in order (token endpoint included). */
  readonly statuses: number[];
  clientWith(options: Partial<GraphClientOptions>): GraphClient;
  /** Moves simulated time and waits until every POST the stand-in started is answered. */
  advance(ms: number): Promise<void>;
  /** Steps the clock until `work` settles (for waits the client sleeps on the clock). */
  stepUntilDone<T>(work: Promise<T>, stepMs?: number): Promise<T>;
}

let world: World | undefined;
afterEach(async () => {
  await world?.graph.stop();
  await world?.receiver.close();
  world = undefined;
});

async function start(options: { requestLatencyMs?: number } = {}): Promise<World> {
  const clock = steppedClock();
  const graph = await startGraphSimulator({ clock, seed: 7, ...options });
  const receiver = await startTestReceiver(key);
  const app = graph.clients[0];
  if (app === undefined) throw new Error('the stand-in has no app');
  const statuses: number[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    statuses.push(response.status);
    return response;
  };
  const clientWith = (extra: Partial<GraphClientOptions>) =>
    createGraphClient({
      baseUrl: graph.graphUrl,
      credentials: {
        tenantId: 'contoso.test',
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        tokenUrl: graph.tokenUrl,
      },
      fetch: recordingFetch,
      clock,
      ...extra,
    });
  const settle = () => until(() => graph.pendingRequests() === 0, 'the stand-in’s POSTs to be answered');
  const w: World = {
    clock,
    graph,
    receiver,
    client: clientWith({}),
    statuses,
    clientWith,
    async advance(ms) {
      clock.advance(ms);
      await new Promise((resolve) => setTimeout(resolve, 0));
      await settle();
    },
    async stepUntilDone(work, stepMs = 500) {
      let done = false;
      const tracked = work.finally(() => {
        done = true;
      });
      for (let i = 0; i < 400 && !done; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (!done) clock.advance(stepMs);
      }
      return tracked;
    },
  };
  world = w;
  return w;
}

function subscriptionInput(w: World, generation: number): CreateSubscriptionInput {
  return {
    resource: { kind: 'messages', userId: MAILBOX },
    notificationUrl: `${w.receiver.url}/graph/notify`,
    lifecycleNotificationUrl: `${w.receiver.url}/graph/lifecycle`,
    clientState: clientStateFor(key, mailboxKey, generation),
  };
}

async function subscribe(w: World, generation: number): Promise<string> {
  const created = await w.client.createSubscription(subscriptionInput(w, generation));
  if (!created.ok) throw created.error;
  return created.value.id;
}

describe('Graph subscriptions against the stand-in', () => {
  it('creates through the handshake, receives verified notifications, renews, and answers lifecycle events', async () => {
    const w = await start();
    const created = await w.client.createSubscription(subscriptionInput(w, 1));
    if (!created.ok) throw created.error;
    // Both URLs validated, each answered by validationAnswer.
    expect(w.receiver.validations).toEqual(['/graph/notify', '/graph/lifecycle']);
    expect(w.graph.validations().every((v) => v.ok)).toBe(true);
    const id = created.value.id;
    expect(created.value.expiresAt).toBe(w.clock.now() + 10_080 * 60_000 - 10 * 60_000);
    expect(w.graph.subscriptions()[0]).toMatchObject({ id, immutableIds: true });

    // A move is a delete and a create of the same immutable id; both verify to mailbox and generation.
    const move = w.graph.makeChange({
      mailbox: MAILBOX,
      itemType: 'message',
      kind: 'moved',
      folder: 'inbox',
      toFolder: 'archive',
    });
    await w.advance(1000);
    expect(
      w.receiver.changes.map((c) => [c.notification.changeType, c.notification.resourceData?.id]),
    ).toEqual(
      expect.arrayContaining([
        ['deleted', move.immutableId],
        ['created', move.immutableId],
      ]),
    );
    expect(
      w.receiver.changes.every((c) => c.verified.mailboxKey === mailboxKey && c.verified.generation === 1),
    ).toBe(true);
    expect(w.receiver.answers.every((s) => s === 202)).toBe(true);

    // A forgery is refused without being stored.
    const stored = w.receiver.changes.length;
    const forged = await fetch(`${w.receiver.url}/graph/notify`, {
      method: 'POST',
      body: JSON.stringify({
        value: [
          {
            subscriptionId: id,
            changeType: 'deleted',
            resource: 'Users/x/Messages/y',
            clientState: `v1.${mailboxKey}.1.${'A'.repeat(43)}`,
          },
        ],
      }),
    });
    expect(forged.status).toBe(403);
    expect(w.receiver.changes).toHaveLength(stored);

    // Renewal: a later expiry, and Graph validates the URLs again.
    await w.advance(60_000);
    const renewed = await w.client.renewSubscription(id);
    if (!renewed.ok) throw renewed.error;
    expect(renewed.value.expiresAt).toBeGreaterThan(created.value.expiresAt);
    expect(w.receiver.validations).toHaveLength(4);

    // reauthorizationRequired → renew; delivery goes on.
    w.graph.requireReauthorization(id);
    await w.advance(1000);
    const challenge = w.receiver.lifecycle.at(-1);
    expect(challenge?.path).toBe('/graph/lifecycle');
    expect(challenge?.notification.lifecycleEvent).toBe('reauthorizationRequired');
    expect(lifecycleActionOf('reauthorizationRequired').action).toBe('renew');
    expect((await w.client.renewSubscription(id)).ok).toBe(true);
    expect(w.graph.subscriptions()[0]?.reauthorizationRequiredSince).toBeNull();

    // missed → catch up (the subscription itself stays).
    w.graph.missNotifications(id);
    await w.advance(1000);
    expect(w.receiver.lifecycle.at(-1)?.notification.lifecycleEvent).toBe('missed');
  });

  it('recreates after subscriptionRemoved (renewal answers 404), and adopts on 409 only what verifies', async () => {
    const w = await start();
    const first = await subscribe(w, 1);
    w.graph.removeSubscription(first);
    await w.advance(1000);
    const removed = w.receiver.lifecycle.at(-1)?.notification;
    expect(removed).toMatchObject({ subscriptionId: first, lifecycleEvent: 'subscriptionRemoved' });
    expect(lifecycleActionOf('subscriptionRemoved').action).toBe('recreateAndCatchUp');

    const renewal = await w.client.renewSubscription(first);
    expect(!renewal.ok && renewal.error).toMatchObject({ category: 'SubscriptionGone', httpStatus: 404 });
    const second = await subscribe(w, 2);
    expect(second).not.toBe(first);

    // The same resource and change types again: 409 naming the one to adopt.
    const again = await w.client.createSubscription(subscriptionInput(w, 2));
    if (again.ok) throw new Error('expected a 409');
    expect(again.error).toMatchObject({ category: 'SubscriptionExists', existingSubscriptionId: second });
    const found = await w.client.getSubscription(second);
    if (!found.ok) throw found.error;
    const wanted = subscriptionInput(w, 2);
    expect(isAdoptable(found.value, wanted)).toBe(true);
    expect((await w.client.renewSubscription(second)).ok).toBe(true);

    // A newer generation cannot adopt the older one (its notifications would verify to generation 2).
    const newer = subscriptionInput(w, 3);
    const conflict = await w.client.createSubscription(newer);
    if (conflict.ok) throw new Error('expected a 409');
    const existing = await w.client.getSubscription(
      conflict.error.name === 'GraphResponseError' ? (conflict.error.existingSubscriptionId ?? '') : '',
    );
    if (!existing.ok) throw existing.error;
    expect(isAdoptable(existing.value, newer)).toBe(false);
    expect(await w.client.deleteSubscription(second)).toEqual({ ok: true, value: 'deleted' });
    expect(await w.client.deleteSubscription(second)).toEqual({ ok: true, value: 'alreadyGone' });
    const third = await w.client.createSubscription(newer);
    expect(third.ok).toBe(true);
  });
});

describe('delta catch-up against the stand-in', () => {
  async function round(
    client: GraphClient,
    first: GraphRequest,
  ): Promise<{ changes: DeltaChange[]; deltaLink: string; pages: number }> {
    const changes: DeltaChange[] = [];
    let request = first;
    for (let pages = 1; pages < 100; pages++) {
      const page = await client.deltaPage(request);
      if (!page.ok) throw page.error;
      changes.push(...page.value.changes);
      if (page.value.next.kind === 'deltaLink') return { changes, deltaLink: page.value.next.url, pages };
      request = buildDeltaFollow(page.value.next.url, { mailbox: MAILBOX, maxPageSize: 1 });
    }
    throw new Error('the round never ended');
  }

  it('syncs a folder in pages, then only changes, and starts over on 410', async () => {
    const w = await start();
    const inboxSeeds = w.graph
      .changes({ mailbox: MAILBOX })
      .filter((c) => c.itemType === 'message' && c.folder === 'inbox');
    const full = await round(
      w.client,
      buildMessagesDelta({ userId: MAILBOX, folderId: 'inbox', maxPageSize: 1 }),
    );
    expect(full.pages).toBeGreaterThan(1);
    // Immutable ids were asked for: delta ids are the ids notifications carry.
    expect(full.changes.map((c) => c.id).sort()).toEqual(inboxSeeds.map((c) => c.immutableId).sort());

    const created = w.graph.makeChange({
      mailbox: MAILBOX,
      itemType: 'message',
      kind: 'created',
      folder: 'inbox',
    });
    const movedOut = w.graph.makeChange({
      mailbox: MAILBOX,
      itemType: 'message',
      kind: 'moved',
      folder: 'inbox',
      toFolder: 'archive',
      itemId: inboxSeeds[0]?.immutableId ?? '',
    });
    const next = await round(
      w.client,
      buildDeltaFollow(full.deltaLink, { mailbox: MAILBOX, maxPageSize: 1 }),
    );
    expect(next.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'present', id: created.immutableId }),
        { kind: 'removed', id: movedOut.immutableId, reason: 'deleted' },
      ]),
    );

    w.graph.expireDeltaTokens(MAILBOX);
    const stale = await w.client.deltaPage(buildDeltaFollow(next.deltaLink, { mailbox: MAILBOX }));
    expect(!stale.ok && stale.error).toMatchObject({ category: 'ResyncRequired', httpStatus: 410 });
    const resync = await round(w.client, buildMessagesDelta({ userId: MAILBOX, folderId: 'inbox' }));
    expect(resync.changes.every((c) => c.kind === 'present')).toBe(true);
    expect(resync.changes.map((c) => c.id)).toContain(created.immutableId);
    expect(resync.changes.map((c) => c.id)).not.toContain(movedOut.immutableId);
  });

  it('syncs the calendar view within a window, series expanded', async () => {
    const w = await start();
    const now = w.clock.now();
    const full = await round(
      w.client,
      buildCalendarViewDelta({ userId: MAILBOX, start: now - 86_400_000, end: now + 30 * 86_400_000 }),
    );
    expect(
      full.changes.some(
        (c) => c.kind === 'present' && c.eventType === 'occurrence' && c.seriesMasterId !== null,
      ),
    ).toBe(true);
  });
});

describe('Outlook limits against the stand-in', () => {
  it('waits out a 429 with Retry-After on the clock, then succeeds', async () => {
    const w = await start();
    w.graph.throttle(MAILBOX, 5_000);
    const result = await w.stepUntilDone(
      w.client.deltaPage(buildMessagesDelta({ userId: MAILBOX, folderId: 'inbox' })),
    );
    expect(result.ok).toBe(true);
    expect(w.statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
  });

  it('keeps 4 requests in flight per mailbox, where 8 at once are throttled', async () => {
    const w = await start({ requestLatencyMs: 2_000 });
    const request = buildMessagesDelta({ userId: MAILBOX, folderId: 'inbox' });
    const kept = await w.stepUntilDone(
      Promise.all(Array.from({ length: 8 }, () => w.client.deltaPage(request))),
    );
    expect(kept.every((r) => r.ok)).toBe(true);
    expect(w.statuses).not.toContain(429);

    const greedy = w.clientWith({ perMailboxConcurrency: 8, maxRetries: 0 });
    const results = await w.stepUntilDone(
      Promise.all(Array.from({ length: 8 }, () => greedy.deltaPage(request))),
    );
    const throttled = results.filter(
      (r) => !r.ok && r.error.name === 'GraphResponseError' && r.error.category === 'Throttled',
    );
    expect(throttled).toHaveLength(4);
  });
});

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`gave up waiting for ${what}`);
}
