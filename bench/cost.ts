/**
 * The whole AWS bill of one watched mailbox for a month (docs/cost.md): every request, invocation,
 * write and log byte a heartbeat and a notification cause, with the bytes measured by running the
 * receiver's real handler (Powertools metrics and logs included) and the counts taken from the
 * code, times published us-east-1 prices. Nothing here is timed; the numbers are deterministic
 * except for the few bytes ids and timestamps vary by.
 */
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { BridgeEvent } from '../events/bridge-event.ts';
import { parseSubscriptionRecord, SUBSCRIPTION_SK } from '../functions/adapters/subscription-table.ts';
import { systemClock } from '../functions/core/clock.ts';
import { powertoolsMetrics } from '../functions/core/telemetry.ts';
import { callbackKeyFrom, callbackPath } from '../functions/domain/callback.ts';
import { type MailboxKey, mailboxKeyOf } from '../functions/domain/mailbox-key.ts';
import { clientStateFor } from '../functions/graph/client-state.ts';
import { createReceiverHandler } from '../functions/receiver/http.ts';
import type { ACCESS_LOG_FIELDS } from '../infra/receiver.ts';
import { callbackPush } from '../test/support/callback-push.ts';
import { changeItem, GRAPH_TEST_USER_ID, graphRequest, lifecycleItem } from '../test/support/graph-push.ts';
import { created, sendNotification, status } from '../test/support/pushes.ts';

/**
 * us-east-1 list prices, as read on 2026-11-30 (docs/cost.md says where each comes from and how
 * sure it is). Free tiers are left out: they are per account, not per mailbox.
 */
export const PRICES = {
  httpApiPerMillion: 1.0,
  dataTransferOutPerGb: 0.09,
  lambdaRequestsPerMillion: 0.2,
  lambdaArmPerGbSecond: 0.0000133334,
  dynamoWritePerMillion: 0.625,
  dynamoReadPerMillion: 0.125,
  sqsFifoPerMillion: 0.5,
  snsFifoPublishPerMillion: 0.3,
  snsFifoPublishPerGb: 0.017,
  snsFifoDeliveryPerMillion: 0.01,
  snsFifoDeliveryPerGb: 0.001,
  logsIngestionPerGb: 0.5,
  logsStoragePerGbMonth: 0.03,
} as const;

/**
 * What cannot be measured off AWS, stated as assumptions: billed Lambda durations of a warm
 * invocation (an in-region DynamoDB write and SQS send take single-digit milliseconds each), and
 * Exchange's habit of raising about two events per change (the item's and its folder's).
 */
export const ASSUMPTIONS = {
  receiverMemoryGb: 0.25,
  processorMemoryGb: 0.25,
  heartbeatBilledMs: 10,
  notificationBilledMs: 30,
  processorBilledMsPerEvent: 10,
  eventsPerNotification: 2,
  /** Created items per notification, each noted (1 write unit) and later dropped (1 more). */
  createdItemsPerNotification: 0.5,
  /** Sweep reads per mailbox per minute, measured in docs/sweep-cost.md. */
  sweepReadUnitsPerMailbox: 0.06,
  daysPerMonth: 30.4,
  /** Graph: change notifications per POST for one mailbox (Graph batches, but assume none: an upper bound). */
  graphNotificationsPerPost: 1,
  /** Graph: billed ms of a renewer job that PATCHes both subscriptions (two Graph round trips). */
  graphRenewalBilledMs: 600,
  renewerMemoryGb: 0.5,
  /** Graph: lifecycle notifications a month per mailbox (reauthorizationRequired and the like); assumed. */
  graphLifecyclePerMonth: 2,
  /** Graph: delta scopes of a mailbox, its mail folders (Outlook's ten or so) and the calendar view; assumed. */
  graphCheckpointScopes: 11,
  /**
   * Graph: billed ms of a checkpoint job (a folder listing, a delta round per scope, two GETs of
   * subscriptions: about 14 Graph round trips of ~150 ms); assumed.
   */
  graphCheckpointBilledMs: 2_000,
  /** SQS standard (the renewals queue), per million requests. */
  sqsStandardPerMillion: 0.4,
} as const;

export interface MeasuredBytes {
  readonly heartbeatRequest: number;
  readonly heartbeatResponse: number;
  readonly heartbeatMetricsLine: number;
  readonly heartbeatAppLogLines: number;
  readonly notificationRequest: number;
  readonly notificationResponse: number;
  readonly notificationMetricsLine: number;
  readonly notificationAppLogLines: number;
  readonly accessLogLine: number;
  readonly platformLogLines: number;
  /** Mean size of one published CloudEvent (SQS body, SNS payload). */
  readonly event: number;
}

/** Runs the real receiver handler for a heartbeat and for a 2-event notification; measures bytes. */
export async function measureBytes(): Promise<MeasuredBytes> {
  const key = callbackKeyFrom(randomBytes(32));
  const mailboxKey = mailboxKeyOf('ada.lovelace@contoso.com');
  const published: BridgeEvent[] = [];
  const lines: string[] = [];
  // Powertools writes through the global console in dev mode, where the lines can be counted;
  // dev mode pretty-prints log lines, so they are measured re-serialized the way Lambda prints them.
  const saved = { dev: process.env.POWERTOOLS_DEV, disabled: process.env.POWERTOOLS_METRICS_DISABLED };
  process.env.POWERTOOLS_DEV = 'true';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const originalLog = console.log;
  const capture = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  try {
    const subscriptionId = `EQB${randomBytes(42).toString('base64url')}`;
    const watermark = () => `AQAAA${randomBytes(36).toString('base64')}`;
    const stored = watermark();
    // The record as the store reads it before taking events (heartbeats need no read).
    const record = activeRecord(mailboxKey, subscriptionId, stored);
    const handler = createReceiverHandler({
      store: { get: async () => record, advance: async () => true },
      publisher: {
        publish: async (_mailbox, events) => {
          published.push(...events);
        },
      },
      pushedItemList: { record: async () => {} },
      clock: systemClock,
      callbackKey: async () => key,
      logger: new Logger({ serviceName: 'receiver' }),
      metrics: powertoolsMetrics(new Metrics({ namespace: 'ExchangePushBridge', serviceName: 'receiver' })),
    });
    const push = async (body: string) => {
      lines.length = 0;
      console.log = capture;
      const result = await handler(callbackPush(callbackPath(key, mailboxKey, 3), body));
      console.log = originalLog;
      const emf = lines.filter((l) => l.includes('"_aws"'));
      const logs = lines.filter((l) => !l.includes('"_aws"'));
      return {
        request: Buffer.byteLength(body),
        response: Buffer.byteLength(String(result.body ?? '')),
        metrics: emf.reduce((n, l) => n + Buffer.byteLength(l), 0),
        appLogs: logs.reduce((n, l) => n + Buffer.byteLength(JSON.stringify(JSON.parse(l))), 0),
      };
    };
    const heartbeat = await push(
      sendNotification({ subscriptionId, previousWatermark: watermark(), events: [status(watermark())] }),
    );
    const notification = await push(
      sendNotification({
        subscriptionId,
        previousWatermark: stored,
        events: [created(watermark(), `AAMkAD${randomBytes(100).toString('base64')}`), created(watermark())],
      }),
    );
    if (published.length !== 2)
      throw new Error(`the notification published ${published.length} events, not 2`);
    return {
      heartbeatRequest: heartbeat.request,
      heartbeatResponse: heartbeat.response,
      heartbeatMetricsLine: heartbeat.metrics,
      heartbeatAppLogLines: heartbeat.appLogs,
      notificationRequest: notification.request,
      notificationResponse: notification.response,
      notificationMetricsLine: notification.metrics,
      notificationAppLogLines: notification.appLogs,
      accessLogLine: accessLogLineBytes(),
      platformLogLines: platformLogBytes(),
      event: published.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0) / published.length,
    };
  } finally {
    console.log = originalLog;
    restore('POWERTOOLS_DEV', saved.dev);
    restore('POWERTOOLS_METRICS_DISABLED', saved.disabled);
  }
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** One access-log line of the callback API, with typical values in the stack's own format. */
function accessLogLineBytes(): number {
  const typical: Record<keyof typeof ACCESS_LOG_FIELDS, string> = {
    requestId: 'JjB2cgaAIAMEVzA=',
    ip: '203.0.113.7',
    requestTime: '30/Nov/2026:21:40:00 +0000',
    method: 'POST',
    routeKey: 'POST /ews/{mailboxKey}/{generation}/{token}',
    status: '200',
    responseLength: '419',
    integrationLatency: '12',
    responseLatency: '14',
    integrationError: '-',
  };
  return Buffer.byteLength(JSON.stringify(typical));
}

/** The two lines Lambda itself writes per invocation in the JSON log format (start, report). */
function platformLogBytes(): number {
  const requestId = '6d68ca91-49c9-448d-89b8-7ca3e6dc66aa';
  const start = {
    time: '2026-11-30T21:40:00.000Z',
    type: 'platform.start',
    record: { requestId, version: '$LATEST' },
  };
  const report = {
    time: '2026-11-30T21:40:00.012Z',
    type: 'platform.report',
    record: {
      requestId,
      metrics: { durationMs: 9.27, billedDurationMs: 10, memorySizeMB: 256, maxMemoryUsedMB: 92 },
      status: 'success',
    },
  };
  return Buffer.byteLength(JSON.stringify(start)) + Buffer.byteLength(JSON.stringify(report));
}

export interface CostLine {
  readonly item: string;
  readonly perMonth: number;
}

export interface MailboxMonth {
  readonly statusFrequency: number;
  readonly eventsPerDay: number;
  readonly lines: readonly CostLine[];
  readonly total: number;
}

const GB = 1024 ** 3;

/** One mailbox for a month at a StatusFrequency (minutes), with `eventsPerDay` Exchange events. */
export function mailboxMonth(
  bytes: MeasuredBytes,
  statusFrequency: number,
  eventsPerDay: number,
): MailboxMonth {
  const a = ASSUMPTIONS;
  const p = PRICES;
  const minutes = a.daysPerMonth * 24 * 60;
  // Exchange sends a StatusEvent only after StatusFrequency minutes without a push: an upper bound.
  const heartbeats = minutes / statusFrequency;
  const notifications = (eventsPerDay / a.eventsPerNotification) * a.daysPerMonth;
  const events = eventsPerDay * a.daysPerMonth;
  const pushes = heartbeats + notifications;
  const perMillion = (count: number, price: number) => (count / 1e6) * price;
  const logBytes =
    heartbeats *
      (bytes.heartbeatMetricsLine +
        bytes.heartbeatAppLogLines +
        bytes.platformLogLines +
        bytes.accessLogLine) +
    notifications *
      (bytes.notificationMetricsLine +
        bytes.notificationAppLogLines +
        bytes.platformLogLines +
        bytes.accessLogLine) +
    // The processor: its platform lines per batch (one batch per notification); it logs nothing else when all goes well.
    notifications * bytes.platformLogLines;
  const sqsBatches = notifications * Math.ceil(a.eventsPerNotification / 10);
  const lines: CostLine[] = [
    { item: 'HTTP API requests (each push, < 512 KB)', perMonth: perMillion(pushes, p.httpApiPerMillion) },
    {
      item: 'data out to Exchange (the answers)',
      perMonth:
        ((heartbeats * bytes.heartbeatResponse + notifications * bytes.notificationResponse) / GB) *
        p.dataTransferOutPerGb,
    },
    { item: 'receiver invocations', perMonth: perMillion(pushes, p.lambdaRequestsPerMillion) },
    {
      item: 'receiver duration (arm64, 256 MB)',
      perMonth:
        ((heartbeats * a.heartbeatBilledMs + notifications * a.notificationBilledMs) / 1000) *
        a.receiverMemoryGb *
        p.lambdaArmPerGbSecond,
    },
    {
      item: 'DynamoDB writes (1 per push; 2 per created item: noted, then dropped)',
      perMonth: perMillion(
        pushes + notifications * a.createdItemsPerNotification * 2,
        p.dynamoWritePerMillion,
      ),
    },
    {
      item: 'DynamoDB reads (the record, strongly consistent, before taking events)',
      perMonth: perMillion(notifications, p.dynamoReadPerMillion),
    },
    {
      item: 'DynamoDB sweep reads (0.06 units a minute)',
      perMonth: perMillion(minutes * a.sweepReadUnitsPerMailbox, p.dynamoReadPerMillion),
    },
    {
      item: 'SQS FIFO: send to ingest, the processor receiving and deleting',
      perMonth: perMillion(sqsBatches * 3, p.sqsFifoPerMillion),
    },
    {
      item: 'SNS FIFO: publish and delivery to Events',
      perMonth:
        perMillion(events, p.snsFifoPublishPerMillion + p.snsFifoDeliveryPerMillion) +
        ((events * bytes.event) / GB) * (p.snsFifoPublishPerGb + p.snsFifoDeliveryPerGb),
    },
    { item: 'processor invocations', perMonth: perMillion(notifications, p.lambdaRequestsPerMillion) },
    {
      item: 'processor duration (arm64, 256 MB)',
      perMonth:
        ((events * a.processorBilledMsPerEvent) / 1000) * a.processorMemoryGb * p.lambdaArmPerGbSecond,
    },
    {
      item: 'CloudWatch Logs ingestion (metrics, platform, access logs)',
      perMonth: (logBytes / GB) * p.logsIngestionPerGb,
    },
    {
      item: 'CloudWatch Logs storage (30 days kept, uncompressed bound)',
      perMonth: (logBytes / GB) * p.logsStoragePerGbMonth,
    },
  ];
  return {
    statusFrequency,
    eventsPerDay,
    lines,
    total: lines.reduce((sum, line) => sum + line.perMonth, 0),
  };
}

export interface GraphBytes {
  /** One change notification POST (a batch of one), as Graph sends it. */
  readonly notificationRequest: number;
  readonly notificationMetricsLine: number;
  readonly notificationAppLogLines: number;
  /** One lifecycle notification POST: its metrics and the info line it logs. */
  readonly lifecycleMetricsLine: number;
  readonly lifecycleAppLogLines: number;
  /** A validation request's metrics line (Graph validates both URLs at every create and renewal). */
  readonly validationMetricsLine: number;
  readonly event: number;
}

/** Runs the receiver's real Graph route for a change, a lifecycle and a validation request; measures bytes. */
export async function measureGraphBytes(): Promise<GraphBytes> {
  const key = callbackKeyFrom(randomBytes(32));
  const mailboxKey = mailboxKeyOf('ada.lovelace@contoso.com');
  const published: BridgeEvent[] = [];
  const lines: string[] = [];
  const saved = { dev: process.env.POWERTOOLS_DEV, disabled: process.env.POWERTOOLS_METRICS_DISABLED };
  process.env.POWERTOOLS_DEV = 'true';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const originalLog = console.log;
  try {
    const subscriptionId = '7f105c7d-2dc5-4530-97cd-4e7ae6534c07';
    const record = parseSubscriptionRecord({
      pk: mailboxKey,
      sk: SUBSCRIPTION_SK,
      mailbox: 'ada.lovelace@contoso.com',
      connection: 'contoso-graph',
      source: 'graph',
      graph: {
        userId: 'ada.lovelace@contoso.com',
        // Pinned by its first notification: the steady state every later one is read in.
        objectId: GRAPH_TEST_USER_ID,
        messages: { generation: 3, subscriptionId, expiresAt: Date.now() + 86_400_000 },
      },
      folders: 'all',
      eventTypes: ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent'],
      statusFrequency: 0,
      state: 'active',
      generation: 3,
      attempts: 0,
      createdAt: Date.now() - 86_400_000,
      updatedAt: Date.now() - 60_000,
    });
    const handler = createReceiverHandler({
      store: { get: async () => record, advance: async () => true },
      graphWork: { requestGraphWork: async () => {}, pinGraphUser: async () => true },
      publisher: {
        publish: async (_mailbox, events) => {
          published.push(...events);
        },
      },
      pushedItemList: { record: async () => {} },
      clock: systemClock,
      callbackKey: async () => key,
      logger: new Logger({ serviceName: 'receiver' }),
      metrics: powertoolsMetrics(new Metrics({ namespace: 'ExchangePushBridge', serviceName: 'receiver' })),
    });
    const clientState = clientStateFor(key, mailboxKey, 3);
    const run = async (request: Parameters<typeof handler>[0]) => {
      lines.length = 0;
      const capture = (...args: unknown[]) => {
        lines.push(args.map(String).join(' '));
      };
      // Powertools' dev mode writes info lines through console.info, metrics through console.log.
      const originalInfo = console.info;
      console.log = capture;
      console.info = capture;
      await handler(request);
      console.log = originalLog;
      console.info = originalInfo;
      const emf = lines.filter((l) => l.includes('"_aws"'));
      const logs = lines.filter((l) => !l.includes('"_aws"'));
      return {
        request: Buffer.byteLength(request.body ?? ''),
        metrics: emf.reduce((n, l) => n + Buffer.byteLength(l), 0),
        appLogs: logs.reduce((n, l) => n + Buffer.byteLength(JSON.stringify(JSON.parse(l))), 0),
      };
    };
    const itemId = `AAMkAD${randomBytes(100).toString('base64url')}`;
    const change = await run(
      graphRequest({
        body: JSON.stringify({ value: [changeItem({ subscriptionId, clientState, itemId })] }),
      }),
    );
    const lifecycle = await run(
      graphRequest({
        path: '/graph/lifecycle',
        body: JSON.stringify({
          value: [lifecycleItem({ subscriptionId, clientState, lifecycleEvent: 'reauthorizationRequired' })],
        }),
      }),
    );
    const validation = await run(graphRequest({ query: 'validationToken=Validation%3A+Testing' }));
    if (published.length !== 1) throw new Error(`the change published ${published.length} events, not 1`);
    return {
      notificationRequest: change.request,
      notificationMetricsLine: change.metrics,
      notificationAppLogLines: change.appLogs,
      lifecycleMetricsLine: lifecycle.metrics,
      lifecycleAppLogLines: lifecycle.appLogs,
      validationMetricsLine: validation.metrics,
      event: Buffer.byteLength(JSON.stringify(published[0])),
    };
  } finally {
    console.log = originalLog;
    restore('POWERTOOLS_DEV', saved.dev);
    restore('POWERTOOLS_METRICS_DISABLED', saved.disabled);
  }
}

/**
 * One Graph mailbox for a month with `changesPerDay` changes: no heartbeat; a notification per
 * change (Graph has no folder events); its two subscriptions renewed every 3.5 days by one renewer
 * job (each create or PATCH validated by Graph at both URLs); a few lifecycle notifications; the
 * daily checkpoint's two jobs.
 */
export function graphMailboxMonth(
  bytes: MeasuredBytes,
  graph: GraphBytes,
  changesPerDay: number,
): MailboxMonth {
  const a = ASSUMPTIONS;
  const p = PRICES;
  const minutes = a.daysPerMonth * 24 * 60;
  const notifications = changesPerDay * a.daysPerMonth;
  const posts = notifications / a.graphNotificationsPerPost;
  const renewals = a.daysPerMonth / 3.5;
  // Graph validates the notification and lifecycle URLs at each PATCH of each of the two subscriptions.
  const validations = renewals * 2 * 2;
  const lifecycle = a.graphLifecyclePerMonth;
  // The daily checkpoint (renewer/graph-checkpoint.ts): two renewer jobs a day, the take and the
  // promote, each reading and writing every scope's link item about twice, and a few record writes.
  const checkpointJobs = a.daysPerMonth * 2;
  const checkpointUnits = checkpointJobs * (a.graphCheckpointScopes * 2 + 2);
  const requests = posts + validations + lifecycle;
  const perMillion = (count: number, price: number) => (count / 1e6) * price;
  const platform = bytes.platformLogLines;
  const logBytes =
    posts * (graph.notificationMetricsLine + graph.notificationAppLogLines + platform + bytes.accessLogLine) +
    validations * (graph.validationMetricsLine + platform + bytes.accessLogLine) +
    lifecycle * (graph.lifecycleMetricsLine + graph.lifecycleAppLogLines + platform + bytes.accessLogLine) +
    // The processor's two lines per batch; the renewer's two lines and its info line per job (~1 KB).
    notifications * platform +
    (renewals + lifecycle + checkpointJobs) * (platform + 1_024);
  const lines: CostLine[] = [
    {
      item: 'HTTP API requests (notifications, validations, lifecycle)',
      perMonth: perMillion(requests, p.httpApiPerMillion),
    },
    { item: 'receiver invocations', perMonth: perMillion(requests, p.lambdaRequestsPerMillion) },
    {
      item: 'receiver duration (arm64, 256 MB)',
      perMonth:
        (((posts + lifecycle) * a.notificationBilledMs + validations * a.heartbeatBilledMs) / 1000) *
        a.receiverMemoryGb *
        p.lambdaArmPerGbSecond,
    },
    {
      item: 'DynamoDB reads (the record, per notification POST and lifecycle POST; checkpoint links)',
      perMonth: perMillion(posts + lifecycle + checkpointUnits, p.dynamoReadPerMillion),
    },
    {
      item: 'DynamoDB writes (lifecycle work noted; per renewer job: queued mark, 2 subscriptions, settle; checkpoint links)',
      perMonth: perMillion(lifecycle + (renewals + lifecycle) * 4 + checkpointUnits, p.dynamoWritePerMillion),
    },
    {
      item: 'DynamoDB sweep reads (0.06 units a minute)',
      perMonth: perMillion(minutes * a.sweepReadUnitsPerMailbox, p.dynamoReadPerMillion),
    },
    {
      item: 'renewer jobs (invocation, duration at 512 MB, renewals queue send/receive/delete)',
      perMonth:
        perMillion(renewals + lifecycle, p.lambdaRequestsPerMillion) +
        (((renewals + lifecycle) * a.graphRenewalBilledMs) / 1000) *
          a.renewerMemoryGb *
          p.lambdaArmPerGbSecond +
        perMillion((renewals + lifecycle) * 3, a.sqsStandardPerMillion),
    },
    {
      item: 'daily checkpoint (2 renewer jobs: invocation, duration at 512 MB, queue requests)',
      perMonth:
        perMillion(checkpointJobs, p.lambdaRequestsPerMillion) +
        ((checkpointJobs * a.graphCheckpointBilledMs) / 1000) * a.renewerMemoryGb * p.lambdaArmPerGbSecond +
        perMillion(checkpointJobs * 3, a.sqsStandardPerMillion),
    },
    {
      item: 'SQS FIFO: send to ingest, the processor receiving and deleting',
      perMonth: perMillion(posts * 3, p.sqsFifoPerMillion),
    },
    {
      item: 'SNS FIFO: publish and delivery to Events',
      perMonth:
        perMillion(notifications, p.snsFifoPublishPerMillion + p.snsFifoDeliveryPerMillion) +
        ((notifications * graph.event) / GB) * (p.snsFifoPublishPerGb + p.snsFifoDeliveryPerGb),
    },
    {
      item: 'processor invocations and duration',
      perMonth:
        perMillion(posts, p.lambdaRequestsPerMillion) +
        ((notifications * a.processorBilledMsPerEvent) / 1000) * a.processorMemoryGb * p.lambdaArmPerGbSecond,
    },
    { item: 'CloudWatch Logs ingestion', perMonth: (logBytes / GB) * p.logsIngestionPerGb },
    { item: 'CloudWatch Logs storage (30 days kept)', perMonth: (logBytes / GB) * p.logsStoragePerGbMonth },
  ];
  return {
    statusFrequency: 0,
    eventsPerDay: changesPerDay,
    lines,
    total: lines.reduce((n, l) => n + l.perMonth, 0),
  };
}

export interface CostReport {
  readonly bytes: MeasuredBytes;
  readonly months: readonly MailboxMonth[];
  readonly graphBytes: GraphBytes;
  /** Graph mailboxes (statusFrequency 0: no heartbeat), with 0 and 50 changes a day. */
  readonly graphMonths: readonly MailboxMonth[];
}

export async function measureCost(): Promise<CostReport> {
  const bytes = await measureBytes();
  const months = [1, 5, 30].flatMap((sf) => [0, 100].map((events) => mailboxMonth(bytes, sf, events)));
  const graphBytes = await measureGraphBytes();
  // 50 changes a day: the same 100 events a day an EWS mailbox raises (about two per change).
  const graphMonths = [0, 50].map((changes) => graphMailboxMonth(bytes, graphBytes, changes));
  return { bytes, months, graphBytes, graphMonths };
}

export function formatCost(report: CostReport): string[] {
  const dollars = (n: number) => `$${n < 0.01 ? n.toFixed(5) : n.toFixed(4)}`;
  const out = [`measured bytes: ${JSON.stringify(report.bytes)}`];
  for (const month of report.months) {
    out.push(
      `StatusFrequency ${month.statusFrequency}, ${month.eventsPerDay} events/day: ${dollars(month.total)} per mailbox-month`,
    );
    for (const line of month.lines) out.push(`  ${line.item}: ${dollars(line.perMonth)}`);
  }
  out.push(`measured Graph bytes: ${JSON.stringify(report.graphBytes)}`);
  for (const month of report.graphMonths) {
    out.push(`Graph mailbox, ${month.eventsPerDay} changes/day: ${dollars(month.total)} per mailbox-month`);
    for (const line of month.lines) out.push(`  ${line.item}: ${dollars(line.perMonth)}`);
  }
  return out;
}

/** An active subscription record of generation 3, as the store reads it. */
export function activeRecord(mailboxKey: MailboxKey, subscriptionId: string, watermark: string) {
  return parseSubscriptionRecord({
    pk: mailboxKey,
    sk: SUBSCRIPTION_SK,
    mailbox: 'ada.lovelace@contoso.com',
    connection: 'exchange-online',
    folders: 'all',
    eventTypes: ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent', 'MovedEvent'],
    statusFrequency: 5,
    state: 'active',
    generation: 3,
    subscriptionId,
    watermark,
    lastContactAt: Date.now() - 60_000,
    attempts: 0,
    createdAt: Date.now() - 86_400_000,
    updatedAt: Date.now() - 60_000,
  });
}
