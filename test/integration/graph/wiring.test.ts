/**
 * Graph through the functions' own wiring (the wiring.ts each handler.ts uses in Lambda), on the
 * emulated AWS provisioned from the CDK template, with the Graph stand-in behind the connections
 * secret: `add` on the admin function picks the Graph source, the sweeper queues the mailbox, the
 * renewer takes its baseline and creates its subscriptions (the stand-in validating both URLs
 * through the receiver's real routes), and a change in the mailbox reaches the ingest queue as the
 * bridge's event.
 */
import { randomBytes } from 'node:crypto';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectConnections } from '../../../functions/adapters/connections-source.ts';
import { exchangeClients } from '../../../functions/adapters/exchange-clients.ts';
import { graphClients } from '../../../functions/adapters/graph-clients.ts';
import type { SecretSources } from '../../../functions/adapters/secret-sources.ts';
import type { AdminHandler } from '../../../functions/admin/invoke.ts';
import { wireAdmin } from '../../../functions/admin/wiring.ts';
import { systemClock } from '../../../functions/core/clock.ts';
import { MemoryMetrics } from '../../../functions/core/telemetry.ts';
import { callbackKeyFrom } from '../../../functions/domain/callback.ts';
import { wireReceiver } from '../../../functions/receiver/wiring.ts';
import { wireRenewer } from '../../../functions/renewer/wiring.ts';
import { wireSweeper } from '../../../functions/sweeper/wiring.ts';
import { type GraphSimulator, startGraphSimulator } from '../../../graph-simulator/server.ts';
import { type FrontEnd, startFrontEnd } from '../../../local/front-end.ts';
import { routeFrontEnd } from '../../../local/routes.ts';
import { graphConnectionTo } from '../../support/graph-connection.ts';
import { drain, type LocalAws, startLocalAws } from '../../support/local-aws.ts';

const mailbox = 'ada@contoso.test';
const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

let aws: LocalAws;
let graph: GraphSimulator;
let front: FrontEnd;
let admin: AdminHandler;
let renewer: ReturnType<typeof wireRenewer>;
let sweeper: ReturnType<typeof wireSweeper>;

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  front = await startFrontEnd();
  aws = await startLocalAws({ apiEndpoint: front.url });
  graph = await startGraphSimulator({ mailboxes: [mailbox] });
  const connections = objectConnections(graphConnectionTo(graph));
  const key = callbackKeyFrom(randomBytes(32));
  const secrets: SecretSources = {
    callbackKey: () => async () => key,
    exchangeClients: () => exchangeClients(connections),
    graphClients: () => graphClients(connections),
  };
  const { dynamodb, sqs } = aws.emulators;
  const host = { clock: systemClock, logger: silent, metrics: new MemoryMetrics() };
  admin = wireAdmin(aws.environment('admin'), { dynamodb, sqs, secrets, ...host });
  renewer = wireRenewer(aws.environment('renewer'), { dynamodb, sqs, secrets, ...host });
  sweeper = wireSweeper(aws.environment('sweeper'), { dynamodb, sqs, ...host });
  const receiver = wireReceiver(aws.environment('receiver'), {
    dynamodb,
    sqs,
    callbackKey: secrets.callbackKey(''),
    ...host,
  });
  routeFrontEnd(front, { receiver, admin });
});

afterAll(async () => {
  await graph?.stop();
  await front?.stop();
  await aws?.stop();
});

async function receive(queueUrl: string) {
  const { Messages = [] } = await aws.emulators.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  return Messages;
}

describe('Graph through the Lambda wiring', () => {
  it('add → sweep → renewer → subscriptions validated by the receiver → a change published', async () => {
    const added = await admin({ command: 'add', mailbox, connection: 'contoso-graph' });
    expect(added).toMatchObject({ ok: true, result: { source: 'graph', state: 'subscribing' } });

    await sweeper();
    const renewals = aws.environment('renewer').RENEWALS_QUEUE_URL ?? '';
    const jobs = await receive(renewals);
    expect(jobs).toHaveLength(1);
    const event: SQSEvent = {
      Records: jobs.map((m) => ({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'test',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:renewals',
        awsRegion: 'us-east-1',
      })),
    };
    expect(await renewer(event)).toEqual({ batchItemFailures: [] });

    const shown = await admin({ command: 'show', mailbox });
    expect(shown).toMatchObject({ ok: true, result: { source: 'graph', state: 'active' } });
    const view = shown.ok && !Array.isArray(shown.result) ? shown.result : undefined;
    expect(view && 'graphSubscriptions' in view ? view.graphSubscriptions?.length : 0).toBe(2);
    expect(view && 'expiresAt' in view ? view.expiresAt : null).not.toBeNull();
    // Graph validated both URLs of both subscriptions through the receiver's routes.
    expect(graph.validations().filter((v) => ('ok' in v ? v.ok : true)).length).toBeGreaterThanOrEqual(4);

    const change = graph.makeChange({ mailbox, itemType: 'message', kind: 'created', folder: 'inbox' });
    const ingest = aws.environment('receiver').INGEST_QUEUE_URL ?? '';
    const published: Array<{ type?: string; subject?: string }> = [];
    // Read and deleted, as the processor does: a FIFO group waits while a message is in flight.
    for (let i = 0; i < 40 && !published.some((e) => e.subject === change.immutableId); i++) {
      for (const m of await drain(aws.emulators.sqs, ingest)) published.push(JSON.parse(m.Body ?? '{}'));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(published.map((e) => e.type)).toContain('exchange-push-bridge.notification.CreatedEvent');
    expect(published.map((e) => e.subject)).toContain(change.immutableId);
  });

  // Continues the mailbox watched above.
  it('remove → its subscriptions DELETEd at Graph; a late notification of one is answered 202 and dropped', async () => {
    const before = graph.subscriptions({ mailbox }).filter((s) => s.state === 'active');
    expect(before).toHaveLength(2);
    const removed = await admin({ command: 'remove', mailbox });
    expect(removed).toMatchObject({ ok: true, result: { state: 'removed' } });
    expect(removed.progress).toEqual(
      expect.arrayContaining(before.map((s) => `deleted Graph subscription ${s.id}`)),
    );
    const after = graph.subscriptions({ mailbox });
    for (const s of before)
      expect(after.find((a) => a.id === s.id)).toMatchObject({
        state: 'deleted',
        endReason: expect.stringMatching(/DELETE/),
      });

    // A retry Graph had in flight when the subscription was deleted: its clientState still verifies.
    const [sub] = before;
    if (sub === undefined) throw new Error('no subscription');
    const ingest = aws.environment('receiver').INGEST_QUEUE_URL ?? '';
    await drain(aws.emulators.sqs, ingest);
    const late = await fetch(sub.notificationUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        value: [
          {
            subscriptionId: sub.id,
            clientState: sub.clientState,
            changeType: 'created',
            resource: 'Users/00000000-0000-0000-0000-000000000001/Messages/late-item',
            resourceData: { id: 'late-item', '@odata.type': '#Microsoft.Graph.Message' },
            tenantId: '00000000-0000-0000-0000-0000000000aa',
            subscriptionExpirationDateTime: sub.expirationDateTime,
          },
        ],
      }),
    });
    expect(late.status).toBe(202);
    expect(await drain(aws.emulators.sqs, ingest)).toEqual([]);
    // Nothing is owed to a removed mailbox: no work noted, the sweeper queues nothing.
    await sweeper();
    expect(await receive(aws.environment('renewer').RENEWALS_QUEUE_URL ?? '')).toEqual([]);
  });
});
