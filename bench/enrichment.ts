/**
 * Latency of an enriched event on the local run (issue 13): a calendar item created in the
 * simulated Exchange → push → the receiver's answer (stored before ack) → ingest queue → the
 * processor's GetItem → SNS topic → the Events queue, read by a consumer. One item at a time, so
 * nothing queues behind anything else.
 *
 * Its baseline, measured in the same run and interleaved round by round: the floor hops the path
 * cannot do without, each as a bare call on the same emulators and simulator: an HTTP POST to the
 * front end (the push's transport), a DynamoDB read and write (the record, the watermark), an SQS
 * send, receive and delete (the ingest queue), one GetItem of the item from the simulator, an SNS
 * publish and the receive of what it fanned out to a queue. The ratio is what the bridge adds
 * over the sum of those (its pollers' long polls and batching, handlers, the middy edge).
 *
 * The seed reports 150 ms for notify → ack → GetItem and 330 ms end to end on 2010 VMs; quoted
 * as reference only, not a same-machine comparison.
 */
import { performance } from 'node:perf_hooks';
import { CreateTopicCommand, PublishCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { objectConnections } from '../functions/adapters/connections-source.ts';
import { exchangeClients } from '../functions/adapters/exchange-clients.ts';
import { exchangeItemReader } from '../functions/adapters/exchange-item-reader.ts';
import { documentClient } from '../functions/adapters/subscription-table.ts';
import { DEFAULT_ENRICHMENT_SETTINGS } from '../functions/processor/enrich.ts';
import { percentile } from '../local/load-test.ts';
import { type LocalSystem, startLocalSystem } from '../local/system.ts';
import type { Comparison, Effort } from './harness.ts';

/** The seed's figures (2010 VMs): reference only. */
export const SEED_REFERENCE = { notifyAckGetItemMs: 150, endToEndMs: 330 } as const;

export interface EnrichmentLatency {
  readonly comparisons: readonly Comparison[];
  readonly samples: number;
  /** Real ms, end to end. */
  readonly endToEnd: { readonly p50: number; readonly p99: number };
  /** Real ms, each hop's p50 and p99, and their sums. */
  readonly floor: Readonly<Record<string, { readonly p50: number; readonly p99: number }>>;
  readonly floorSum: { readonly p50: number; readonly p99: number };
  readonly seedReference: typeof SEED_REFERENCE;
}

export async function benchEnrichment(
  onProgress: (line: string) => void,
  effort: Effort = 'full',
): Promise<EnrichmentLatency> {
  const rounds = effort === 'smoke' ? 3 : 300;
  const system = await startLocalSystem({
    mailboxes: 2,
    // Real time: simulated milliseconds are real ones, and no heartbeat storm.
    timeScale: 1,
    changeRate: 0,
    statusFrequency: 5,
    enrich: 'default',
  });
  try {
    const floor = await floorHops(system);
    const endToEnd = endToEndSample(system);
    const samples = { endToEnd: [] as number[], hops: new Map<string, number[]>() };
    // A few of each first: connections, tokens, JIT.
    for (let i = 0; i < (effort === 'smoke' ? 1 : 10); i++) {
      await endToEnd();
      for (const hop of floor) await hop.run();
    }
    for (let round = 0; round < rounds; round++) {
      // Alternate the order so neither always runs right after the other.
      const e2e = async () => samples.endToEnd.push(await endToEnd());
      const hops = async () => {
        for (const hop of floor) {
          const list = samples.hops.get(hop.name) ?? [];
          list.push(await hop.run());
          samples.hops.set(hop.name, list);
        }
      };
      if (round % 2) {
        await hops();
        await e2e();
      } else {
        await e2e();
        await hops();
      }
      onProgress(`enrichment latency: round ${round + 1} of ${rounds}`);
    }
    return summarize(samples, rounds);
  } finally {
    await system.stop();
  }
}

function summarize(
  samples: { endToEnd: number[]; hops: Map<string, number[]> },
  rounds: number,
): EnrichmentLatency {
  const p = (xs: readonly number[], q: number) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      q,
    );
  const floor: Record<string, { p50: number; p99: number }> = {};
  for (const [name, xs] of samples.hops) floor[name] = { p50: round(p(xs, 50)), p99: round(p(xs, 99)) };
  // The floor of one trip through the path, round by round: the sum of that round's hops.
  const sums = Array.from({ length: rounds }, (_, i) =>
    [...samples.hops.values()].reduce((sum, xs) => sum + (xs[i] ?? 0), 0),
  );
  const floorSum = { p50: p(sums, 50), p99: p(sums, 99) };
  const endToEnd = { p50: p(samples.endToEnd, 50), p99: p(samples.endToEnd, 99) };
  const perRound = samples.endToEnd.map((e, i) => e / (sums[i] ?? e));
  const comparison = (q: 'p50' | 'p99'): Comparison => ({
    name: `enriched event, change → push → ack → GetItem → consumer, ${q}`,
    baseline: `the sum of the floor hops' ${q} (HTTP POST, DynamoDB read + write, SQS send/receive/delete, GetItem, SNS publish → queue receive)`,
    baselineMicros: floorSum[q] * 1000,
    candidateMicros: endToEnd[q] * 1000,
    ratio: endToEnd[q] / floorSum[q],
    ratioRange: [Math.min(...perRound), Math.max(...perRound)],
    target: null,
    withinTarget: true,
    rounds,
    iterationsPerRound: 1,
  });
  return {
    comparisons: [comparison('p50'), comparison('p99')],
    samples: samples.endToEnd.length,
    endToEnd: { p50: round(endToEnd.p50), p99: round(endToEnd.p99) },
    floor,
    floorSum: { p50: round(floorSum.p50), p99: round(floorSum.p99) },
    seedReference: SEED_REFERENCE,
  };
}

export function formatEnrichment(result: EnrichmentLatency): string[] {
  return [
    `enrichment latency over ${result.samples} items: end to end p50 ${result.endToEnd.p50} ms, p99 ${result.endToEnd.p99} ms; floor hops summed p50 ${result.floorSum.p50} ms, p99 ${result.floorSum.p99} ms`,
    `  floor hops (p50/p99 ms): ${Object.entries(result.floor)
      .map(([name, v]) => `${name} ${v.p50}/${v.p99}`)
      .join(', ')}`,
    `  seed, for reference only (2010 VMs, not this machine): notify → ack → GetItem ${SEED_REFERENCE.notifyAckGetItemMs} ms, end to end ${SEED_REFERENCE.endToEndMs} ms`,
  ];
}

/**
 * One calendar item made in the simulator, timed until the consumer reads its CreatedEvent, with
 * the item, from the Events queue (every message read is deleted, as a consumer does).
 */
function endToEndSample(system: LocalSystem): () => Promise<number> {
  const { sqs } = system.emulators;
  const mailbox = system.simulator.mailboxAddresses[0] ?? '';
  return async () => {
    const started = performance.now();
    const change = system.simulator.makeChange({
      mailbox,
      kind: 'create',
      folder: 'calendar',
      calendarActivity: 'singleMeeting',
    });
    for (;;) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: system.consumerQueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        }),
      );
      let found = false;
      for (const message of Messages ?? []) {
        const elapsed = performance.now() - started;
        if (carriesItem(message.Body ?? '', change.itemId)) found = true;
        await sqs.send(
          new DeleteMessageCommand({
            QueueUrl: system.consumerQueueUrl,
            ReceiptHandle: message.ReceiptHandle,
          }),
        );
        if (found) {
          // The folder's ModifiedEvent comes too: read it now so the next sample starts clean.
          await drainEvents(system);
          return elapsed;
        }
      }
      if (performance.now() - started > 30_000)
        throw new Error(`no CreatedEvent with data.item for ${change.itemId} within 30 s`);
    }
  };
}

function carriesItem(body: string, itemId: string): boolean {
  const event: unknown = JSON.parse(body);
  if (typeof event !== 'object' || event === null) return false;
  const data: unknown = Reflect.get(event, 'data');
  if (typeof data !== 'object' || data === null) return false;
  const id: unknown = Reflect.get(data, 'itemId');
  const item: unknown = Reflect.get(data, 'item');
  return (
    Reflect.get(data, 'eventType') === 'CreatedEvent' &&
    typeof id === 'object' &&
    id !== null &&
    Reflect.get(id, 'id') === itemId &&
    typeof item === 'object' &&
    item !== null
  );
}

async function drainEvents(system: LocalSystem): Promise<void> {
  const { sqs } = system.emulators;
  for (let empty = 0; empty < 2; ) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: system.consumerQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    if (!Messages?.length) {
      empty++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    for (const message of Messages)
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: system.consumerQueueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
  }
}

interface Hop {
  readonly name: string;
  /** Real ms the bare call took. */
  run(): Promise<number>;
}

/** The bare calls, on scratch resources of the same emulators (the live queues stay untouched). */
async function floorHops(system: LocalSystem): Promise<Hop[]> {
  const { sqs, sns, dynamodb } = system.emulators;
  const timed = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  };
  const scratchQueue = async (name: string) => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${name}.fifo`,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
      }),
    );
    if (QueueUrl === undefined) throw new Error(`the scratch queue ${name} could not be created`);
    const url = QueueUrl.replace(/^https?:\/\/[^/]+/, system.emulators.sqsEndpoint);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    return { url, arn: Attributes?.QueueArn ?? '' };
  };
  const ingest = await scratchQueue('bench-floor-ingest');
  const fanned = await scratchQueue('bench-floor-fanned');
  const { TopicArn } = await sns.send(
    new CreateTopicCommand({
      Name: 'bench-floor-events.fifo',
      Attributes: { FifoTopic: 'true', ContentBasedDeduplication: 'false' },
    }),
  );
  await sns.send(
    new SubscribeCommand({
      TopicArn,
      Protocol: 'sqs',
      Endpoint: fanned.arn,
      Attributes: { RawMessageDelivery: 'true' },
    }),
  );
  const doc = documentClient(dynamodb);
  const table = [...system.resources.tables].find(([id]) => /^BridgeStateTable[0-9A-F]{8}$/.test(id))?.[1];
  if (table === undefined)
    throw new Error(
      `no subscription table (BridgeStateTable…) among ${[...system.resources.tables.keys()].join(', ')}`,
    );
  const [client] = system.simulator.credentials.oauth;
  if (client === undefined) throw new Error('the simulator offers no OAuth client');
  const reader = exchangeItemReader(
    exchangeClients(
      objectConnections(
        {
          local: {
            ewsUrl: system.simulator.ewsUrl,
            auth: {
              kind: 'oauth2',
              tenantId: 'contoso.test',
              clientId: client.clientId,
              clientSecret: client.clientSecret,
              tokenUrl: system.simulator.tokenUrl,
            },
            timeoutMs: 10_000,
          },
        },
        'the bench',
      ),
      { clock: system.clock },
    ),
    { maxBodyChars: DEFAULT_ENRICHMENT_SETTINGS.maxBodyChars },
  );
  const mailbox = system.simulator.mailboxAddresses[1] ?? '';
  const item = system.simulator.makeChange({ mailbox, kind: 'create', folder: 'calendar' });
  // An event-sized body: what the receiver sends and the processor publishes.
  const body = JSON.stringify({ padding: 'x'.repeat(1_500) });
  let n = 0;
  const receiveOne = async (url: string) => {
    for (;;) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
      );
      const [message] = Messages ?? [];
      if (message !== undefined) return message;
    }
  };
  let received: string | undefined;
  return [
    {
      name: 'HTTP POST to the front end',
      run: () =>
        timed(async () => {
          const response = await fetch(`${system.receiverUrl}/bench-floor`, { method: 'POST', body });
          await response.arrayBuffer();
        }),
    },
    {
      name: 'DynamoDB GetItem',
      run: () =>
        timed(() =>
          doc.send(
            new GetCommand({ TableName: table, Key: { pk: 'bench-floor', sk: 'x' }, ConsistentRead: true }),
          ),
        ),
    },
    {
      name: 'DynamoDB PutItem',
      run: () =>
        timed(() =>
          doc.send(new PutCommand({ TableName: table, Item: { pk: 'bench-floor', sk: 'x', n: ++n } })),
        ),
    },
    {
      name: 'SQS SendMessage',
      run: () =>
        timed(() =>
          sqs.send(
            new SendMessageCommand({
              QueueUrl: ingest.url,
              MessageBody: body,
              MessageGroupId: 'g',
              MessageDeduplicationId: `d${++n}`,
            }),
          ),
        ),
    },
    {
      name: 'SQS ReceiveMessage',
      run: () =>
        timed(async () => {
          received = (await receiveOne(ingest.url)).ReceiptHandle;
        }),
    },
    {
      name: 'SQS DeleteMessage',
      run: () =>
        timed(() => sqs.send(new DeleteMessageCommand({ QueueUrl: ingest.url, ReceiptHandle: received }))),
    },
    {
      name: 'GetItem (simulator)',
      run: () =>
        timed(async () => {
          const answer = await reader.read('local', mailbox, { itemIds: [item.itemId], body: false });
          if (!answer.ok) throw new Error(`GetItem failed: ${answer.error.code} ${answer.error.detail}`);
        }),
    },
    {
      name: 'SNS Publish → queue receive + delete',
      run: () =>
        timed(async () => {
          await sns.send(
            new PublishCommand({
              TopicArn,
              Message: body,
              MessageGroupId: 'g',
              MessageDeduplicationId: `p${++n}`,
            }),
          );
          const message = await receiveOne(fanned.url);
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: fanned.url, ReceiptHandle: message.ReceiptHandle }),
          );
        }),
    },
  ];
}

const round = (x: number) => Math.round(x * 10) / 10;
