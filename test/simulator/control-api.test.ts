/**
 * The `/_sim/` control and ground-truth API over HTTP: the same operations as the in-process
 * methods, JSON in and out, and clear errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import { FAULT_KEYS } from '../../simulator/faults.ts';
import { CONTROL_API_VERSION, type Simulator, startSimulator } from '../../simulator/server.ts';
import { type Receiver, startReceiver, subscribe, value, waitFor } from './support.ts';

let sim: Simulator;
let receiver: Receiver;

beforeAll(async () => {
  const clock = createScaledClock({ timeScale: 600 });
  sim = await startSimulator({ clock, mailboxes: 2, seed: 3 });
  receiver = await startReceiver(clock);
});
afterAll(async () => {
  await sim.stop();
  await receiver.close();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    headers: { 'Content-Type': 'application/json' },
  });
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  return { status: response.status, json: await response.json() };
}

describe('/_sim/', () => {
  it('GET /_sim/ summarises the simulator', async () => {
    const { status, json } = await call('GET', '/_sim/');
    expect(status).toBe(200);
    expect(json).toMatchObject({
      url: sim.url,
      ewsUrl: `${sim.url}/EWS/Exchange.asmx`,
      tokenUrl: `${sim.url}/contoso.test/oauth2/v2.0/token`,
      auth: 'none',
      timeScale: 600,
      seed: 3,
      mailboxes: ['user1@contoso.test', 'user2@contoso.test'],
      faults: sim.faults(),
    });
  });

  it('GET /_sim/mailboxes lists mailboxes with their folders', async () => {
    const { json } = await call('GET', '/_sim/mailboxes');
    expect(json).toEqual({ mailboxes: sim.mailboxes() });
    expect(sim.mailboxes()[0]).toMatchObject({
      address: 'user1@contoso.test',
      database: 1,
      moving: false,
      folders: { inbox: { folderId: expect.any(String), items: 2, unread: 2 } },
    });
  });

  it('POST /_sim/changes makes a change; GET /_sim/changes is the ground truth, filterable', async () => {
    const made = await call('POST', '/_sim/changes', {
      mailbox: 'user2@contoso.test',
      kind: 'create',
      folder: 'calendar',
    });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({
      mailbox: 'user2@contoso.test',
      kind: 'create',
      folder: 'calendar',
      element: 'CalendarItem',
    });
    const all = await call('GET', '/_sim/changes');
    expect(all.json).toEqual({ changes: sim.changes() });
    const seq = sim.changes().at(-2)?.seq ?? 0;
    const after = await call('GET', `/_sim/changes?mailbox=USER2@contoso.test&after=${seq}`);
    expect(after.json).toEqual({ changes: [made.json] });
    const random = await call('POST', '/_sim/changes', { mailbox: 'user1@contoso.test' });
    expect(random.status).toBe(201);
  });

  it('refuses bad changes with 400 or 404 and a message saying what is allowed', async () => {
    expect(await call('POST', '/_sim/changes', { mailbox: 'nobody@contoso.test' })).toEqual({
      status: 404,
      json: {
        error: expect.stringMatching(
          /mailbox "nobody@contoso.test" does not exist; the simulator has user1@contoso.test/,
        ),
      },
    });
    expect(await call('POST', '/_sim/changes', { mailbox: 'user1@contoso.test', kind: 'explode' })).toEqual({
      status: 400,
      json: { error: 'kind "explode" is unknown; use one of create, modify, readFlag, move, copy, delete' },
    });
    expect(
      (await call('POST', '/_sim/changes', { mailbox: 'user1@contoso.test', folder: 'contacts' })).json,
    ).toEqual({
      error: expect.stringMatching(
        /folder "contacts" cannot hold simulated items; use one of inbox, calendar/,
      ),
    });
    expect((await call('POST', '/_sim/changes', '{not json')).status).toBe(400);
    expect(
      (await call('POST', '/_sim/changes', { mailbox: 'user1@contoso.test', colour: 'red' })).json,
    ).toEqual({
      error:
        'unknown field "colour"; a change has mailbox, kind, folder, toFolder, itemId, calendarActivity, item',
    });
    expect((await call('GET', '/_sim/changes?after=-1')).status).toBe(400);
  });

  it('GET /_sim/subscriptions and /_sim/deliveries show subscriptions and every push; POST …/drop loses one', async () => {
    const { subscriptionId } = value(
      await subscribe(sim, 'user1@contoso.test', {
        folders: [{ distinguishedFolderId: 'inbox' }],
        eventTypes: ['CreatedEvent'],
        statusFrequency: 1,
        url: receiver.url,
      }),
    );
    await waitFor(sim.clock, () => sim.deliveries().length >= 1, 'the first push', 60_000);
    const subscriptions = await call('GET', '/_sim/subscriptions?mailbox=user1@contoso.test');
    expect(subscriptions.json).toEqual({ subscriptions: sim.subscriptions() });
    expect((await call('GET', '/_sim/subscriptions?mailbox=user2@contoso.test')).json).toEqual({
      subscriptions: [],
    });
    const deliveries = await call(
      'GET',
      `/_sim/deliveries?subscriptionId=${encodeURIComponent(subscriptionId)}`,
    );
    expect(deliveries.json).toEqual({ deliveries: sim.deliveries({ subscriptionId }) });
    expect(sim.deliveries()[0]).toMatchObject({ kind: 'status', outcome: 'OK', attempt: 0 });
    const dropped = await call('POST', `/_sim/subscriptions/${encodeURIComponent(subscriptionId)}/drop`);
    expect(dropped).toEqual({
      status: 200,
      json: expect.objectContaining({
        subscriptionId,
        state: 'lost',
        endReason: expect.stringMatching(/dropSubscription/),
      }),
    });
    expect((await call('POST', '/_sim/subscriptions/unknown/drop')).status).toBe(404);
  });

  it('POST /_sim/mailboxes/{address}/move moves a mailbox', async () => {
    const moved = await call('POST', '/_sim/mailboxes/user2%40contoso.test/move');
    expect(moved).toEqual({
      status: 200,
      json: { mailbox: 'user2@contoso.test', database: 2, movingUntil: expect.any(Number) },
    });
  });

  it('GET and PUT /_sim/faults read and change the fault settings', async () => {
    expect((await call('GET', '/_sim/faults')).json).toEqual(sim.faults());
    const changed = await call('PUT', '/_sim/faults', { serverBusyRate: 0.5, serverBusyBackOffMs: 2000 });
    expect(changed.json).toMatchObject({
      serverBusyRate: 0.5,
      serverBusyBackOffMs: 2000,
      unavailableRate: 0,
    });
    expect(sim.faults().serverBusyRate).toBe(0.5);
    expect((await call('PUT', '/_sim/faults', { serverBusyRate: 3 })).status).toBe(400);
    await call('PUT', '/_sim/faults', { serverBusyRate: 0 });
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    expect((await call('GET', '/_sim/nothing')).status).toBe(404);
    expect((await call('DELETE', '/_sim/changes')).status).toBe(405);
    expect((await fetch(`${sim.url}/elsewhere`)).status).toBe(404);
    expect((await fetch(sim.ewsUrl)).status).toBe(405);
  });

  it('keeps the field set of every answer that docs/simulator.md documents for apiVersion 1', async () => {
    // Changing one of these sets breaks users' tests: add a field here and in the doc, or bump
    // CONTROL_API_VERSION when a field changes meaning or goes away.
    const keys = (value: unknown) =>
      typeof value === 'object' && value !== null ? Object.keys(value).sort() : [];
    const summary = (await call('GET', '/_sim/')).json;
    expect(summary).toMatchObject({ apiVersion: CONTROL_API_VERSION });
    expect(CONTROL_API_VERSION).toBe(1);
    expect(keys(summary)).toEqual(
      [
        'apiVersion',
        'auth',
        'ewsUrl',
        'faults',
        'mailboxes',
        'now',
        'seed',
        'timeScale',
        'tokenUrl',
        'url',
      ].sort(),
    );
    const [mailbox] = sim.mailboxes();
    expect(keys(mailbox)).toEqual(['address', 'database', 'folders', 'moving']);
    expect(keys(mailbox?.folders.projects)).toEqual(
      ['displayName', 'distinguishedFolderId', 'folderId', 'items', 'parentFolderId', 'unread'].sort(),
    );
    const change = (await call('POST', '/_sim/changes', { mailbox: 'user1@contoso.test', kind: 'create' }))
      .json;
    expect(keys(change)).toEqual(
      [
        'at',
        'calendarActivity',
        'changeKey',
        'element',
        'events',
        'folder',
        'folderId',
        'isRead',
        'itemId',
        'kind',
        'mailbox',
        'occurrenceItemId',
        'oldFolder',
        'oldFolderId',
        'oldItemId',
        'seq',
      ].sort(),
    );
    const events = typeof change === 'object' && change !== null ? Reflect.get(change, 'events') : undefined;
    expect(keys(Array.isArray(events) ? events[0] : undefined)).toEqual(
      ['folderId', 'itemId', 'oldParentFolderId', 'parentFolderId', 'type', 'watermark'].sort(),
    );
    expect(keys(sim.subscriptions()[0])).toEqual(
      [
        'callerData',
        'createdAt',
        'endReason',
        'endedAt',
        'eventTypes',
        'failedAttempts',
        'folders',
        'lastDeliveredAt',
        'lastWatermark',
        'mailbox',
        'resumedFrom',
        'state',
        'statusFrequency',
        'subscriptionId',
        'url',
      ].sort(),
    );
    expect(keys(sim.deliveries()[0])).toEqual(
      [
        'attempt',
        'detail',
        'duplicate',
        'eventCount',
        'finishedAt',
        'httpStatus',
        'kind',
        'mailbox',
        'moreEvents',
        'notification',
        'outcome',
        'previousWatermark',
        'scheduledAt',
        'seq',
        'startedAt',
        'subscriptionId',
        'url',
        'watermark',
      ].sort(),
    );
    expect(keys((await call('GET', '/_sim/faults')).json)).toEqual([...FAULT_KEYS].sort());
    const move = (await call('POST', '/_sim/mailboxes/user1%40contoso.test/move')).json;
    expect(keys(move)).toEqual(['database', 'mailbox', 'movingUntil']);
  });
});
