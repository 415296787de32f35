/**
 * Managing mailboxes against emulated DynamoDB: the records the admin commands write, and how
 * they meet the receiver (the renewal race on a fresh subscription, Unsubscribe after removal).
 * Exchange is a scripted Subscriber here; the simulator-driven tests exercise the real client.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsEventPublisher } from '../../functions/adapters/sqs-event-publisher.ts';
import { DynamoSubscriptionStore, documentClient } from '../../functions/adapters/subscription-table.ts';
import { DynamoSyncStateStore } from '../../functions/adapters/sync-state-table.ts';
import { runAdminCommand } from '../../functions/admin/commands.ts';
import { err, ok, type Result } from '../../functions/core/result.ts';
import { callbackKeyFrom, verifyCallback } from '../../functions/domain/callback.ts';
import { mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import type { PushSubscriptionRequest, SubscribeResult } from '../../functions/ews/subscribe.ts';
import type { ManageDeps, SubscribeFailure, Subscriber } from '../../functions/mailboxes/manage.ts';
import { classify } from '../../functions/receiver/receive.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';
import { manualClock } from '../support/manual-clock.ts';

const key = callbackKeyFrom(randomBytes(32));
const clock = manualClock();
let aws: LocalAws;
let store: DynamoSubscriptionStore;

/** Exchange as far as Subscribe goes: records requests, answers from a script. */
class ScriptedExchange implements Subscriber {
  readonly requests: Array<{ mailbox: string; request: PushSubscriptionRequest }> = [];
  next: () => Result<SubscribeResult, SubscribeFailure> = () =>
    ok({ subscriptionId: `S${this.requests.length}`, watermark: 'W0' });
  async subscribe(mailbox: string, request: PushSubscriptionRequest) {
    this.requests.push({ mailbox, request });
    return this.next();
  }
}
let exchange: ScriptedExchange;
let deps: ManageDeps;

beforeAll(async () => {
  aws = await startLocalAws();
  store = new DynamoSubscriptionStore(
    documentClient(aws.emulators.dynamodb),
    aws.environment('receiver').TABLE_NAME ?? '',
  );
  exchange = new ScriptedExchange();
  const env = aws.environment('admin');
  deps = {
    records: store,
    syncStates: new DynamoSyncStateStore(
      documentClient(aws.emulators.dynamodb),
      env.SYNC_STATE_TABLE_NAME ?? '',
    ),
    publisher: new SqsEventPublisher(aws.emulators.sqs, env.INGEST_QUEUE_URL ?? ''),
    connection: async (name) => (name === 'exo' ? exchange : undefined),
    connectionNames: async () => ['exo'],
    callbackBaseUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/',
    callbackKey: async () => key,
    clock,
  };
});
afterAll(async () => {
  await aws?.stop();
});

const add = (fields: Record<string, unknown>) =>
  runAdminCommand({ command: 'add', connection: 'exo', ...fields }, deps);

describe('mailboxes add', () => {
  it('registers the mailbox, subscribes with an authenticated callback URL, and stores the subscription', async () => {
    const response = await add({
      mailbox: 'Ada@Contoso.test',
      folders: ['calendar', 'inbox'],
      eventTypes: ['CreatedEvent', 'ModifiedEvent'],
      statusFrequency: 2,
    });
    expect(response).toMatchObject({
      ok: true,
      result: {
        mailbox: 'ada@contoso.test',
        state: 'active',
        generation: 1,
        subscriptionId: 'S1',
        watermark: 'W0',
        stale: false,
      },
    });
    expect(response.progress.length).toBeGreaterThan(2);
    const [{ mailbox, request } = { mailbox: '', request: undefined }] = exchange.requests.slice(-1);
    expect(mailbox).toBe('ada@contoso.test');
    expect(request).toMatchObject({
      folders: [{ distinguishedFolderId: 'calendar' }, { distinguishedFolderId: 'inbox' }],
      statusFrequency: 2,
    });
    const url = new URL(request?.url ?? '');
    expect(url.origin).toBe('https://abc.execute-api.eu-west-1.amazonaws.com');
    const [, , mailboxKey, generation, token] = url.pathname.split('/');
    expect(verifyCallback(key, { mailboxKey, generation, token })).toEqual({
      mailboxKey: mailboxKeyOf('ada@contoso.test'),
      generation: 1,
    });
  });

  it('uses defaults: every folder, every event type, a 5-minute heartbeat', async () => {
    const response = await add({ mailbox: 'defaults@contoso.test' });
    expect(response).toMatchObject({ ok: true, result: { folders: 'all', statusFrequency: 5 } });
    expect(exchange.requests.at(-1)?.request.eventTypes).toHaveLength(7);
  });

  it('refuses to add a mailbox twice, saying how to change it', async () => {
    await add({ mailbox: 'twice@contoso.test' });
    const again = await add({ mailbox: 'TWICE@contoso.test' });
    expect(again).toMatchObject({ ok: false, error: { name: 'MailboxAlreadyWatchedError' } });
    expect(again.ok ? '' : again.error.message).toMatch(/already watched .*"remove" it first/);
  });

  it('refuses bad input before storing or sending anything', async () => {
    const before = exchange.requests.length;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ mailbox: 'not-an-address' }, /is not an e-mail address/],
      [
        { mailbox: 'x@contoso.test', connection: 'nope' },
        /no Exchange connection named "nope"; configured: exo/,
      ],
      [
        { mailbox: 'x@contoso.test', folders: ['Inbox'] },
        /folder "\\"Inbox\\"" is neither a well-known folder name/,
      ],
      [
        { mailbox: 'x@contoso.test', eventTypes: ['StatusEvent'] },
        /event type "StatusEvent" cannot be subscribed to/,
      ],
      [
        { mailbox: 'x@contoso.test', statusFrequency: 0 },
        /statusFrequency "0" must be a whole number of minutes from 1 to 1440/,
      ],
      [{ mailbox: 'x@contoso.test', statusFrequency: '5' }, /statusFrequency "5"/],
    ];
    for (const [fields, message] of cases) {
      const response = await add(fields);
      expect(response.ok).toBe(false);
      expect(response.ok ? '' : response.error.message).toMatch(message);
    }
    expect(exchange.requests.length).toBe(before);
    expect(await store.get(mailboxKeyOf('x@contoso.test'))).toBeUndefined();
  });

  it('keeps a mailbox whose Subscribe failed as subscribing, with the error, for the lifecycle to retry', async () => {
    exchange.next = () =>
      err(
        Object.assign(
          new Error('Subscribe failed with ErrorExceededSubscriptionCount: remove unused subscriptions'),
          { retryable: false },
        ),
      );
    const response = await add({ mailbox: 'full@contoso.test' });
    exchange.next = () => ok({ subscriptionId: `S${exchange.requests.length}`, watermark: 'W0' });
    expect(response).toMatchObject({ ok: false, error: { name: 'SubscribeFailedError' } });
    expect(response.ok ? '' : response.error.message).toMatch(
      /registered, but Subscribe failed: .*ErrorExceededSubscriptionCount.*needs a fix on your side/,
    );
    expect(await store.get(mailboxKeyOf('full@contoso.test'))).toMatchObject({
      state: 'subscribing',
      attempts: 1,
      lastError: expect.stringContaining('ErrorExceededSubscriptionCount'),
      nextAttemptAt: clock.now() + 60_000,
    });
  });

  it('does not rewind a subscription the receiver adopted while Subscribe was still answering', async () => {
    const mailbox = 'race@contoso.test';
    const mailboxKey = mailboxKeyOf(mailbox);
    exchange.next = () => ok({ subscriptionId: 'S-race', watermark: 'W0' });
    // Exchange pushes (and the receiver adopts) before the Subscribe response is processed.
    const original = exchange.subscribe.bind(exchange);
    exchange.subscribe = async (m, r) => {
      const answer = await original(m, r);
      await store.advance({
        mailboxKey,
        generation: 1,
        subscriptionId: 'S-race',
        expect: { kind: 'adoption' },
        watermark: 'W5',
        contactAt: clock.now(),
      });
      return answer;
    };
    const response = await add({ mailbox });
    exchange.subscribe = original;
    expect(response).toMatchObject({
      ok: true,
      result: { state: 'active', subscriptionId: 'S-race', watermark: 'W5' },
    });
  });
});

describe('mailboxes remove, show, list', () => {
  it('removes a mailbox so the receiver answers its subscription Unsubscribe, and can add it again on a new generation', async () => {
    await add({ mailbox: 'leaving@contoso.test' });
    const mailboxKey = mailboxKeyOf('leaving@contoso.test');
    const removed = await runAdminCommand({ command: 'remove', mailbox: 'leaving@contoso.test' }, deps);
    expect(removed).toMatchObject({ ok: true, result: { state: 'removed' } });
    const record = await store.get(mailboxKey);
    const heartbeat = {
      responseClass: 'Success',
      responseCode: null,
      subscriptionId: 'x',
      previousWatermark: null,
      moreEvents: null,
      events: [],
      messageText: null,
    } as const;
    expect(
      classify({ mailboxKey, generation: 1 }, heartbeat, record?.subscriptionId ?? '', null, record),
    ).toEqual({ kind: 'final', decision: 'removed' });
    expect(await runAdminCommand({ command: 'remove', mailbox: 'leaving@contoso.test' }, deps)).toMatchObject(
      { ok: false, error: { name: 'MailboxNotWatchedError' } },
    );
    expect(await add({ mailbox: 'leaving@contoso.test' })).toMatchObject({
      ok: true,
      result: { generation: 2, state: 'active' },
    });
  });

  it('shows one mailbox with its health, and lists the watched ones', async () => {
    await add({ mailbox: 'shown@contoso.test', statusFrequency: 1 });
    clock.advance(3 * 60_000);
    expect(await runAdminCommand({ command: 'show', mailbox: 'shown@contoso.test' }, deps)).toMatchObject({
      ok: true,
      result: { state: 'active', stale: true, secondsSinceContact: 180 },
    });
    const list = await runAdminCommand({ command: 'list' }, deps);
    const mailboxes = list.ok && Array.isArray(list.result) ? list.result.map((m) => m.mailbox) : [];
    expect(mailboxes).toContain('shown@contoso.test');
    expect(mailboxes).not.toContain('nobody@contoso.test');
    expect([...mailboxes].sort()).toEqual(mailboxes);
    expect(await runAdminCommand({ command: 'show', mailbox: 'nobody@contoso.test' }, deps)).toMatchObject({
      ok: false,
      error: { name: 'MailboxNotWatchedError' },
    });
  });

  it('refuses unknown commands and malformed requests with a message saying what to send', async () => {
    for (const input of [
      null,
      [],
      'list',
      { command: 'purge' },
      { command: 'show' },
      { command: 'list', includeRemoved: 'yes' },
    ]) {
      const response = await runAdminCommand(input, deps);
      expect(response).toMatchObject({ ok: false, error: { name: 'InvalidMailboxSpecError' } });
    }
  });
});
