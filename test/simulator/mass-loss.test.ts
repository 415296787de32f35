/**
 * A mass loss (simulator/mass-loss.ts): many mailboxes moved in the same moment, each losing every
 * subscription, from the `massLossPerHour` fault or on request, in-process and over `/_sim/`.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import type { PushSubscriptionRequest } from '../../functions/ews/subscribe.ts';
import { MassLosses, parseMassLossRequest } from '../../simulator/mass-loss.ts';
import { createRandom } from '../../simulator/random.ts';
import { SimulatorInputError } from '../../simulator/server.ts';
import { defined, failure, type Receiver, startWithReceiver, subscribe, value, waitFor } from './support.ts';

const MAILBOXES = 20;

async function setUp(faults: Record<string, number> = {}) {
  const clock = createScaledClock({ timeScale: 600 });
  const { sim, receiver } = await startWithReceiver(onTestFinished, {
    clock,
    mailboxes: MAILBOXES,
    faults,
    seed: 7,
  });
  return { sim, receiver };
}

function pushRequest(receiver: Receiver): PushSubscriptionRequest {
  return {
    folders: [{ distinguishedFolderId: 'inbox' }],
    eventTypes: ['CreatedEvent'],
    statusFrequency: 30,
    url: receiver.url,
  };
}

describe('a mass loss', () => {
  it('moves that many mailboxes at once: every subscription of each is lost, old watermarks refused, the rest untouched', async () => {
    const { sim, receiver } = await setUp();
    const subscribed = new Map<string, { subscriptionId: string; watermark: string }>();
    for (const mailbox of sim.mailboxAddresses)
      subscribed.set(mailbox, value(await subscribe(sim, mailbox, pushRequest(receiver))));
    const before = sim.clock.now();
    const loss = sim.massLoss({ count: 12 });
    expect(loss).toMatchObject({ seq: 1, reason: 'the control API' });
    expect(loss.at).toBeGreaterThanOrEqual(before);
    expect(new Set(loss.mailboxes).size).toBe(12);
    expect(loss.subscriptionIds).toHaveLength(12);
    for (const sub of sim.subscriptions()) {
      const hit = loss.mailboxes.includes(sub.mailbox);
      expect(sub.state, sub.mailbox).toBe(hit ? 'lost' : 'active');
      if (hit) {
        expect(sub.endedAt).toBeGreaterThanOrEqual(loss.at);
        expect(sub.endedAt).toBeLessThanOrEqual(sim.clock.now());
        expect(sub.endReason).toMatch(/a mass loss \(the control API\): 12 mailboxes moved at once/);
        expect(loss.subscriptionIds).toContain(sub.subscriptionId);
      }
    }
    const moved = sim.mailboxes().filter((m) => m.moving);
    expect(moved.map((m) => m.address).sort()).toEqual([...loss.mailboxes].sort());
    // A moved mailbox answers ErrorMailboxMoveInProgress, and refuses its old watermark after the move.
    const [victim] = loss.mailboxes;
    if (victim === undefined) throw new Error('no mailbox moved');
    expect(failure(await subscribe(sim, victim, pushRequest(receiver)))).toMatchObject({
      responseCode: 'ErrorMailboxMoveInProgress',
    });
    await waitFor(sim.clock, () => !sim.mailboxes().some((m) => m.moving), 'the moves to end', 120_000);
    const old = defined(subscribed.get(victim)?.watermark, 'the watermark of the first subscription');
    expect(failure(await subscribe(sim, victim, { ...pushRequest(receiver), watermark: old }))).toMatchObject(
      {
        responseCode: 'ErrorInvalidWatermark',
      },
    );
    expect(sim.massLosses()).toEqual([loss]);
  });

  it('a fraction is of all the mailboxes; mailboxes already moving are not moved again', async () => {
    const { sim } = await setUp();
    const first = sim.massLoss({ fraction: 0.5 });
    expect(first.mailboxes).toHaveLength(MAILBOXES / 2);
    // Half are still moving: a second loss of 75% can only take the other half.
    const second = sim.massLoss({ fraction: 0.75 });
    expect(second.mailboxes).toHaveLength(MAILBOXES / 2);
    expect(second.mailboxes.filter((m) => first.mailboxes.includes(m))).toEqual([]);
    // Given neither, the massLossFraction fault's share (0.3 by default); nothing left to move now.
    expect(sim.massLoss().mailboxes).toEqual([]);
    expect(sim.massLosses().map((l) => l.seq)).toEqual([1, 2, 3]);
  });

  it('massLossPerHour makes mass losses of massLossFraction of the mailboxes, at times the seed alone decides', async () => {
    const times = async () => {
      const { sim } = await setUp({ massLossPerHour: 6, massLossFraction: 0.25 });
      await waitFor(sim.clock, () => sim.massLosses().length >= 2, 'two mass losses', 3 * 3_600_000);
      const losses = sim.massLosses().slice(0, 2);
      for (const loss of losses) {
        expect(loss.reason).toBe('the massLossPerHour fault');
        expect(loss.mailboxes.length).toBeGreaterThan(0);
        expect(loss.mailboxes.length).toBeLessThanOrEqual(MAILBOXES / 4);
      }
      // On the fault tick's grid, counted from the start.
      const start = sim.massLosses()[0]?.at ?? 0;
      return losses.map((loss) => Math.round((loss.at - start) / 60_000));
    };
    // Drawn on a fixed grid from a stream of their own: a second simulator with the same seed
    // has them at the same minutes, whatever the wall clock did.
    expect(await times()).toEqual(await times());
  });

  it('over the control API: POST /_sim/mass-losses makes one, GET lists them, bad requests say what to send', async () => {
    const { sim, receiver } = await setUp();
    for (const mailbox of sim.mailboxAddresses.slice(0, 4))
      value(await subscribe(sim, mailbox, pushRequest(receiver)));
    const call = async (method: string, body?: string) => {
      const response = await fetch(`${sim.controlUrl}/mass-losses`, {
        method,
        ...(body === undefined ? {} : { body }),
      });
      return { status: response.status, json: (await response.json()) as unknown };
    };
    const made = await call('POST', JSON.stringify({ count: MAILBOXES }));
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({
      seq: 1,
      reason: 'the control API',
      subscriptionIds: expect.any(Array),
    });
    expect(sim.subscriptions().every((s) => s.state === 'lost')).toBe(true);
    expect(await call('GET')).toEqual({ status: 200, json: { massLosses: sim.massLosses() } });
    expect(await call('POST', '{"count": 0}')).toEqual({
      status: 400,
      json: { error: 'count "0" must be a whole number of mailboxes, at least 1' },
    });
    expect((await call('POST', '{"fraction": 2}')).status).toBe(400);
    expect((await call('POST', '{"mailboxes": 3}')).json).toEqual({
      error:
        'unknown field "mailboxes"; a mass loss is a JSON object such as {"count": 300} or {"fraction": 0.3}',
    });
    expect((await call('DELETE')).status).toBe(405);
    expect(() => sim.massLoss({ count: 1, fraction: 0.5 })).toThrow(SimulatorInputError);
  });
});

describe('MassLosses', () => {
  const clock = createScaledClock({ timeScale: 1 });
  const addresses = Array.from({ length: 10 }, (_, i) => `m${i}@contoso.test`);

  it('picks the same mailboxes for the same seed, and rounds a fraction to at least one mailbox', () => {
    const pick = (seed: number) => {
      const moved: string[] = [];
      const losses = new MassLosses({
        clock,
        random: createRandom(seed, 'mass-loss'),
        addresses: () => addresses,
        isMoving: () => false,
        move: (mailbox) => {
          moved.push(mailbox);
          return [`sub-${mailbox}`];
        },
      });
      const loss = losses.trigger({ fraction: 0.01 }, 'test');
      expect(loss.mailboxes).toEqual(moved);
      expect(loss.subscriptionIds).toEqual(moved.map((m) => `sub-${m}`));
      return [...loss.mailboxes, ...losses.trigger({ count: 4 }, 'test').mailboxes];
    };
    const first = pick(1);
    expect(first).toHaveLength(5);
    expect(pick(1)).toEqual(first);
    expect(pick(2)).not.toEqual(first);
  });

  it('a count beyond the mailboxes there are moves them all', () => {
    const losses = new MassLosses({
      clock,
      random: createRandom(1, 'mass-loss'),
      addresses: () => addresses,
      isMoving: (mailbox) => mailbox === 'm3@contoso.test',
      move: () => [],
    });
    const loss = losses.trigger({ count: 50 }, 'test');
    expect([...loss.mailboxes].sort()).toEqual(addresses.filter((m) => m !== 'm3@contoso.test').sort());
  });

  it('parseMassLossRequest reads count, fraction or the default share, and refuses the rest', () => {
    expect(parseMassLossRequest({ count: 3 }, 0.3)).toEqual({ ok: true, value: { count: 3 } });
    expect(parseMassLossRequest({ fraction: 1 }, 0.3)).toEqual({ ok: true, value: { fraction: 1 } });
    expect(parseMassLossRequest({}, 0.3)).toEqual({ ok: true, value: { fraction: 0.3 } });
    expect(parseMassLossRequest({}, 0)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/massLossFraction fault is 0/),
    });
    expect(parseMassLossRequest({ count: 2.5 }, 0.3)).toMatchObject({ ok: false });
    expect(parseMassLossRequest({ fraction: 0 }, 0.3)).toMatchObject({ ok: false });
    expect(parseMassLossRequest({ count: 1, fraction: 0.5 }, 0.3)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not both/),
    });
    expect(parseMassLossRequest([], 0.3)).toMatchObject({ ok: false });
  });
});
