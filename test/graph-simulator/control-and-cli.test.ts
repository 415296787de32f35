/**
 * The `/_graph-sim/` control API and ground truth, the automatic activity and chaos on the clock,
 * one notification end to end on a scaled clock (as `npm start` runs it), and `npm run
 * graph-simulator`.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import { startGraphSimulator } from '../../graph-simulator/server.ts';
import { runCli } from '../support/cli-process.ts';
import {
  fetchToken,
  type Harness,
  list,
  record,
  startHarness,
  startWebhook,
  text,
  until,
} from './support.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const USER = 'user1@contoso.test';

async function control(harness: Harness, method: string, path: string, body?: unknown) {
  const response = await fetch(`${harness.graph.controlUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: record(await response.json()) };
}

describe('the /_graph-sim/ control API', () => {
  it('reports the stand-in, makes changes into the ground truth, and refuses bad input with a reason', async () => {
    const harness = await startHarness();
    h = harness;
    const summary = await control(harness, 'GET', '/');
    expect(summary.json).toMatchObject({
      mailboxes: [USER],
      tenantId: harness.graph.tenantId,
      changeRate: 0,
    });
    const mailboxes = list((await control(harness, 'GET', '/mailboxes')).json.mailboxes);
    expect(record(record(mailboxes[0]?.folders).inbox).totalItemCount).toBe(2);
    // The seeded items are in the ground truth: three messages, an event and a series.
    const seeded = list((await control(harness, 'GET', `/changes?mailbox=${USER}`)).json.changes);
    expect(seeded.map((c) => [c.itemType, c.kind, c.folder, c.recurring])).toEqual([
      ['message', 'created', 'inbox', false],
      ['message', 'created', 'inbox', false],
      ['message', 'created', 'projects', false],
      ['event', 'created', 'calendar', false],
      ['event', 'created', 'calendar', true],
    ]);
    const moved = await control(harness, 'POST', '/changes', {
      mailbox: USER,
      itemType: 'message',
      kind: 'moved',
      itemId: text(seeded[0]?.immutableId),
      toFolder: 'archive',
    });
    expect(moved.status).toBe(201);
    expect(moved.json).toMatchObject({
      kind: 'moved',
      oldFolder: 'inbox',
      folder: 'archive',
      oldId: seeded[0]?.id,
    });
    expect(list((await control(harness, 'GET', '/changes?after=5')).json.changes)).toHaveLength(1);

    expect((await control(harness, 'POST', '/changes', { mailbox: USER, colour: 'red' })).json.error).toMatch(
      /unknown field "colour"/,
    );
    expect((await control(harness, 'POST', '/changes', { mailbox: USER, folder: 'calendar' })).status).toBe(
      400,
    );
    expect((await control(harness, 'POST', '/changes', { mailbox: 'nobody@contoso.test' })).status).toBe(404);
    expect((await control(harness, 'POST', '/subscriptions/nope/remove')).status).toBe(404);
    expect((await control(harness, 'PUT', '/chaos', { missedPerHour: -1 })).status).toBe(400);
    expect((await control(harness, 'PUT', '/rules', { validateOnRenew: 'yes' })).status).toBe(400);
    expect((await control(harness, 'GET', '/nothing')).status).toBe(404);
    expect((await control(harness, 'DELETE', '/changes')).status).toBe(405);
  });

  it('makes changes at the change rate and strikes with the chaos knobs, on the simulated clock', async () => {
    const harness = await startHarness({ mailboxes: 2 });
    h = harness;
    const id = await harness.subscribe(`/users/${USER}/messages`, {
      lifecycleNotificationUrl: `${harness.webhook.url}/life`,
    });
    expect((await control(harness, 'PUT', '/change-rate', { changeRate: 6 })).status).toBe(200);
    const before = harness.graph.changes().length;
    for (let minute = 0; minute < 10; minute++) await harness.advance(60_000);
    // 6 changes a minute for 2 mailboxes over 10 minutes: about 120, never none.
    expect(harness.graph.changes().length - before).toBeGreaterThan(20);
    expect(
      (
        await control(harness, 'PUT', '/chaos', {
          subscriptionRemovedPerHour: 1e6,
          deltaTokenExpiryPerHour: 1e6,
        })
      ).status,
    ).toBe(200);
    await harness.advance(60_000);
    expect(harness.graph.subscriptions().find((s) => s.id === id)?.state).toBe('removed');
    // The lifecycle notification falls due at the moment of removal: the stepped clock fires it on the next step.
    await harness.advance(0);
    expect(
      harness.webhook.notifications('/life').flatMap((p) => p.value.map((n) => n.lifecycleEvent)),
    ).toContain('subscriptionRemoved');
    harness.graph.setChangeRate(0);
    harness.graph.setChaos({ subscriptionRemovedPerHour: 0, throttleRate: 1 });
    const throttled = await harness.call('GET', `/users/${USER}/mailFolders`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('10');
  });
});

describe('on a scaled clock', () => {
  it('delivers a change notification end to end, as the local run does', async () => {
    const clock = createScaledClock({ timeScale: 60 });
    const graph = await startGraphSimulator({ clock, minAnswerWindowRealMs: 1000 });
    // The webhook answers at once; it needs a stepped clock only for delayed answers.
    const webhook = await startWebhook({ ...clock, advance: () => {}, pendingTimers: () => 0 });
    try {
      const client = graph.clients[0];
      if (client === undefined) throw new Error('no client');
      const token = (await fetchToken(graph, client)).value;
      const created = await fetch(`${graph.graphUrl}/subscriptions`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${text(token)}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          changeType: 'created',
          notificationUrl: `${webhook.url}/n`,
          resource: `/users/${USER}/messages`,
          expirationDateTime: new Date(clock.now() + 3_600_000).toISOString(),
          clientState: 's',
        }),
      });
      expect(created.status).toBe(201);
      const made = graph.makeChange({ mailbox: USER, itemType: 'message', kind: 'created' });
      await until(() => graph.deliveries().length === 1, 'the notification');
      expect(graph.deliveries()[0]).toMatchObject({ outcome: 'delivered', changeSeqs: [made.seq] });
    } finally {
      await graph.stop();
      await webhook.close();
    }
  });
});

const CLI = join(import.meta.dirname, '..', '..', 'graph-simulator', 'cli.ts');

const run = (args: string[]) => runCli(CLI, args);

describe.concurrent('npm run graph-simulator', () => {
  it('prints its URLs and apps, serves the control API, and stops cleanly on Ctrl-C', async () => {
    const cli = run([
      '--time-scale',
      '60',
      '--mailbox-count',
      '2',
      '--change-rate',
      '1',
      '--chaos',
      '--seed',
      '7',
    ]);
    await until(() => cli.stdout().includes('Press Ctrl-C to stop.'), 'the stand-in to start');
    const controlUrl = /control API\s+(\S+)\//.exec(cli.stdout())?.[1];
    const summary = record(await (await fetch(`${text(controlUrl)}/`)).json());
    expect(summary).toMatchObject({
      seed: 7,
      timeScale: 60,
      mailboxes: ['user1@contoso.test', 'user2@contoso.test'],
    });
    expect(record(summary.chaos).missedPerHour).toBeGreaterThan(0);
    cli.child.kill('SIGINT');
    expect(await cli.exit).toBe(0);
    expect(cli.stdout()).toContain('graph-simulator stopped');
  });

  it('refuses bad flags with a reason and exit code 2', async () => {
    const unknown = run(['--colour', 'red']);
    expect(await unknown.exit).toBe(2);
    expect(unknown.stderr()).toMatch(/--colour/);
    const bad = run(['--time-scale', 'fast']);
    expect(await bad.exit).toBe(2);
    expect(bad.stderr()).toMatch(/--time-scale "fast" is not a number/);
  });
});
