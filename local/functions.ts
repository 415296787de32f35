/**
 * The bridge's functions: the receiver by its own wiring.ts (the one its handler.ts uses), the others
 * wired as their handler.ts files wire them in Lambda: the same handler
 * factories and adapters, on the emulated AWS, the simulated Exchange and the run's clock. One
 * function per Lambda, so each reads like its handler.ts.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asRenewalExchange, type ExchangeClients } from '../functions/adapters/exchange-clients.ts';
import { DynamoPushedItemList } from '../functions/adapters/pushed-item-list.ts';
import { SnsEventTopic } from '../functions/adapters/sns-event-topic.ts';
import { SqsEventPublisher } from '../functions/adapters/sqs-event-publisher.ts';
import { SqsRenewalQueue } from '../functions/adapters/sqs-renewal-queue.ts';
import { DynamoSubscriptionStore, documentClient } from '../functions/adapters/subscription-table.ts';
import { DynamoSyncStateStore } from '../functions/adapters/sync-state-table.ts';
import { createAdminHandler } from '../functions/admin/invoke.ts';
import type { Clock } from '../functions/core/clock.ts';
import { MemoryMetrics } from '../functions/core/telemetry.ts';
import { type CallbackKey, callbackKeyFrom } from '../functions/domain/callback.ts';
import { DEFAULT_POLICY, type LifecyclePolicy } from '../functions/domain/policy.ts';
import { createProcessorHandler } from '../functions/processor/batch.ts';
import { wireReceiver } from '../functions/receiver/wiring.ts';
import { createRenewerHandler } from '../functions/renewer/batch.ts';
import { createSweepHandler } from '../functions/sweeper/run.ts';
import { type EmulatedAws, required } from './emulated-aws.ts';
import { localEnrichment } from './enrichment.ts';
import { type LocalSystemOptions, localLogger } from './options.ts';

/** What every function shares: where things are, the clock, the callback key, the policy. */
interface Wiring {
  readonly aws: EmulatedAws;
  readonly clients: ExchangeClients;
  readonly receiverUrl: string;
  readonly clock: Clock;
  readonly options: LocalSystemOptions;
  readonly doc: ReturnType<typeof documentClient>;
  readonly store: DynamoSubscriptionStore;
  readonly syncStates: DynamoSyncStateStore;
  readonly publisher: SqsEventPublisher;
  readonly pushedItemList: DynamoPushedItemList;
  readonly renewalQueue: SqsRenewalQueue;
  readonly callbackKey: () => Promise<CallbackKey>;
  readonly policy: LifecyclePolicy;
}

export type LocalFunctions = ReturnType<typeof wireFunctions>;

export function wireFunctions(args: {
  readonly aws: EmulatedAws;
  readonly clients: ExchangeClients;
  readonly receiverUrl: string;
  readonly clock: Clock;
  readonly options: LocalSystemOptions;
}) {
  const { aws, clock, options } = args;
  const doc = documentClient(aws.emulators.dynamodb);
  const key = loadCallbackKey(options.dataDir);
  const wiring: Wiring = {
    ...args,
    doc,
    store: new DynamoSubscriptionStore(doc, required(aws.env.receiver, 'TABLE_NAME')),
    syncStates: new DynamoSyncStateStore(doc, required(aws.env.renewer, 'SYNC_STATE_TABLE_NAME')),
    publisher: new SqsEventPublisher(aws.emulators.sqs, required(aws.env.receiver, 'INGEST_QUEUE_URL')),
    pushedItemList: new DynamoPushedItemList(doc, required(aws.env.receiver, 'SYNC_STATE_TABLE_NAME')),
    renewalQueue: new SqsRenewalQueue(aws.emulators.sqs, aws.queues.renewals.url, clock),
    callbackKey: async () => key,
    policy: { ...DEFAULT_POLICY, ...options.policy },
  };
  const metrics = {
    receiver: new MemoryMetrics(),
    renewer: new MemoryMetrics(),
    sweeper: new MemoryMetrics(),
    processor: new MemoryMetrics(),
  };
  return {
    /** The subscription table, for the run's own reading. */
    store: wiring.store,
    metrics,
    receiver: receiver(wiring, metrics.receiver),
    processor: wireProcessor(wiring, metrics.processor),
    renewer: wireRenewer(wiring, metrics.renewer),
    sweeper: wireSweeper(wiring, metrics.sweeper),
    admin: wireAdmin(wiring),
  };
}

function receiver(w: Wiring, metrics: MemoryMetrics) {
  return wireReceiver(w.aws.env.receiver, {
    dynamodb: w.aws.emulators.dynamodb,
    sqs: w.aws.emulators.sqs,
    callbackKey: w.callbackKey,
    clock: w.clock,
    logger: localLogger(w.options.log, 'receiver'),
    metrics,
  });
}

function wireProcessor(w: Wiring, metrics: MemoryMetrics) {
  return createProcessorHandler({
    topic: new SnsEventTopic(w.aws.emulators.sns, required(w.aws.env.processor, 'EVENTS_TOPIC_ARN')),
    logger: localLogger(w.options.log, 'processor'),
    metrics,
    // The local run enriches by default (`npm start -- --enrich none` turns it off).
    ...localEnrichment(w.clients, w.clock, w.options.enrich ?? 'default'),
  });
}

function wireRenewer(w: Wiring, metrics: MemoryMetrics) {
  return createRenewerHandler({
    store: w.store,
    syncStates: w.syncStates,
    pushedItemList: w.pushedItemList,
    exchange: async (connection) => {
      const c = await w.clients.client(connection);
      return c === undefined ? undefined : asRenewalExchange(c);
    },
    queue: w.renewalQueue,
    publisher: w.publisher,
    callbackBaseUrl: w.receiverUrl,
    callbackKey: w.callbackKey,
    clock: w.clock,
    policy: w.policy,
    random: Math.random,
    logger: localLogger(w.options.log, 'renewer'),
    metrics,
    ...(w.options.onRenewal ? { onOutcome: w.options.onRenewal } : {}),
  });
}

function wireSweeper(w: Wiring, metrics: MemoryMetrics) {
  return createSweepHandler({
    records: w.store,
    queue: w.renewalQueue,
    clock: w.clock,
    policy: w.policy,
    logger: localLogger(w.options.log, 'sweeper'),
    metrics,
  });
}

function wireAdmin(w: Wiring) {
  return createAdminHandler({
    records: w.store,
    syncStates: w.syncStates,
    publisher: w.publisher,
    connectionNames: () => w.clients.names(),
    callbackBaseUrl: w.receiverUrl,
    callbackKey: w.callbackKey,
    clock: w.clock,
    logger: localLogger(w.options.log, 'admin'),
  });
}

/** The callback key survives a persisted run's restart: subscriptions' URLs must stay valid. */
function loadCallbackKey(dataDir: string | undefined): CallbackKey {
  if (dataDir === undefined) return callbackKeyFrom(randomBytes(32));
  const file = join(dataDir, 'callback-key');
  try {
    return callbackKeyFrom(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
  } catch {
    const bytes = randomBytes(32);
    writeFileSync(file, bytes.toString('base64'), { mode: 0o600 });
    return callbackKeyFrom(bytes);
  }
}
