/**
 * The receiver's Graph path against its floor, on the same emulators: a validation request
 * against the bare handshake functions (what the route adds: the edge, the routing); a batch of 1
 * and of 50 change notifications (one mailbox) against the bare round trips it cannot avoid (one
 * GetItem, then the SendMessageBatch calls, in order, of the same entries).
 */
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { BatchWriteItemCommand, type BatchWriteItemCommandInput } from '@aws-sdk/client-dynamodb';
import { PurgeQueueCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DynamoPushedItemList } from '../functions/adapters/pushed-item-list.ts';
import { SqsEventPublisher } from '../functions/adapters/sqs-event-publisher.ts';
import {
  DynamoSubscriptionStore,
  documentClient,
  SUBSCRIPTION_SK,
} from '../functions/adapters/subscription-table.ts';
import { systemClock } from '../functions/core/clock.ts';
import { MemoryMetrics } from '../functions/core/telemetry.ts';
import { callbackKeyFrom } from '../functions/domain/callback.ts';
import { mailboxKeyOf } from '../functions/domain/mailbox-key.ts';
import { clientStateFor } from '../functions/graph/client-state.ts';
import { validationAnswer, validationTokenOf } from '../functions/graph/notification.ts';
import { createReceiverHandler } from '../functions/receiver/http.ts';
import { ExchangePushBridgeStack } from '../infra/stack.ts';
import { startEmulators } from '../local/emulators.ts';
import { parseTemplate, provisionFromTemplate } from '../local/provision.ts';
import { changeItem, GRAPH_TEST_USER_ID, graphRequest } from '../test/support/graph-push.ts';
import { type Comparison, compare, type Effort } from './harness.ts';

const TOKEN = 'Validation%3A+Testing+client+application+reachability+for+subscription+Request-Id%3A+0f8c2a4e';

export async function benchGraphReceiver(
  onProgress: (line: string) => void,
  effort: Effort = 'full',
): Promise<Comparison[]> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const template = parseTemplate(Template.fromStack(new ExchangePushBridgeStack(app, 'Bench')).toJSON());
  const emulators = await startEmulators();
  try {
    const resources = await provisionFromTemplate(template, emulators, { prefix: 'benchgraph' });
    const env = resources.environmentOf(resources.functionId('exchange-push-bridge receiver'));
    const tableName = env.TABLE_NAME ?? '';
    const queueUrl = env.INGEST_QUEUE_URL ?? '';
    const doc = documentClient(emulators.dynamodb);
    const key = callbackKeyFrom(randomBytes(32));
    const store = new DynamoSubscriptionStore(doc, tableName);
    const handler = createReceiverHandler({
      store,
      graphWork: store,
      // A batch of created messages also notes them on the pushed-item list (BatchWriteItem,
      // alongside the publish): the floor makes the same writes.
      pushedItemList: new DynamoPushedItemList(doc, env.SYNC_STATE_TABLE_NAME ?? ''),
      publisher: new SqsEventPublisher(emulators.sqs, queueUrl),
      clock: systemClock,
      callbackKey: async () => key,
      logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
      metrics: new MemoryMetrics(),
    });

    const mailbox = 'graph-bench@contoso.com';
    const mailboxKey = mailboxKeyOf(mailbox);
    const item = {
      pk: mailboxKey,
      sk: SUBSCRIPTION_SK,
      mailbox,
      connection: 'contoso-graph',
      source: 'graph',
      graph: {
        userId: mailbox,
        // Pinned by its first notification: the steady state every later one is read in.
        objectId: GRAPH_TEST_USER_ID,
        messages: { generation: 1, subscriptionId: 'BENCH-SM', expiresAt: Date.now() + 86_400_000 },
        events: { generation: 2, subscriptionId: 'BENCH-SE', expiresAt: Date.now() + 86_400_000 },
      },
      folders: 'all',
      eventTypes: ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent'],
      statusFrequency: 0,
      state: 'active',
      generation: 2,
      attempts: 0,
      createdAt: Date.now(),
      updatedAt: Date.now(),
    };
    await doc.send(new PutCommand({ TableName: tableName, Item: item }));
    // The bare item is a copy, so DynamoDB reads as much data.
    await doc.send(new PutCommand({ TableName: tableName, Item: { ...item, pk: 'bare' } }));
    const clientState = clientStateFor(key, mailboxKey, 1);

    // Every call new items (new etags): each is published, never a FIFO duplicate.
    let serial = 0;
    const batch = (size: number) =>
      JSON.stringify({
        value: Array.from({ length: size }, () => {
          serial++;
          return changeItem({
            subscriptionId: 'BENCH-SM',
            clientState,
            itemId: `AAMkADk3YzE0ZWFkLTFmMzYtNDc1ZC05ZjQ3LWE2NmU3ZjA1ZmI2NgBGAAAAAAC+aOZ${serial}AAA=`,
            etag: `W/"CQAAABYAAAB/ZqT+n3ytQIlGfUlUfn4a${serial}"`,
          });
        }),
      });
    const notify = (size: number) => async () => {
      const result = await handler(graphRequest({ body: batch(size) }));
      if (result.statusCode !== 202) throw new Error(`unexpected reply ${result.statusCode}`);
    };

    // The floor: the same entries the handler sends (recorded once), sent bare in the same order.
    const recordedEntries = async (size: number) => {
      const sent: SendMessageBatchCommand['input'][] = [];
      const written: BatchWriteItemCommandInput[] = [];
      const name = `graph-bench-recorder-${size}`;
      emulators.sqs.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'SendMessageBatchCommand')
            sent.push(structuredClone(args.input as SendMessageBatchCommand['input']));
          return next(args);
        },
        { step: 'initialize', name },
      );
      emulators.dynamodb.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'BatchWriteItemCommand')
            written.push(structuredClone(args.input as BatchWriteItemCommandInput));
          return next(args);
        },
        // After the document client's own initialize step has marshalled the items.
        { step: 'build', name },
      );
      await notify(size)();
      emulators.sqs.middlewareStack.remove(name);
      emulators.dynamodb.middlewareStack.remove(name);
      return { sent, written };
    };
    let bare = 0;
    const bareRoundTrips = (recorded: Awaited<ReturnType<typeof recordedEntries>>) => async () => {
      bare++;
      await doc.send(
        new GetCommand({
          TableName: tableName,
          Key: { pk: 'bare', sk: SUBSCRIPTION_SK },
          ConsistentRead: true,
        }),
      );
      await Promise.all([
        sendAll(recorded.sent),
        ...recorded.written.map((input) => emulators.dynamodb.send(new BatchWriteItemCommand(input))),
      ]);
    };
    const sendAll = async (sends: readonly SendMessageBatchCommand['input'][]) => {
      for (const input of sends) {
        await emulators.sqs.send(
          new SendMessageBatchCommand({
            ...input,
            Entries: (input.Entries ?? []).map((e, i) => ({
              ...e,
              MessageGroupId: 'bare',
              MessageDeduplicationId: `bare-${bare}-${i}`,
            })),
          }),
        );
      }
    };

    const results: Comparison[] = [];
    const validation = graphRequest({ query: `validationToken=${TOKEN}` });
    results.push(
      await compare({
        name: 'receiver handler, Graph validation request',
        baseline: 'bare validationTokenOf + validationAnswer (no edge, no routing)',
        // Reported, not a goal: microseconds either way, far from Graph's 10 s.
        target: null,
        baselineWork: async () => {
          const token = validationTokenOf(validation.rawQueryString);
          if (token === null || !token.ok) throw new Error('no token');
          validationAnswer(token.value);
        },
        candidateWork: async () => {
          const result = await handler(validation);
          if (result.statusCode !== 200) throw new Error(`unexpected reply ${result.statusCode}`);
        },
        iterationsPerRound: 200,
        rounds: 21,
        effort,
        onProgress: (round, rounds) => onProgress(`  validation: round ${round}/${rounds}`),
      }),
    );
    for (const size of [1, 50]) {
      const recorded = await recordedEntries(size);
      results.push(
        await compare({
          name: `receiver handler, Graph batch of ${size} change notification${size === 1 ? '' : 's'}`,
          baseline: `bare GetItem + ${recorded.sent.length} SendMessageBatch alongside ${recorded.written.length} BatchWriteItem`,
          target: 1.2,
          baselineWork: bareRoundTrips(recorded),
          candidateWork: notify(size),
          iterationsPerRound: size === 1 ? 30 : 6,
          rounds: 21,
          effort,
          onProgress: (round, rounds) => onProgress(`  batch of ${size}: round ${round}/${rounds}`),
        }),
      );
      await emulators.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    }
    return results;
  } finally {
    await emulators.stop();
  }
}
