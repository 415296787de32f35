/**
 * The simulator as a component: options are checked, it is deterministic given a seed, it
 * changes mailboxes on its own at `changeRate`, and `stop()` leaves nothing running.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import { encodeSubscribe } from '../../functions/ews/subscribe.ts';
import { CHANGE_KINDS } from '../../simulator/change-planner.ts';
import { type Simulator, SimulatorConfigError, startSimulator } from '../../simulator/server.ts';
import { as, elapse, startReceiver, waitFor } from './support.ts';

/** POST without keep-alive, so the test itself leaves no socket behind. */
function postOnce(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', agent: false, headers: { 'Content-Type': 'text/xml; charset=utf-8' } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const handles = () => {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return {
    timers: counts.get('Timeout') ?? 0,
    servers: counts.get('TCPServerWrap') ?? 0,
    sockets: counts.get('TCPSocketWrap') ?? 0,
  };
};

describe('stop()', () => {
  it('closes the server, cancels every timer and every push in flight: no handle is left', async () => {
    const before = handles();
    const clock = createScaledClock({ timeScale: 600 });
    const sim = await startSimulator({
      clock,
      mailboxes: 3,
      changeRate: 10,
      // Chaos for its timers, without the faults that would stop the subscription from pushing.
      chaos: true,
      faults: {
        serverBusyRate: 0,
        unavailableRate: 0,
        subscriptionLossPerHour: 0,
        errorPushPerHour: 0,
        mailboxMovePerHour: 0,
      },
    });
    const receiver = await startReceiver(clock);
    receiver.answerWith(() => 'hang'); // the push stays in flight until stop() aborts it
    const subscribeXml = encodeSubscribe(
      { folders: 'all', eventTypes: ['CreatedEvent'], statusFrequency: 1, url: receiver.url },
      as('user1@contoso.test'),
    );
    expect(await postOnce(sim.ewsUrl, subscribeXml)).toBe(200);
    await waitFor(clock, () => receiver.pushes.length >= 1, 'a push in flight', 60_000);
    expect(handles().timers).toBeGreaterThan(before.timers);
    await sim.stop();
    await receiver.close();
    // Closed handles leave the list a few event-loop turns after their close callbacks. The test
    // runner's own timers come and go, so "nothing left" means no more of each kind than before.
    const settled = () => {
      const now = handles();
      return now.timers <= before.timers && now.servers <= before.servers && now.sockets <= before.sockets;
    };
    for (let turn = 0; turn < 200 && !settled(); turn++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    const after = handles();
    expect(after.timers).toBeLessThanOrEqual(before.timers);
    expect(after.servers).toBeLessThanOrEqual(before.servers);
    expect(after.sockets).toBeLessThanOrEqual(before.sockets);
    const aborted = sim.deliveries().at(-1);
    expect(aborted).toMatchObject({ outcome: 'unreachable', detail: 'the simulator stopped' });
    // Stopping twice is harmless; nothing happens any more.
    await sim.stop();
    const changes = sim.changes().length;
    await elapse(clock, 120_000);
    expect(sim.changes()).toHaveLength(changes);
  });
});

describe('determinism', () => {
  async function script(seed: number): Promise<unknown[]> {
    const clock = createScaledClock({ timeScale: 1 });
    const sim = await startSimulator({ clock, mailboxes: ['ada@contoso.test', 'bob@contoso.test'], seed });
    try {
      expect(sim.clock).toBe(clock);
      for (let i = 0; i < 40; i++)
        sim.makeChange({ mailbox: i % 3 === 0 ? 'bob@contoso.test' : 'ada@contoso.test' });
      // Everything but the times, which follow the wall clock.
      return sim.changes().map(({ at: _at, ...rest }) => rest);
    } finally {
      await sim.stop();
    }
  }

  it('makes the same choices and the same ids for the same seed, and others for another seed', async () => {
    const first = await script(11);
    expect(await script(11)).toEqual(first);
    expect(await script(12)).not.toEqual(first);
  });
});

describe('changeRate', () => {
  it('changes every mailbox on its own, at about the given rate per simulated minute', async () => {
    const clock = createScaledClock({ timeScale: 3600 });
    const sim: Simulator = await startSimulator({ clock, mailboxes: 2, changeRate: 3, initialItems: 0 });
    try {
      const start = clock.now();
      await elapse(clock, 20 * 60_000);
      await sim.stop();
      const changes = sim.changes();
      // 2 mailboxes × 3 per minute × 20 minutes = 120 expected (Poisson: ±4 sigma ≈ ±44).
      expect(changes.length).toBeGreaterThan(76);
      expect(changes.length).toBeLessThan(164);
      expect(new Set(changes.map((c) => c.mailbox))).toEqual(
        new Set(['user1@contoso.test', 'user2@contoso.test']),
      );
      // Every kind of change, rare copies included, and items filed into the custom folder.
      expect(new Set(changes.map((c) => c.kind))).toEqual(new Set(CHANGE_KINDS));
      expect(changes.some((c) => c.folder === 'projects')).toBe(true);
      expect(changes.every((c, i) => c.at >= start && (i === 0 || c.at >= (changes[i - 1]?.at ?? 0)))).toBe(
        true,
      );
    } finally {
      await sim.stop();
    }
  });

  it('stops and restarts automatic changes with setChangeRate', async () => {
    const clock = createScaledClock({ timeScale: 3600 });
    const sim: Simulator = await startSimulator({ clock, mailboxes: 2, changeRate: 6, initialItems: 0 });
    try {
      await elapse(clock, 5 * 60_000);
      expect(sim.changes().length).toBeGreaterThan(0);
      sim.setChangeRate(0);
      const paused = sim.changes().length;
      await elapse(clock, 10 * 60_000);
      expect(sim.changes().length).toBe(paused);
      sim.setChangeRate(6);
      await elapse(clock, 5 * 60_000);
      expect(sim.changes().length).toBeGreaterThan(paused);
      expect(() => sim.setChangeRate(-1)).toThrow(/must be a number of at least 0/);
    } finally {
      await sim.stop();
    }
  });
});

describe('options', () => {
  it.for([
    [{ timeScale: 0 }, /timeScale "0" is not valid: expected a number above 0/],
    [{ mailboxes: ['not-an-address'] }, /mailbox "not-an-address" is not valid: expected an SMTP address/],
    [{ mailboxes: ['a@x.test', 'A@x.test'] }, /is listed twice/],
    [{ mailboxes: 0 }, /mailbox count "0" is not valid: expected a whole number from 1/],
    [{ port: 70_000 }, /port "70000" is not valid/],
    [{ changeRate: -1 }, /changeRate "-1" is not valid/],
    [{ faults: { serverBusyRate: 5 } }, /serverBusyRate is 5; it is a probability/],
    [{ clock: createScaledClock({ timeScale: 60 }), timeScale: 30 }, /a clock was given too, running at 60/],
  ] as const)('refuses %o', async ([options, message]) => {
    const refused = startSimulator(options);
    await expect(refused).rejects.toThrow(SimulatorConfigError);
    await expect(refused).rejects.toThrow(message);
  });
});
