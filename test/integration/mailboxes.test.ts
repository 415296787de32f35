/**
 * Managing mailboxes against emulated DynamoDB: the records the admin commands write, and how
 * they meet the receiver (Unsubscribe after removal). Adding only registers a mailbox; the
 * lifecycle's baseline and first Subscribe are proven against the simulator
 * (lifecycle.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsEventPublisher } from '../../functions/adapters/sqs-event-publisher.ts';
import { DynamoSubscriptionStore, documentClient } from '../../functions/adapters/subscription-table.ts';
import { DynamoSyncStateStore } from '../../functions/adapters/sync-state-table.ts';
import { runAdminCommand } from '../../functions/admin/commands.ts';
import type { ManageDeps } from '../../functions/admin/manage.ts';
import { callbackKeyFrom } from '../../functions/domain/callback.ts';
import { mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import { DEFAULT_POLICY, workFor } from '../../functions/domain/policy.ts';
import { classify } from '../../functions/receiver/receive.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';
import { manualClock } from '../support/manual-clock.ts';

const key = callbackKeyFrom(randomBytes(32));
const clock = manualClock();
let aws: LocalAws;
let store: DynamoSubscriptionStore;
let deps: ManageDeps;

beforeAll(async () => {
  aws = await startLocalAws();
  store = new DynamoSubscriptionStore(
    documentClient(aws.emulators.dynamodb),
    aws.environment('receiver').TABLE_NAME ?? '',
  );
  const env = aws.environment('admin');
  deps = {
    records: store,
    syncStates: new DynamoSyncStateStore(
      documentClient(aws.emulators.dynamodb),
      env.SYNC_STATE_TABLE_NAME ?? '',
    ),
    publisher: new SqsEventPublisher(aws.emulators.sqs, env.INGEST_QUEUE_URL ?? ''),
    connectionNames: async () => ['exo'],
    callbackBaseUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/',
    callbackKey: async () => key,
    clock,
  };
});
afterAll(async () => {
  await aws?.stop();
});

/** What the renewer stores once the baseline is taken and Exchange answered Subscribe. */
const subscribed = (mailbox: string, generation = 1) =>
  store.completeRenewal({
    mailboxKey: mailboxKeyOf(mailbox),
    generation,
    subscriptionId: `S-${mailbox}`,
    watermark: 'W0',
    now: clock.now(),
    syncWork: undefined,
    syncReason: undefined,
  });

const add = (fields: Record<string, unknown>) =>
  runAdminCommand({ command: 'add', connection: 'exo', ...fields }, deps);

describe('mailboxes add', () => {
  it('registers the mailbox for the lifecycle to take its baseline and then subscribe, due at once', async () => {
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
        state: 'subscribing',
        generation: 1,
        subscriptionId: null,
        syncWork: 'baseline',
        setup: {
          kind: 'settingUp',
          step: expect.stringMatching(/^waiting for the lifecycle to take the baseline/),
        },
      },
    });
    expect(response.progress.at(-1)).toMatch(/takes the baseline of its folders .* and then subscribes/);
    expect(await store.get(mailboxKeyOf('ada@contoso.test'))).toMatchObject({
      state: 'subscribing',
      syncWork: 'baseline',
      attempts: 0,
      nextAttemptAt: clock.now(),
      folders: [{ distinguishedFolderId: 'calendar' }, { distinguishedFolderId: 'inbox' }],
      eventTypes: ['CreatedEvent', 'ModifiedEvent'],
      statusFrequency: 2,
    });
  });

  it('uses defaults: every folder, every event type, a 5-minute heartbeat', async () => {
    const response = await add({ mailbox: 'defaults@contoso.test' });
    expect(response).toMatchObject({ ok: true, result: { folders: 'all', statusFrequency: 5 } });
    expect((await store.get(mailboxKeyOf('defaults@contoso.test')))?.eventTypes).toHaveLength(7);
  });

  it('refuses to add a mailbox twice, saying how to change it', async () => {
    await add({ mailbox: 'twice@contoso.test' });
    const again = await add({ mailbox: 'TWICE@contoso.test' });
    expect(again).toMatchObject({ ok: false, error: { name: 'MailboxAlreadyWatchedError' } });
    expect(again.ok ? '' : again.error.message).toMatch(/already watched .*"remove" it first/);
  });

  it('refuses bad input before storing anything', async () => {
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
    expect(await store.get(mailboxKeyOf('x@contoso.test'))).toBeUndefined();
  });
});

describe('mailboxes remove, show, list', () => {
  it('removes a mailbox so the receiver answers its subscription Unsubscribe, and can add it again on a new generation', async () => {
    await add({ mailbox: 'leaving@contoso.test' });
    await subscribed('leaving@contoso.test');
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
      result: { generation: 2, state: 'subscribing' },
    });
  });

  it('shows one mailbox with its health, and lists the watched ones', async () => {
    await add({ mailbox: 'shown@contoso.test', statusFrequency: 1 });
    await subscribed('shown@contoso.test');
    clock.advance(3 * 60_000);
    expect(await runAdminCommand({ command: 'show', mailbox: 'shown@contoso.test' }, deps)).toMatchObject({
      ok: true,
      result: { state: 'active', stale: true, secondsSinceContact: 180, setup: { kind: 'watched' } },
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

describe('a mailbox being set up', () => {
  it('is due for the lifecycle at once, then left to the renewer that holds it while it holds it', async () => {
    await add({ mailbox: 'setup@contoso.test' });
    const mailboxKey = mailboxKeyOf('setup@contoso.test');
    const at = (ms: number) => clock.now() + ms;
    const work = async (ms: number) => {
      const record = await store.get(mailboxKey);
      return record === undefined ? 'gone' : workFor(record, at(ms), DEFAULT_POLICY);
    };
    expect(await work(0)).toBe('retry');
    expect(
      await store.beginRenewal({
        mailboxKey,
        fromGeneration: 1,
        toGeneration: 2,
        state: 'subscribing',
        now: at(0),
      }),
    ).toBe(true);
    // A baseline under way: the sweeper leaves it alone as long as its renewer holds the claim.
    expect(await work(DEFAULT_POLICY.inFlightGraceMs - 1)).toBeNull();
    expect(await store.holdClaim({ mailboxKey, generation: 2, now: at(4 * 60_000) })).toBe(true);
    expect(await work(4 * 60_000 + DEFAULT_POLICY.inFlightGraceMs - 1)).toBeNull();
    expect(await work(4 * 60_000 + DEFAULT_POLICY.inFlightGraceMs + 1)).toBe('retry');
    // A renewer that lost the mailbox to a newer generation cannot hold it.
    expect(await store.holdClaim({ mailboxKey, generation: 1, now: at(5 * 60_000) })).toBe(false);
  });
});
