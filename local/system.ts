/**
 * The whole bridge on one machine, in one process: DynamoDB and SQS/SNS emulators with the
 * tables, queues and topics the CDK app defines; the EWS simulator standing in for Exchange; the
 * receiver behind a real HTTP port (requests turned into API Gateway events); the processor and
 * renewer fed by pollers the way Lambda's event source mappings feed them; the sweeper on a timer;
 * the admin endpoint the `mailboxes` CLI talks to. The same handler code as in Lambda, the same
 * AWS SDK calls over real HTTP, one scalable clock shared with the simulator.
 *
 * `npm start` runs it with a terminal view; the lifecycle and end-to-end tests run it in-process.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { objectConnections } from '../functions/adapters/connections-source.ts';
import { asRenewalExchange, exchangeClients } from '../functions/adapters/exchange-clients.ts';
import { DynamoPushedItemList } from '../functions/adapters/pushed-item-list.ts';
import { SnsEventTopic } from '../functions/adapters/sns-event-topic.ts';
import { SqsEventPublisher } from '../functions/adapters/sqs-event-publisher.ts';
import { SqsRenewalQueue } from '../functions/adapters/sqs-renewal-queue.ts';
import { DynamoSubscriptionStore, documentClient } from '../functions/adapters/subscription-table.ts';
import { DynamoSyncStateStore } from '../functions/adapters/sync-state-table.ts';
import type { AdminResponse } from '../functions/admin/commands.ts';
import { createAdminHandler } from '../functions/admin/invoke.ts';
import { setupOf } from '../functions/admin/manage.ts';
import { type Clock, createScaledClock } from '../functions/core/clock.ts';
import { type LogSink, MemoryMetrics } from '../functions/core/telemetry.ts';
import { CALLBACK_ROUTE, type CallbackKey, callbackKeyFrom } from '../functions/domain/callback.ts';
import { DEFAULT_POLICY, type LifecyclePolicy } from '../functions/domain/policy.ts';
import type { SubscriptionRecord } from '../functions/domain/subscription.ts';
import { createProcessorHandler } from '../functions/processor/batch.ts';
import { createReceiverHandler } from '../functions/receiver/http.ts';
import { createRenewerHandler } from '../functions/renewer/batch.ts';
import type { RenewOutcome } from '../functions/renewer/job.ts';
import { createSweepHandler } from '../functions/sweeper/run.ts';
import type { SweepSummary } from '../functions/sweeper/sweep.ts';
import { type FaultSettings, NO_FAULTS } from '../simulator/faults.ts';
import { type Simulator, startSimulator } from '../simulator/server.ts';
import { serveAdmin } from './admin-endpoint.ts';
import { matchRoute, readBody, toApiGatewayEvent, writeResult } from './api-gateway-event.ts';
import { type Emulators, startEmulators } from './emulators.ts';
import { startFrontEnd } from './front-end.ts';
import { type LocalResources, onEndpoint, provisionFromTemplate, subscribeOnce } from './provision.ts';
import { buildReport, type RunReport } from './report.ts';
import { SqsPoller } from './sqs-poller.ts';
import { synthesizeTemplate } from './template.ts';

export interface LocalSystemOptions {
  /** A clock to share; otherwise a scaled one. */
  readonly clock?: Clock;
  /** Simulated seconds per real second. @default 60 */
  readonly timeScale?: number;
  /** The receiver's and admin endpoint's port. @default 0 (a free one) */
  readonly port?: number;
  /** Mailboxes the simulator has; each is added (watched) at start unless `addMailboxes` is false. @default 5 */
  readonly mailboxes?: number | readonly string[];
  /** Changes per simulated minute per mailbox. @default 1 */
  readonly changeRate?: number;
  /** All of the simulator's faults on. */
  readonly chaos?: boolean;
  readonly faults?: Partial<FaultSettings>;
  /** @default 1 */
  readonly seed?: number;
  /** StatusFrequency (minutes) of the subscriptions the local run creates. @default 1 */
  readonly statusFrequency?: number;
  /** Keep DynamoDB and SQS state (and the callback key) in this directory across runs. */
  readonly dataDir?: string;
  /** Add (watch) every simulator mailbox at start. @default true */
  readonly addMailboxes?: boolean;
  readonly policy?: Partial<LifecyclePolicy>;
  /** Renewals running at once. @default 3 */
  readonly renewalConcurrency?: number;
  /** Where the functions' log lines go. @default nowhere */
  readonly log?: (entry: LocalLogEntry) => void;
  /** Told how starting goes, while the mailboxes are being set up (it can take a while for many). */
  readonly progress?: (line: string) => void;
  /** Told about every renewal's outcome. */
  readonly onRenewal?: (outcome: RenewOutcome) => void;
}

export interface LocalLogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly service: string;
  readonly message: string;
  readonly extra: Record<string, unknown>;
}

/** One event as a consumer received it, for the local run's own accounting. */
export interface DeliveredEvent {
  readonly id: string;
  readonly type: string;
  readonly mailboxKey: string;
  readonly time: string;
  readonly data: Record<string, unknown>;
  /** When the audit consumer received it, simulated epoch ms. */
  readonly receivedAt: number;
}

export interface LocalSystem {
  readonly clock: Clock;
  /** `http://127.0.0.1:<port>`: the callback base URL (what Exchange pushes to). */
  readonly receiverUrl: string;
  /** Where the `mailboxes` CLI sends commands (`--endpoint`). */
  readonly adminUrl: string;
  readonly simulator: Simulator;
  readonly emulators: Emulators;
  readonly resources: LocalResources;
  /** The Events FIFO queue consumers read (as the stack's Events queue). */
  readonly consumerQueueUrl: string;
  readonly metrics: {
    readonly receiver: MemoryMetrics;
    readonly renewer: MemoryMetrics;
    readonly sweeper: MemoryMetrics;
    readonly processor: MemoryMetrics;
  };
  /** Every event delivered to the local audit queue (a second subscriber of the events topic). */
  readonly delivered: readonly DeliveredEvent[];
  /** How many times each event id was delivered to the audit queue. */
  readonly deliveries: ReadonlyMap<string, number>;
  /** Runs one admin command, exactly as the CLI would. */
  admin(command: Record<string, unknown>): Promise<AdminResponse>;
  /** Runs a sweep now (besides the timer). */
  sweep(): Promise<SweepSummary>;
  /** Every subscription record. */
  records(): Promise<SubscriptionRecord[]>;
  /** Messages waiting in each queue, by queue name. */
  queueDepths(): Promise<Record<string, number>>;
  /**
   * Lets the run come to rest before it is judged: stops the simulator's automatic changes and
   * faults, then waits until every mailbox has one working subscription, nothing is queued, and
   * every change has reached consumers (or `timeoutMs` of real time passes). Says which.
   */
  settle(timeoutMs?: number): Promise<{ settled: boolean; waitedMs: number }>;
  /** The run judged against the simulator's ground truth (see local/report.ts). */
  report(): RunReport;
  stop(): Promise<void>;
}

export async function startLocalSystem(options: LocalSystemOptions = {}): Promise<LocalSystem> {
  const clock = options.clock ?? createScaledClock({ timeScale: options.timeScale ?? 60 });
  const stoppers: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const stopper of stoppers.splice(0).reverse()) {
      try {
        await stopper();
      } catch {
        // Keep stopping the rest: a half-stopped system leaves ports and timers behind.
      }
    }
  };
  try {
    return await start(options, clock, stoppers, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

async function start(
  options: LocalSystemOptions,
  clock: Clock,
  stoppers: Array<() => Promise<void> | void>,
  stop: () => Promise<void>,
): Promise<LocalSystem> {
  const logTo = options.log;
  const logger = (service: string): LogSink => {
    const emit =
      (level: LocalLogEntry['level']) =>
      (message: string, ...extra: Record<string, unknown>[]) =>
        logTo?.({ level, service, message, extra: Object.assign({}, ...extra) });
    return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
  };
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });

  // 1. The HTTP port first: its URL is the callback base URL the template's functions refer to.
  const front = await startFrontEnd(options.port === undefined ? {} : { port: options.port });
  stoppers.push(() => front.stop());
  const receiverUrl = front.url;

  // 2. AWS, emulated, with what the CDK app defines.
  const emulators = await startEmulators(options.dataDir ? { dataDir: options.dataDir } : {});
  stoppers.push(() => emulators.stop());
  const resources = await provisionFromTemplate(synthesizeTemplate(), emulators, {
    prefix: 'local',
    apiEndpoint: receiverUrl,
  });
  const env = (name: string) => resources.environmentOf(resources.functionId(`exchange-push-bridge ${name}`));
  const receiverEnv = env('receiver');
  const renewerEnv = env('renewer');
  const processorEnv = env('processor');
  const required = (values: Record<string, string>, key: string) => {
    const value = values[key];
    if (value === undefined)
      throw new Error(`the template sets no ${key}; local/system.ts and the CDK app disagree`);
    return value;
  };
  const queueByPath = (pathEnd: string) => {
    const queue = resources.queues.get(resources.resourceId('AWS::SQS::Queue', pathEnd));
    if (queue === undefined) throw new Error(`no queue ${pathEnd} in the template`);
    return queue;
  };
  const ingest = queueByPath('QueuesIngest');
  const renewals = queueByPath('LifecycleRenewals');
  const events = queueByPath('FanoutEvents');

  // The local run's own consumer, so it can count what consumers get without taking it from them.
  const topicArn = required(processorEnv, 'EVENTS_TOPIC_ARN');
  const { QueueUrl: createdAuditUrl } = await emulators.sqs.send(
    new CreateQueueCommand({
      QueueName: 'local-audit.fifo',
      Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
    }),
  );
  if (createdAuditUrl === undefined) throw new Error('the audit queue could not be created');
  const auditUrl = onEndpoint(createdAuditUrl, emulators.sqsEndpoint);
  const { Attributes: auditAttributes } = await emulators.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: auditUrl, AttributeNames: ['QueueArn'] }),
  );
  const auditArn = auditAttributes?.QueueArn ?? '';
  await subscribeOnce(emulators.sns, topicArn, auditArn, { RawMessageDelivery: 'true' });

  // Stopped again here (it stops once), so in the reverse order of stopping it comes after the
  // simulator, which pushes to it, and before the emulators the requests under way still use.
  stoppers.push(() => front.stop());

  // 3. Exchange, simulated, on the same clock.
  const simulator = await startSimulator({
    clock,
    auth: 'oauth',
    mailboxes: options.mailboxes ?? 5,
    changeRate: options.changeRate ?? 1,
    chaos: options.chaos ?? false,
    ...(options.faults ? { faults: options.faults } : {}),
    seed: options.seed ?? 1,
  });
  stoppers.push(() => simulator.stop());
  const [client] = simulator.credentials.oauth;
  if (client === undefined) throw new Error('the simulator offers no OAuth client');
  const connections = objectConnections(
    {
      local: {
        ewsUrl: simulator.ewsUrl,
        auth: {
          kind: 'oauth2',
          tenantId: 'contoso.test',
          clientId: client.clientId,
          clientSecret: client.clientSecret,
          tokenUrl: simulator.tokenUrl,
        },
        // Timeouts run on the shared clock: ten real seconds whatever the time scale.
        timeoutMs: Math.min(600_000, Math.max(100, Math.round(10_000 * clock.timeScale))),
      },
    },
    'the local run',
  );
  const clients = exchangeClients(connections, { clock });

  // 4. The functions, wired as their handler.ts files wire them in Lambda.
  const doc = documentClient(emulators.dynamodb);
  const store = new DynamoSubscriptionStore(doc, required(receiverEnv, 'TABLE_NAME'));
  const syncStates = new DynamoSyncStateStore(doc, required(renewerEnv, 'SYNC_STATE_TABLE_NAME'));
  const pushedItemList = new DynamoPushedItemList(doc, required(receiverEnv, 'SYNC_STATE_TABLE_NAME'));
  const publisher = new SqsEventPublisher(emulators.sqs, required(receiverEnv, 'INGEST_QUEUE_URL'));
  const key = loadCallbackKey(options.dataDir);
  const callbackKey = async () => key;
  const policy: LifecyclePolicy = { ...DEFAULT_POLICY, ...options.policy };
  const metrics = {
    receiver: new MemoryMetrics(),
    renewer: new MemoryMetrics(),
    sweeper: new MemoryMetrics(),
    processor: new MemoryMetrics(),
  };
  const receiver = createReceiverHandler({
    store,
    pushedItemList,
    publisher,
    clock,
    callbackKey,
    logger: logger('receiver'),
    metrics: metrics.receiver,
  });
  const processor = createProcessorHandler({
    topic: new SnsEventTopic(emulators.sns, topicArn),
    logger: logger('processor'),
  });
  const renewalQueue = new SqsRenewalQueue(emulators.sqs, renewals.url, clock);
  const renewer = createRenewerHandler({
    store,
    syncStates,
    pushedItemList,
    exchange: async (connection) => {
      const c = await clients.client(connection);
      return c === undefined ? undefined : asRenewalExchange(c);
    },
    queue: renewalQueue,
    publisher,
    callbackBaseUrl: receiverUrl,
    callbackKey,
    clock,
    policy,
    random: Math.random,
    logger: logger('renewer'),
    metrics: metrics.renewer,
    ...(options.onRenewal ? { onOutcome: options.onRenewal } : {}),
  });
  const sweeper = createSweepHandler({
    records: store,
    queue: renewalQueue,
    clock,
    policy,
    logger: logger('sweeper'),
    metrics: metrics.sweeper,
  });
  const admin = createAdminHandler({
    records: store,
    syncStates,
    publisher,
    connectionNames: () => clients.names(),
    callbackBaseUrl: receiverUrl,
    callbackKey,
    clock,
    logger: logger('admin'),
  });

  front.route(async (request, response) => {
    const url = new URL(request.url ?? '/', receiverUrl);
    if (url.pathname === '/admin') return serveAdmin(admin, request, response);
    const params = matchRoute(CALLBACK_ROUTE, url.pathname);
    if (params === undefined) {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(
          'not found: Exchange pushes to /ews/{mailboxKey}/{generation}/{token}; the admin endpoint is /admin',
        );
      return;
    }
    const body = await readBody(request);
    if (body === undefined) {
      response.writeHead(413, { 'content-type': 'text/plain' }).end('payload too large');
      return;
    }
    const event = toApiGatewayEvent({
      request,
      body,
      routeKey: `POST ${CALLBACK_ROUTE}`,
      pathParameters: params,
    });
    writeResult(response, await receiver(event));
  });

  // 5. Event source mappings and the schedule, as Lambda would run them.
  const delivered: DeliveredEvent[] = [];
  const deliveries = new Map<string, number>();
  const poll = (
    name: string,
    queue: { url: string; arn: string },
    handler: ConstructorParameters<typeof SqsPoller>[1],
    batchSize: number,
    retryAfterSeconds: number,
  ) => {
    const poller = new SqsPoller(emulators.sqs, handler, {
      queueUrl: queue.url,
      queueArn: queue.arn,
      batchSize,
      waitSeconds: 1,
      retryAfterSeconds,
      onBatch: ({ error }) => {
        if (error !== undefined)
          logTo?.({
            level: 'error',
            service: name,
            message: 'batch failed',
            extra: { error: String(error) },
          });
      },
    });
    poller.start();
    stoppers.push(() => poller.stop());
  };
  poll('processor', ingest, processor, 10, 2);
  for (let i = 0; i < Math.max(1, options.renewalConcurrency ?? 3); i++)
    poll('renewer', renewals, renewer, 5, 5);
  poll(
    'audit',
    { url: auditUrl, arn: auditArn },
    async (event) => {
      for (const record of event.Records) recordDelivery(record.body, clock.now(), delivered, deliveries);
      return { batchItemFailures: [] };
    },
    10,
    1,
  );

  let sweeping: Promise<void> | undefined;
  let cancelSweep: () => void = () => {};
  const scheduleSweep = () => {
    cancelSweep = clock.setTimer(60_000, () => {
      scheduleSweep();
      if (sweeping) return; // one sweep at a time, as the function's reserved concurrency of 1
      sweeping = sweeper()
        .then(
          () => {},
          (error: unknown) =>
            logTo?.({
              level: 'error',
              service: 'sweeper',
              message: 'sweep failed',
              extra: { error: String(error) },
            }),
        )
        .finally(() => {
          sweeping = undefined;
        });
    });
  };
  scheduleSweep();
  stoppers.push(async () => {
    cancelSweep();
    await sweeping;
  });

  const system: LocalSystem = {
    clock,
    receiverUrl,
    adminUrl: `${receiverUrl}/admin`,
    simulator,
    emulators,
    resources,
    consumerQueueUrl: events.url,
    metrics,
    delivered,
    deliveries,
    admin: (command) => admin(command),
    sweep: () => sweeper(),
    async records() {
      const all: SubscriptionRecord[] = [];
      for await (const record of store.scan()) all.push(record);
      return all.sort((a, b) => a.mailbox.localeCompare(b.mailbox));
    },
    async queueDepths() {
      const depths: Record<string, number> = {};
      for (const [id, queue] of resources.queues) {
        const { Attributes } = await emulators.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queue.url,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        depths[id.replace(/^Bridge/, '').replace(/[0-9A-F]{8}$/, '')] = Number(
          Attributes?.ApproximateNumberOfMessages ?? 0,
        );
      }
      return depths;
    },
    async settle(timeoutMs = 60_000) {
      const started = Date.now();
      simulator.setChangeRate(0);
      simulator.setFaults(NO_FAULTS);
      const restful = async () => {
        const records = await system.records();
        const watched = records.filter((r) => r.state !== 'removed');
        const healthy = watched.every(
          (r) =>
            r.state === 'active' &&
            r.recovery === undefined &&
            r.syncWork === undefined &&
            simulator.subscriptions({ mailbox: r.mailbox }).filter((sub) => sub.state === 'active').length ===
              1,
        );
        if (!healthy) return false;
        const { Attributes } = await emulators.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: ingest.url,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        if (
          Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
            Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) >
          0
        )
          return false;
        const report = system.report();
        return report.missingChanges === report.unobservableChanges;
      };
      while (Date.now() - started < timeoutMs) {
        if (await restful()) return { settled: true, waitedMs: Date.now() - started };
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return { settled: false, waitedMs: Date.now() - started };
    },
    report: () =>
      buildReport({
        changes: simulator.changes(),
        delivered,
        deliveries,
        subscriptions: simulator.subscriptions(),
        mailboxes: watchedMailboxes,
      }),
    stop,
  };
  const watchedMailboxes: string[] = [];

  // 6. The mailboxes, added through the same admin code the CLI uses, and like the CLI waiting
  // until each is watched: the lifecycle takes its baseline, then subscribes.
  if (options.addMailboxes ?? true) {
    for (const mailbox of simulator.mailboxes()) {
      const response = await system.admin({
        command: 'add',
        mailbox: mailbox.address,
        connection: 'local',
        // What `add` defaults to: every folder, the custom one included (FindFolder lists them).
        folders: 'all',
        statusFrequency: options.statusFrequency ?? 1,
      });
      if (response.ok) {
        watchedMailboxes.push(mailbox.address);
      } else if (response.error.name === 'MailboxAlreadyWatchedError') {
        // Kept in --data-dir from an earlier run: its subscription died with that run's
        // simulator, and the lifecycle renews it as stale.
        watchedMailboxes.push(mailbox.address);
        logTo?.({
          level: 'info',
          service: 'admin',
          message: `${mailbox.address} is watched since an earlier run (kept in --data-dir); the lifecycle renews its subscription`,
          extra: {},
        });
      } else {
        logTo?.({
          level: 'error',
          service: 'admin',
          message: `could not add ${mailbox.address}`,
          extra: { error: response.error.message },
        });
      }
    }
    // The schedule's next sweep would hand them to the renewer within a simulated minute; one
    // now saves starting that long.
    await system.sweep();
    await untilSetUp(watchedMailboxes, () => system.records(), logTo, options.progress);
  }
  return system;
}

/**
 * Waits until every mailbox is watched, or its first attempt failed (the lifecycle retries it on
 * its own; said once, as a warning). Says how far it has come when that changes.
 */
async function untilSetUp(
  mailboxes: readonly string[],
  records: () => Promise<SubscriptionRecord[]>,
  log: LocalSystemOptions['log'],
  progress: LocalSystemOptions['progress'],
): Promise<void> {
  const failed = new Set<string>();
  let said = '';
  let saidAt = 0;
  for (;;) {
    let watched = 0;
    let waiting = 0;
    for (const record of await records()) {
      if (!mailboxes.includes(record.mailbox)) continue;
      const setup = setupOf(record);
      if (setup.kind === 'watched') watched++;
      else if (setup.kind === 'failed' && !failed.has(record.mailbox)) {
        failed.add(record.mailbox);
        log?.({ level: 'warn', service: 'admin', message: setup.message, extra: {} });
      } else if (setup.kind === 'settingUp' && !failed.has(record.mailbox)) waiting++;
    }
    if (waiting === 0) return;
    const line = `${watched} of ${mailboxes.length} mailboxes watched (each: baseline, then Subscribe)${failed.size > 0 ? `, ${failed.size} being retried` : ''}`;
    // At most once a second: a thousand mailboxes would otherwise print a thousand lines.
    if (line !== said && Date.now() - saidAt >= 1000) {
      progress?.(line);
      said = line;
      saidAt = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function recordDelivery(
  body: string,
  now: number,
  delivered: DeliveredEvent[],
  deliveries: Map<string, number>,
): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return;
  }
  if (typeof parsed !== 'object' || parsed === null) return;
  const field = (name: string): unknown => Reflect.get(parsed, name);
  const id = field('id');
  const type = field('type');
  const time = field('time');
  const data = field('data');
  if (
    typeof id !== 'string' ||
    typeof type !== 'string' ||
    typeof time !== 'string' ||
    typeof data !== 'object' ||
    data === null
  )
    return;
  const mailboxKey = Reflect.get(data, 'mailboxKey');
  deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
  delivered.push({
    id,
    type,
    time,
    mailboxKey: typeof mailboxKey === 'string' ? mailboxKey : '',
    data: { ...data },
    receivedAt: now,
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
