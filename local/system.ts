/**
 * The whole bridge on one machine: DynamoDB and SQS/SNS emulators (in a child process) with the
 * tables, queues and topics the CDK app defines; the EWS simulator standing in for Exchange; the
 * receiver behind a real HTTP port (requests turned into API Gateway events); the processor and
 * renewer fed by pollers the way Lambda's event source mappings feed them; the sweeper on a timer;
 * the admin endpoint the `mailboxes` CLI talks to. The same handler code as in Lambda, the same
 * AWS SDK calls over real HTTP, one scalable clock shared with the simulator.
 *
 * `npm start` runs it with a terminal view; the lifecycle and end-to-end tests run it in-process.
 */

import { mkdirSync } from 'node:fs';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DynamoSubscriptionStore, documentClient } from '../functions/adapters/subscription-table.ts';
import type { AdminResponse } from '../functions/admin/commands.ts';
import { type Clock, createScaledClock } from '../functions/core/clock.ts';
import type { MemoryMetrics } from '../functions/core/telemetry.ts';
import { DEFAULT_POLICY } from '../functions/domain/policy.ts';
import type { SubscriptionRecord } from '../functions/domain/subscription.ts';
import type { SweepSummary } from '../functions/sweeper/sweep.ts';
import { NO_CHAOS } from '../graph-simulator/options.ts';
import type { GraphSimulator } from '../graph-simulator/server.ts';
import { NO_FAULTS } from '../simulator/faults.ts';
import type { Simulator } from '../simulator/server.ts';
import { createAuditQueue, type DeliveredEvent, Deliveries } from './audit.ts';
import { drainGoesOn } from './drain.ts';
import { type EmulatedAws, required, startEmulatedAws } from './emulated-aws.ts';
import type { Emulators } from './emulators.ts';
import { startFrontEnd } from './front-end.ts';
import { type LocalFunctions, wireFunctions } from './functions.ts';
import { KeepUpMonitor, type KeepUpReading } from './keep-up.ts';
import { addMailboxes } from './mailbox-setup.ts';
import { CHAOS_AWS_FAULT_RATE, type LocalSystemOptions, type MailboxSource } from './options.ts';
import { scheduleSweeps, startPollers } from './pollers.ts';
import type { LocalResources } from './provision.ts';
import { buildReport, type RunReport, type RunState } from './report.ts';
import { routeFrontEnd } from './routes.ts';
import { Shutdown } from './shutdown.ts';
import { LOCAL_CONNECTIONS, startSimulatedExchange } from './simulated-exchange.ts';

export interface LocalSystem {
  readonly clock: Clock;
  /** `http://127.0.0.1:<port>`: the callback base URL (what Exchange pushes to). */
  readonly receiverUrl: string;
  /** Where the `mailboxes` CLI sends commands (`--endpoint`). */
  readonly adminUrl: string;
  readonly simulator: Simulator;
  /** The Graph stand-in, when any mailbox is on Graph (`source` graph or mixed). */
  readonly graph: GraphSimulator | undefined;
  /** Which source each watched mailbox is on. */
  readonly sources: ReadonlyMap<string, MailboxSource>;
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
  /**
   * Adds (watches) every simulator mailbox, as `startLocalSystem` does unless told
   * `addMailboxes: false`, and waits until each is watched; `signal` ends the wait early (Ctrl-C
   * during setup: the run then drains and reports on the mailboxes added so far).
   */
  addMailboxes(options?: { readonly signal?: AbortSignal }): Promise<void>;
  /** Runs a sweep now (besides the timer). */
  sweep(): Promise<SweepSummary>;
  /** Every subscription record. */
  records(): Promise<SubscriptionRecord[]>;
  /** Messages waiting in each queue, by queue name. */
  queueDepths(): Promise<Record<string, number>>;
  /** The last reading of whether the run keeps up (local/keep-up.ts), taken every real second. */
  keepUp(): KeepUpReading | undefined;
  /** Reads where the run stands (queues in flight, mailboxes at work); `report()` judges by the last reading. */
  observe(): Promise<RunState>;
  /**
   * The drain's bound, real ms: long enough in simulated time for a loss made just before the stop
   * to be noticed (the staleness threshold, 2 x StatusFrequency + slack), swept and healed
   * (retries up to the policy's longest delay), at least 30 s and at most `capMs` of real time.
   */
  drainBoundMs(capMs?: number): number;
  /**
   * Lets the run come to rest before it is judged: stops the simulator's automatic changes and
   * faults, then drains until the report says `settled` (nothing in flight, every mailbox at rest)
   * or the bound passes (a number: exactly that many real ms; otherwise `drainBoundMs`, extended
   * while the queues still shrink or the Graph stand-in still owes notifications, never past its
   * cap). Tells `onProgress` about every reading.
   */
  settle(bound?: number | SettleOptions): Promise<{ settled: boolean; waitedMs: number; boundMs: number }>;
  /** The run judged against the simulator's ground truth and the last reading (see local/report.ts). */
  report(): RunReport;
  stop(): Promise<void>;
}

export interface SettleOptions {
  /** The most real time the drain may take, however the queues shrink. @default 10 min */
  readonly capMs?: number;
  readonly onProgress?: (progress: SettleProgress) => void;
}

export interface SettleProgress {
  readonly waitedMs: number;
  readonly boundMs: number;
  readonly state: RunState;
  readonly awaitingChanges: number;
}

export async function startLocalSystem(options: LocalSystemOptions = {}): Promise<LocalSystem> {
  const clock = options.clock ?? createScaledClock({ timeScale: options.timeScale ?? 60 });
  const shutdown = new Shutdown();
  try {
    return await start(options, clock, shutdown);
  } catch (error) {
    await shutdown.stop();
    throw error;
  }
}

/** The steps of starting, in order; each registers how to stop what it started. */
async function start(options: LocalSystemOptions, clock: Clock, shutdown: Shutdown): Promise<LocalSystem> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });

  // 1. The HTTP port first: its URL is the callback base URL the template's functions refer to.
  const front = await startFrontEnd(options.port === undefined ? {} : { port: options.port });
  shutdown.add(() => front.stop());
  const receiverUrl = front.url;

  // 2. AWS, emulated, with what the CDK app defines, and the run's own consumer of the topic.
  const aws = await startEmulatedAws(
    {
      dataDir: options.dataDir,
      apiEndpoint: receiverUrl,
      awsFaultRate: options.awsFaultRate ?? (options.chaos ? CHAOS_AWS_FAULT_RATE : 0),
      seed: options.seed,
    },
    shutdown,
  );
  const audit = await createAuditQueue(aws.emulators, required(aws.env.processor, 'EVENTS_TOPIC_ARN'));

  // Stopped again here (it stops once), so in the reverse order of stopping it comes after the
  // simulator, which pushes to it, and before the emulators the requests under way still use.
  shutdown.add(() => front.stop());

  // 3. Exchange, simulated, on the same clock: the EWS simulator, and the Graph stand-in for the
  // mailboxes on Graph.
  const exchange = await startSimulatedExchange(options, clock, shutdown);
  const { simulator, clients } = exchange;
  const sources = new Map(exchange.mailboxes.map((m) => [m.address, m.source]));

  // 4. The functions, each by the wiring its handler.ts uses in Lambda, behind the front end.
  // Their AWS clients are the faulty ones (when AWS faults are on); the pollers' are not.
  const functions = wireFunctions({
    aws: { ...aws, emulators: aws.functionEmulators },
    clients,
    graphClients: exchange.graphClients,
    clock,
    options,
  });
  routeFrontEnd(front, functions);

  // 5. Event source mappings and the schedule, as Lambda would run them.
  const deliveries = new Deliveries();
  const pollers = startPollers({
    emulators: aws.emulators,
    options,
    shutdown,
    processor: { queue: aws.queues.ingest, handler: functions.processor },
    renewer: { queue: aws.queues.renewals, handler: functions.renewer },
    audit: { queue: audit, handler: deliveries.handler(() => clock.now()) },
  });
  scheduleSweeps(functions.sweeper, clock, options.log, shutdown);

  // 6. Whether it keeps up: push answer times and the ingest backlog, every real second.
  const keepUp = watchKeepUp(simulator, aws, clock, options, shutdown);

  const watchedMailboxes: string[] = [];
  const system = localSystem({
    keepUp,
    clock,
    receiverUrl,
    simulator,
    graph: exchange.graph,
    sources,
    aws,
    functions,
    deliveries,
    watchedMailboxes,
    auditQueueUrl: audit.url,
    statusFrequency: options.statusFrequency ?? 1,
    staleSlackMs: options.policy?.staleSlackMs ?? DEFAULT_POLICY.staleSlackMs,
    healAllowanceMs: options.policy?.retryMaxMs ?? DEFAULT_POLICY.retryMaxMs,
    stop: () => shutdown.stop(),
    addMailboxes: async (signal) => {
      // Every mailbox's baseline and first Subscribe are due at once: more renewals run while
      // they are, then back to the steady number. (The stack's renewalConcurrency, 5 by default,
      // is the knob in AWS; this only shortens the local run's start.)
      const stopExtra = pollers.addRenewers(options.setupRenewalConcurrency ?? SETUP_RENEWAL_CONCURRENCY);
      try {
        await addMailboxes({
          mailboxes: exchange.mailboxes.map((mailbox) => mailbox.address),
          connectionOf: (mailbox) => LOCAL_CONNECTIONS[sources.get(mailbox) ?? 'ews'],
          watched: watchedMailboxes,
          admin: (command) => system.admin(command),
          sweep: system.sweep,
          records: () => system.records(),
          options,
          ...(signal ? { signal } : {}),
        });
      } finally {
        await stopExtra();
      }
    },
  });

  // 7. The mailboxes, added through the same admin code the CLI uses, and like the CLI waiting
  // until each is watched: the lifecycle takes its baseline, then subscribes.
  if (options.addMailboxes ?? true) await system.addMailboxes();
  return system;
}

/** The running system as its users see it: its parts, and what can be asked of it. */
function localSystem(parts: {
  readonly keepUp: { readonly monitor: KeepUpMonitor; last(): KeepUpReading | undefined };
  readonly clock: Clock;
  readonly receiverUrl: string;
  readonly simulator: Simulator;
  readonly graph: GraphSimulator | undefined;
  readonly sources: ReadonlyMap<string, MailboxSource>;
  readonly aws: EmulatedAws;
  readonly functions: LocalFunctions;
  readonly deliveries: Deliveries;
  readonly watchedMailboxes: readonly string[];
  readonly auditQueueUrl: string;
  readonly statusFrequency: number;
  readonly staleSlackMs: number;
  readonly healAllowanceMs: number;
  readonly stop: () => Promise<void>;
  readonly addMailboxes: (signal: AbortSignal | undefined) => Promise<void>;
}): LocalSystem {
  const { clock, receiverUrl, simulator, graph, sources, functions, watchedMailboxes, stop } = parts;
  const { emulators, resources } = parts.aws;
  const { admin, sweeper, metrics } = functions;
  // The run reads the table through its own client: AWS faults are for the functions.
  const store = new DynamoSubscriptionStore(
    documentClient(emulators.dynamodb),
    required(parts.aws.env.receiver, 'TABLE_NAME'),
  );
  const ingest = parts.aws.queues.ingest;
  const events = parts.aws.queues.events;
  const { delivered, counts: deliveries } = parts.deliveries;
  let lastState: RunState | undefined;
  const system: LocalSystem = {
    clock,
    receiverUrl,
    adminUrl: `${receiverUrl}/admin`,
    simulator,
    graph,
    sources,
    emulators,
    resources,
    consumerQueueUrl: events.url,
    metrics,
    delivered,
    deliveries,
    keepUp: () => parts.keepUp.last(),
    admin: (command) => admin(command),
    addMailboxes: (options = {}) => parts.addMailboxes(options.signal),
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
        depths[queueName(id)] = Number(Attributes?.ApproximateNumberOfMessages ?? 0);
      }
      return depths;
    },
    async observe() {
      const count = async (url: string) => {
        const { Attributes } = await emulators.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
              'ApproximateNumberOfMessagesDelayed',
            ],
          }),
        );
        return (
          Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
          Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) +
          Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0)
        );
      };
      const deadLetters: Record<string, number> = {};
      for (const [id, queue] of resources.queues)
        if (/DeadLetters/.test(id)) deadLetters[queueName(id)] = await count(queue.url);
      const inFlight = {
        ingest: await count(ingest.url),
        renewals: await count(parts.aws.queues.renewals.url),
        audit: await count(parts.auditQueueUrl),
        // Notifications the Graph stand-in holds (due, retrying, held back) or is posting now.
        ...(graph === undefined ? {} : { graph: graphInTransit(graph) }),
      };
      const busyMailboxes = new Set(
        (await system.records())
          .filter(
            (r) =>
              r.state !== 'removed' &&
              (r.state !== 'active' ||
                r.recovery !== undefined ||
                r.syncWork !== undefined ||
                // Graph lifecycle work noted by the receiver, or subscriptions to delete.
                Object.values(r.graphWork ?? {}).some((work) => work.length > 0) ||
                (r.graphObsolete ?? []).length > 0),
          )
          .map((r) => r.mailbox),
      );
      lastState = { inFlight, deadLetters, busyMailboxes };
      return lastState;
    },
    drainBoundMs(capMs = 10 * 60_000) {
      const simulatedMs =
        2 * parts.statusFrequency * 60_000 + parts.staleSlackMs + 60_000 + parts.healAllowanceMs;
      return Math.min(capMs, Math.max(30_000, simulatedMs / clock.timeScale));
    },
    async settle(bound: number | SettleOptions = {}) {
      const started = Date.now();
      simulator.setChangeRate(0);
      simulator.setFaults(NO_FAULTS);
      graph?.setChangeRate(0);
      graph?.setChaos(NO_CHAOS);
      parts.aws.awsFaults.setRate(0);
      const fixed = typeof bound === 'number';
      const capMs = fixed ? bound : (bound.capMs ?? 10 * 60_000);
      let boundMs = fixed ? bound : system.drainBoundMs(capMs);
      const onProgress = fixed ? undefined : bound.onProgress;
      // In flight over the last 10 s: while it falls, the drain is making progress and may go on.
      const trail: Array<{ at: number; queued: number }> = [];
      for (;;) {
        const state = await system.observe();
        const report = system.report();
        const waitedMs = Date.now() - started;
        onProgress?.({ waitedMs, boundMs, state, awaitingChanges: report.awaitingChanges });
        if (report.settled) return { settled: true, waitedMs, boundMs };
        const queued = Object.values(state.inFlight).reduce((sum, n) => sum + n, 0);
        trail.push({ at: Date.now(), queued });
        while (trail.length > 1 && (trail[0]?.at ?? 0) < Date.now() - 10_000) trail.shift();
        if (waitedMs >= boundMs) {
          const goesOn = drainGoesOn({
            waitedMs,
            capMs,
            fixed,
            queued,
            queuedBefore: trail[0]?.queued ?? 0,
            graphOwed: state.inFlight.graph ?? 0,
          });
          if (!goesOn) return { settled: false, waitedMs, boundMs };
          boundMs = Math.min(capMs, waitedMs + 10_000);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    report: () =>
      buildReport({
        changes: simulator.changes(),
        delivered,
        deliveries,
        subscriptions: simulator.subscriptions(),
        mailboxes: watchedMailboxes.filter((m) => sources.get(m) !== 'graph'),
        ...(graph === undefined
          ? {}
          : {
              graph: {
                changes: graph.changes(),
                subscriptions: graph.subscriptions(),
                losses: graph.losses(),
                deliveries: graph.deliveries(),
                mailboxes: watchedMailboxes.filter((m) => sources.get(m) === 'graph'),
              },
            }),
        state: lastState,
        awsFaults: parts.aws.awsFaults.counts(),
        keepUp: parts.keepUp.monitor.summary(),
        massLosses: simulator.massLosses(),
      }),
    stop,
  };
  return system;
}

/** Renewals run at once, besides the steady ones, while the mailboxes are being set up. */
const SETUP_RENEWAL_CONCURRENCY = 12;

/** Notifications the Graph stand-in still owes: queued for a URL (due, retrying, held back) or being posted. */
function graphInTransit(graph: GraphSimulator): number {
  return graph.endpoints().reduce((sum, e) => sum + e.queued, 0) + graph.pendingRequests();
}

/** A queue's logical id without the stack's prefix and hash: `QueuesIngest`, `FanoutEventsDeadLetters`. */
function queueName(id: string): string {
  return id.replace(/^Bridge/, '').replace(/[0-9A-F]{8}$/, '');
}

/** Reads whether the run keeps up every real second; the warnings go to the log as they start. */
function watchKeepUp(
  simulator: Simulator,
  aws: EmulatedAws,
  clock: Clock,
  options: LocalSystemOptions,
  shutdown: Shutdown,
): { readonly monitor: KeepUpMonitor; last(): KeepUpReading | undefined } {
  const monitor = new KeepUpMonitor(clock.timeScale);
  let seen = 0;
  let last: KeepUpReading | undefined;
  let reading = false;
  const timer = setInterval(() => {
    if (reading) return;
    reading = true;
    void (async () => {
      const attempts = simulator.deliveries({ after: seen });
      seen += attempts.length;
      const { Attributes } = await aws.emulators.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: aws.queues.ingest.url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const backlog =
        Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
      const wasBehind = last?.warning !== undefined;
      last = monitor.read(Date.now(), attempts, backlog);
      if (last.warning !== undefined && !wasBehind)
        options.log?.({ level: 'warn', service: 'local run', message: last.warning, extra: {} });
    })()
      .catch(() => {})
      .finally(() => {
        reading = false;
      });
  }, 1000);
  timer.unref();
  shutdown.add(() => clearInterval(timer));
  return { monitor, last: () => last };
}
