/**
 * What finding stale subscriptions costs in DynamoDB request units, measured on dynalite and
 * checked against AWS's documented rules (bench/dynamo-units.ts):
 *
 * - A: a parallel Scan (4 segments, eventually consistent, 1 MB pages) of the subscription table
 *   exactly as infra/subscription-table.ts defines it, with records written as
 *   DynamoSubscriptionStore.create writes them; the heartbeat is the store's own `advance`.
 * - B: the same table plus a KEYS_ONLY GSI (partition `sweepShard`, sort `staleAt`): the heartbeat
 *   also sets `staleAt = silenceWindow + :now` (no read needed), and the sweep Queries each shard
 *   for `staleAt <= now`, reading only the stale entries.
 * - A on a table that also holds other items (per-folder SyncState), to show what a Scan pays for
 *   everything else stored beside the subscription records.
 *
 * Request units depend only on item sizes, so every record is built from its index and a fixed
 * clock: two runs give the same numbers.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, ProjectionType } from 'aws-cdk-lib/aws-dynamodb';
import {
  DynamoSubscriptionStore,
  documentClient,
  SUBSCRIPTION_SK,
} from '../functions/adapters/subscription-table.ts';
import { mailboxKeyOf } from '../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../functions/domain/subscription.ts';
import { SUBSCRIBABLE_EVENT_TYPES } from '../functions/ews/subscribe.ts';
import { SubscriptionTable } from '../infra/subscription-table.ts';
import { startEmulators } from '../local/emulators.ts';
import { parseTemplate, provisionFromTemplate } from '../local/provision.ts';
import {
  candidateMonthlyUnits,
  type DynamoItem,
  heartbeatMonthlyUnits,
  type IndexDefinition,
  indexWriteUnits,
  itemSize,
  MINUTES_PER_MONTH,
  type MonthlyUnits,
  monthlyUsd,
  type OnDemandPrices,
  readUnits,
  US_EAST_1_ON_DEMAND,
  updateWriteUnits,
} from './dynamo-units.ts';

/** A fixed "now" (2026-11-21T10:00:00Z): number sizes, and so units, never depend on the run's date. */
export const NOW = Date.UTC(2026, 10, 21, 10, 0, 0);
/** Slack on top of 2 × StatusFrequency before a silent subscription counts as stale. */
export const SLACK_MS = 60_000;
const TABLE_KEYS = ['pk', 'sk'] as const;
export const SWEEP_INDEX = 'sweep';
export const SWEEP_INDEX_DEFINITION: IndexDefinition = {
  partitionKey: 'sweepShard',
  sortKey: 'staleAt',
  projection: 'KEYS_ONLY',
};

export interface SweepCostOptions {
  /** Table sizes measured, ascending: each is reached by adding records to the previous one. */
  readonly populations: readonly number[];
  /** Every n-th record is stale (its last contact is 3 hours old). */
  readonly staleEvery: number;
  readonly scanSegments: number;
  /** Partition-key values of the GSI in B: spreads heartbeat writes over index partitions. */
  readonly indexShards: number;
  /** Mailboxes in the shared-table scenario, and the bytes of other items stored per mailbox. */
  readonly sharedTable: { readonly mailboxes: number; readonly otherBytesPerMailbox: number };
  /** Fine-grained progress (the runner shows it on a terminal only). */
  readonly onProgress: (line: string) => void;
  /** Milestones, always worth a line on stderr. */
  readonly log: (line: string) => void;
}

export const DEFAULT_OPTIONS: Omit<SweepCostOptions, 'onProgress' | 'log'> = {
  populations: [1_000, 10_000, 100_000],
  staleEvery: 100,
  scanSegments: 4,
  indexShards: 10,
  sharedTable: { mailboxes: 10_000, otherBytesPerMailbox: 1_024 },
};

/** Units as the emulator reported them (null: it returned no ConsumedCapacity) and by AWS's rules. */
export interface Units {
  readonly reportedByDynalite: number | null;
  readonly awsRules: number;
}

export interface ScanSweep {
  readonly requests: number;
  readonly itemsRead: number;
  readonly bytesRead: number;
  readonly staleFound: number;
  readonly readUnits: Units;
  readonly millis: number;
}

export interface QuerySweep {
  readonly requests: number;
  readonly entriesRead: number;
  readonly bytesRead: number;
  readonly staleFound: number;
  readonly readUnits: Units;
  readonly millis: number;
}

export interface HeartbeatUnits {
  readonly table: Units;
  /** Write units in the sweep index (B only); dynalite does not report index writes at all. */
  readonly index: Units;
  readonly total: Units;
  readonly itemBytesBefore: number;
  readonly itemBytesAfter: number;
}

export interface SweepCostMeasurement {
  readonly options: Omit<SweepCostOptions, 'onProgress' | 'log'>;
  readonly recordBytes: {
    readonly subscription: { readonly min: number; readonly max: number; readonly mean: number };
    readonly withSweepAttributes: { readonly min: number; readonly max: number; readonly mean: number };
    readonly indexEntry: number;
  };
  readonly heartbeat: { readonly scan: HeartbeatUnits; readonly index: HeartbeatUnits };
  readonly sweeps: ReadonlyArray<{
    readonly mailboxes: number;
    readonly scan: ScanSweep;
    readonly index: QuerySweep;
  }>;
  readonly sharedTable: { readonly mailboxes: number; readonly otherItems: number; readonly scan: ScanSweep };
  readonly insertMillis: number;
}

/** Table A as infra defines it; B is the same construct plus the sweep GSI; C holds other items too. */
function synthesizeTables() {
  const app = new App();
  const stack = new Stack(app, 'SweepCost');
  new SubscriptionTable(stack, 'Scan');
  const indexed = new SubscriptionTable(stack, 'Indexed');
  indexed.table.addGlobalSecondaryIndex({
    indexName: SWEEP_INDEX,
    partitionKey: { name: SWEEP_INDEX_DEFINITION.partitionKey, type: AttributeType.STRING },
    sortKey: { name: 'staleAt', type: AttributeType.NUMBER },
    projectionType: ProjectionType.KEYS_ONLY,
  });
  new SubscriptionTable(stack, 'Shared');
  return parseTemplate(Template.fromStack(stack).toJSON());
}

/** Deterministic pseudo-random base64 of `bytes` bytes (60 chars for 45 bytes, 44 for 33). */
function base64Of(seed: string, bytes: number): string {
  const out = Buffer.alloc(bytes);
  let x = 2166136261;
  for (const c of seed) x = Math.imul(x ^ c.charCodeAt(0), 16777619);
  for (let i = 0; i < bytes; i++) {
    x = Math.imul(x ^ (x >>> 15), 2246822519) >>> 0;
    out[i] = x & 0xff;
  }
  return out.toString('base64');
}

const STATUS_FREQUENCIES = [1, 5, 30] as const;

export function isStale(index: number, staleEvery: number): boolean {
  return index % staleEvery === staleEvery - 1;
}

/** A realistic healthy record: Exchange Online-sized ids, all seven event types. */
export function sampleRecord(index: number, staleEvery: number): SubscriptionRecord {
  const mailbox = `user.${String(index).padStart(6, '0')}@fabrikam-europe.onmicrosoft.com`;
  const lastContactAt = isStale(index, staleEvery) ? NOW - 3 * 3_600_000 : NOW - (index % 50) * 1_000;
  return {
    mailboxKey: mailboxKeyOf(mailbox),
    mailbox,
    connection: 'exchange-online-eu',
    folders:
      index % 2 === 0 ? 'all' : [{ distinguishedFolderId: 'inbox' }, { distinguishedFolderId: 'calendar' }],
    eventTypes: SUBSCRIBABLE_EVENT_TYPES,
    statusFrequency: STATUS_FREQUENCIES[index % STATUS_FREQUENCIES.length] ?? 5,
    state: 'active',
    generation: 1 + (index % 3),
    subscriptionId: base64Of(`subscription-${index}`, 45),
    watermark: base64Of(`watermark-${index}`, 33),
    lastContactAt,
    attempts: 0,
    createdAt: NOW - 30 * 86_400_000 - index * 1_000,
    updatedAt: lastContactAt,
  };
}

/** The item `DynamoSubscriptionStore.create` writes for a record (checked against it at run time). */
export function subscriptionItem(record: SubscriptionRecord): Record<string, unknown> {
  const { mailboxKey, ...rest } = record;
  return { pk: mailboxKey, sk: SUBSCRIPTION_SK, ...rest };
}

export function silenceWindowMs(statusFrequencyMinutes: number): number {
  return 2 * statusFrequencyMinutes * 60_000 + SLACK_MS;
}

/** The index partition a mailbox's entry lives in: a hash of its key, so stale ones spread evenly. */
export function sweepShard(record: SubscriptionRecord, shards: number): string {
  let x = 2166136261;
  for (const c of record.mailboxKey) x = Math.imul(x ^ c.charCodeAt(0), 16777619);
  return `s${(x >>> 0) % shards}`;
}

/** B's item: the same record plus what its index needs. */
export function indexedItem(record: SubscriptionRecord, shards: number): Record<string, unknown> {
  const silenceWindow = silenceWindowMs(record.statusFrequency);
  return {
    ...subscriptionItem(record),
    sweepShard: sweepShard(record, shards),
    silenceWindow,
    staleAt: (record.lastContactAt ?? record.createdAt) + silenceWindow,
  };
}

/** Puts items 25 to a BatchWriteItem call, a few calls in flight, retrying unprocessed items. */
async function insert(
  doc: DynamoDBDocumentClient,
  table: string,
  items: (i: number) => Record<string, unknown>,
  from: number,
  to: number,
  progress: (done: number) => void,
): Promise<void> {
  const BATCH = 25;
  const IN_FLIGHT = 8;
  let next = from;
  let done = 0;
  const worker = async () => {
    while (next < to) {
      const start = next;
      const end = Math.min(to, start + BATCH);
      next = end;
      let requests = Array.from({ length: end - start }, (_, k) => ({
        PutRequest: { Item: items(start + k) },
      }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 5) throw new Error(`BatchWriteItem kept leaving ${requests.length} items unprocessed`);
        const { UnprocessedItems } = await doc.send(
          new BatchWriteCommand({ RequestItems: { [table]: requests } }),
        );
        const left = UnprocessedItems?.[table] ?? [];
        requests = left.flatMap((r) =>
          r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : [],
        );
      }
      done += end - start;
      if (done % 5_000 < BATCH) progress(done);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  progress(done);
}

/** The consumed units dynalite put on a response, if any (read field by field: it is an emulator's JSON). */
function reportedUnits(consumed: unknown): number | undefined {
  if (typeof consumed !== 'object' || consumed === null) return undefined;
  const units: unknown = Reflect.get(consumed, 'CapacityUnits');
  return typeof units === 'number' ? units : undefined;
}

function numberAttribute(item: DynamoItem, name: string): number {
  const value = item[name]?.N;
  const parsed = value === undefined ? Number.NaN : Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`item ${item.pk?.S ?? '?'} has no number ${name}`);
  return parsed;
}

/** The sweeper's silence rule, on a stored subscription item. */
function silent(item: DynamoItem): boolean {
  if (item.sk?.S !== SUBSCRIPTION_SK) return false;
  return (
    NOW - numberAttribute(item, 'lastContactAt') > silenceWindowMs(numberAttribute(item, 'statusFrequency'))
  );
}

/** Candidate A's sweep: every segment paged to the end, in parallel. */
async function scanSweep(client: DynamoDBClient, table: string, segments: number): Promise<ScanSweep> {
  const started = performance.now();
  let requests = 0;
  let itemsRead = 0;
  let bytesRead = 0;
  let staleFound = 0;
  let reported: number | null = 0;
  let aws = 0;
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        // No ProjectionExpression: it would not change the units (DynamoDB bills the items it
        // evaluates), and the whole items let the AWS-rule sizes be computed from what is stored.
        const page = await client.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: segments,
            ConsistentRead: false,
            ReturnConsumedCapacity: 'TOTAL',
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
        requests++;
        const items = page.Items ?? [];
        const bytes = items.reduce((sum, item) => sum + itemSize(item), 0);
        itemsRead += items.length;
        bytesRead += bytes;
        staleFound += items.filter(silent).length;
        aws += readUnits(bytes, 'eventual');
        const units = reportedUnits(page.ConsumedCapacity);
        reported = reported === null || units === undefined ? null : reported + units;
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
    }),
  );
  return {
    requests,
    itemsRead,
    bytesRead,
    staleFound,
    readUnits: { reportedByDynalite: reported, awsRules: aws },
    millis: performance.now() - started,
  };
}

/** Candidate B's sweep: one Query per shard for entries whose `staleAt` has passed. */
async function querySweep(client: DynamoDBClient, table: string, shards: number): Promise<QuerySweep> {
  const started = performance.now();
  let requests = 0;
  let entriesRead = 0;
  let bytesRead = 0;
  let reported: number | null = 0;
  let aws = 0;
  await Promise.all(
    Array.from({ length: shards }, async (_, shard) => {
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: table,
            IndexName: SWEEP_INDEX,
            KeyConditionExpression: '#shard = :shard AND #staleAt <= :now',
            ExpressionAttributeNames: { '#shard': 'sweepShard', '#staleAt': 'staleAt' },
            ExpressionAttributeValues: { ':shard': { S: `s${shard}` }, ':now': { N: String(NOW) } },
            ReturnConsumedCapacity: 'INDEXES',
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
        requests++;
        // KEYS_ONLY: what comes back is the whole index entry, which is what the read is billed on.
        const entries = page.Items ?? [];
        const bytes = entries.reduce((sum, entry) => sum + itemSize(entry), 0);
        entriesRead += entries.length;
        bytesRead += bytes;
        aws += readUnits(bytes, 'eventual');
        const units = reportedUnits(page.ConsumedCapacity);
        reported = reported === null || units === undefined ? null : reported + units;
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
    }),
  );
  return {
    requests,
    entriesRead,
    bytesRead,
    staleFound: entriesRead,
    readUnits: { reportedByDynalite: reported, awsRules: aws },
    millis: performance.now() - started,
  };
}

/**
 * Runs `work` with every DynamoDB request asking for ConsumedCapacity (INDEXES) and returns what
 * came back, with the marshalled input of each request (for replaying the heartbeat on table B).
 */
async function observe(
  client: DynamoDBClient,
  work: () => Promise<unknown>,
): Promise<{ inputs: unknown[]; consumed: unknown[] }> {
  const inputs: unknown[] = [];
  const consumed: unknown[] = [];
  const ask = 'sweep-cost-ask';
  const record = 'sweep-cost-record';
  client.middlewareStack.add(
    (next) => async (args) => next({ ...args, input: { ...args.input, ReturnConsumedCapacity: 'INDEXES' } }),
    { step: 'initialize', name: ask },
  );
  // After the document client marshalled the input: what goes over the wire.
  client.middlewareStack.add(
    (next) => async (args) => {
      inputs.push(structuredClone(args.input));
      const result = await next(args);
      const output: unknown = result.output;
      consumed.push(
        typeof output === 'object' && output !== null ? Reflect.get(output, 'ConsumedCapacity') : undefined,
      );
      return result;
    },
    { step: 'build', name: record },
  );
  try {
    await work();
  } finally {
    client.middlewareStack.remove(ask);
    client.middlewareStack.remove(record);
  }
  return { inputs, consumed };
}

async function rawItem(client: DynamoDBClient, table: string, pk: string, sk: string): Promise<DynamoItem> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }),
  );
  if (Item === undefined) throw new Error(`item ${pk}/${sk} is missing from ${table}`);
  return Item;
}

function isUpdateInput(value: unknown): value is UpdateItemCommandInput {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof Reflect.get(value, 'UpdateExpression') === 'string' &&
    typeof Reflect.get(value, 'TableName') === 'string'
  );
}

function sizes(values: readonly number[]) {
  const sum = values.reduce((a, b) => a + b, 0);
  return { min: Math.min(...values), max: Math.max(...values), mean: Math.round(sum / values.length) };
}

export async function measureSweepCost(options: SweepCostOptions): Promise<SweepCostMeasurement> {
  const { onProgress, log, ...settings } = options;
  const template = synthesizeTables();
  const emulators = await startEmulators();
  try {
    const resources = await provisionFromTemplate(template, emulators, { prefix: 'sweep' });
    const tableOf = (name: string) => {
      const table = resources.tables.get(resources.resourceId('AWS::DynamoDB::GlobalTable', `${name}Table`));
      if (table === undefined) throw new Error(`the ${name} table was not provisioned`);
      return table;
    };
    const scanTable = tableOf('Scan');
    const indexTable = tableOf('Indexed');
    const sharedTable = tableOf('Shared');
    const client = emulators.dynamodb;
    const doc = documentClient(client);
    const store = new DynamoSubscriptionStore(doc, scanTable);
    const record = (i: number) => sampleRecord(i, settings.staleEvery);

    // The batch path must write exactly what the store's own create writes, or the sizes lie.
    const first = record(0);
    if (!(await store.create(first, undefined))) throw new Error('store.create refused the first record');
    const viaStore = await rawItem(client, scanTable, first.mailboxKey, SUBSCRIPTION_SK);
    await doc.send(
      new BatchWriteCommand({
        RequestItems: { [scanTable]: [{ PutRequest: { Item: subscriptionItem(first) } }] },
      }),
    );
    const viaBatch = await rawItem(client, scanTable, first.mailboxKey, SUBSCRIPTION_SK);
    if (!isDeepStrictEqual(viaStore, viaBatch))
      throw new Error(
        `the benchmark's item differs from DynamoSubscriptionStore.create's: ${JSON.stringify(viaBatch)} vs ${JSON.stringify(viaStore)}`,
      );

    const sweeps: Array<{ mailboxes: number; scan: ScanSweep; index: QuerySweep }> = [];
    // Each population grows the tables from the previous one; record 0 is already in table A.
    const tables = [
      { name: 'A', table: scanTable, item: (i: number) => subscriptionItem(record(i)), inserted: 1 },
      {
        name: 'B',
        table: indexTable,
        item: (i: number) => indexedItem(record(i), settings.indexShards),
        inserted: 0,
      },
    ];
    let insertMillis = 0;
    for (const mailboxes of settings.populations) {
      const started = performance.now();
      for (const target of tables) {
        const from = target.inserted;
        await insert(doc, target.table, target.item, from, mailboxes, (done) =>
          onProgress(`  inserting into table ${target.name}: ${from + done}/${mailboxes}`),
        );
        target.inserted = mailboxes;
      }
      const seconds = (performance.now() - started) / 1000;
      insertMillis += performance.now() - started;
      log(`  ${mailboxes} records in tables A and B (${seconds.toFixed(1)} s to insert)`);

      const expectedStale = Array.from({ length: mailboxes }, (_, i) => i).filter((i) =>
        isStale(i, settings.staleEvery),
      ).length;
      onProgress(`  sweeping ${mailboxes}: scan`);
      const scan = await scanSweep(client, scanTable, settings.scanSegments);
      onProgress(`  sweeping ${mailboxes}: index query`);
      const index = await querySweep(client, indexTable, settings.indexShards);
      // Both candidates must find the same work, or comparing their cost means nothing.
      if (
        scan.itemsRead !== mailboxes ||
        scan.staleFound !== expectedStale ||
        index.staleFound !== expectedStale
      )
        throw new Error(
          `sweeps disagree at ${mailboxes}: scan read ${scan.itemsRead} and found ${scan.staleFound} stale, the index found ${index.staleFound}, expected ${expectedStale}`,
        );
      sweeps.push({ mailboxes, scan, index });
      log(
        `  ${mailboxes}: scan ${scan.readUnits.awsRules} RRU in ${scan.requests} requests, index query ${index.readUnits.awsRules} RRU`,
      );
    }

    // Sizes of records as stored, read back: the first 300 of each table (all kinds of record).
    const storedSizes = async (table: string) => {
      const out: number[] = [];
      for (let i = 0; i < 300; i++)
        out.push(itemSize(await rawItem(client, table, record(i).mailboxKey, SUBSCRIPTION_SK)));
      return out;
    };
    const subscriptionSizes = await storedSizes(scanTable);
    const indexedSizes = await storedSizes(indexTable);

    // Heartbeats last, so the sweeps above read untouched records. A healthy record (index 0).
    const heartbeatRecord = record(0);
    const key = heartbeatRecord.mailboxKey;
    const beforeScan = await rawItem(client, scanTable, key, SUBSCRIPTION_SK);
    const advanced = await observe(client, async () => {
      const ok = await store.advance({
        mailboxKey: key,
        generation: heartbeatRecord.generation,
        subscriptionId: heartbeatRecord.subscriptionId ?? '',
        expect: { kind: 'watermark', watermark: heartbeatRecord.watermark ?? '' },
        watermark: base64Of('watermark-next', 33),
        contactAt: NOW + 60_000,
        drained: true, // a StatusEvent comes only when Exchange's queue is empty
      });
      if (!ok) throw new Error('the heartbeat UpdateItem failed its condition');
    });
    const afterScan = await rawItem(client, scanTable, key, SUBSCRIPTION_SK);
    const update = advanced.inputs.find(isUpdateInput);
    if (update === undefined || advanced.inputs.length !== 1)
      throw new Error(`the heartbeat sent ${advanced.inputs.length} requests, expected one UpdateItem`);
    const scanHeartbeat = heartbeatUnits(reportedUnits(advanced.consumed[0]), beforeScan, afterScan, 0, null);

    // B's heartbeat: the very same UpdateItem, plus the index's sort key, computed without a read
    // from the contact time the update already carries.
    const contactName = Object.entries(update.ExpressionAttributeNames ?? {}).find(
      ([, attribute]) => attribute === 'lastContactAt',
    )?.[0];
    const contactValue =
      contactName === undefined
        ? undefined
        : update.UpdateExpression?.match(new RegExp(`${contactName} = (:\\w+)`))?.[1];
    if (contactValue === undefined || !update.UpdateExpression?.startsWith('SET '))
      throw new Error(`the heartbeat's UpdateItem changed shape: ${update.UpdateExpression}`);
    const beforeIndex = await rawItem(client, indexTable, key, SUBSCRIPTION_SK);
    const indexUpdate = await client.send(
      new UpdateItemCommand({
        ...update,
        TableName: indexTable,
        UpdateExpression: update.UpdateExpression.replace(
          /^SET /,
          `SET #staleAt = #silenceWindow + ${contactValue}, `,
        ),
        ExpressionAttributeNames: {
          ...update.ExpressionAttributeNames,
          '#staleAt': 'staleAt',
          '#silenceWindow': 'silenceWindow',
        },
        ReturnConsumedCapacity: 'INDEXES',
      }),
    );
    const afterIndex = await rawItem(client, indexTable, key, SUBSCRIPTION_SK);
    const indexUnits =
      indexUpdate.ConsumedCapacity?.GlobalSecondaryIndexes?.[SWEEP_INDEX]?.CapacityUnits ?? null;
    const indexHeartbeat = heartbeatUnits(
      indexUpdate.ConsumedCapacity?.Table?.CapacityUnits ?? reportedUnits(indexUpdate.ConsumedCapacity),
      beforeIndex,
      afterIndex,
      indexWriteUnits(beforeIndex, afterIndex, SWEEP_INDEX_DEFINITION, TABLE_KEYS),
      indexUnits,
    );
    if (
      numberAttribute(afterIndex, 'staleAt') !==
      NOW + 60_000 + numberAttribute(afterIndex, 'silenceWindow')
    )
      throw new Error("B's heartbeat did not move staleAt");

    // A table that also holds other items: the Scan reads them all.
    const { mailboxes: sharedMailboxes, otherBytesPerMailbox } = settings.sharedTable;
    const started = performance.now();
    await insert(
      doc,
      sharedTable,
      (i) => subscriptionItem(record(i)),
      0,
      sharedMailboxes,
      (done) => onProgress(`  inserting into the shared table: ${done}/${sharedMailboxes} subscriptions`),
    );
    await insert(
      doc,
      sharedTable,
      (i) => otherItem(record(i), otherBytesPerMailbox),
      0,
      sharedMailboxes,
      (done) => onProgress(`  inserting into the shared table: ${done}/${sharedMailboxes} other items`),
    );
    insertMillis += performance.now() - started;
    const sharedScan = await scanSweep(client, sharedTable, settings.scanSegments);

    const entry = sweeps[0]?.index;
    return {
      options: settings,
      recordBytes: {
        subscription: sizes(subscriptionSizes),
        withSweepAttributes: sizes(indexedSizes),
        indexEntry: entry && entry.entriesRead > 0 ? Math.round(entry.bytesRead / entry.entriesRead) : 0,
      },
      heartbeat: { scan: scanHeartbeat, index: indexHeartbeat },
      sweeps,
      sharedTable: { mailboxes: sharedMailboxes, otherItems: sharedMailboxes, scan: sharedScan },
      insertMillis,
    };
  } finally {
    await emulators.stop();
  }
}

function heartbeatUnits(
  reportedTable: number | undefined | null,
  before: DynamoItem,
  after: DynamoItem,
  indexAws: number,
  reportedIndex: number | null,
): HeartbeatUnits {
  const table = updateWriteUnits(before, after);
  const tableReported = reportedTable ?? null;
  return {
    table: { reportedByDynalite: tableReported, awsRules: table },
    index: { reportedByDynalite: reportedIndex, awsRules: indexAws },
    total: {
      reportedByDynalite: tableReported === null ? null : tableReported + (reportedIndex ?? 0),
      awsRules: table + indexAws,
    },
    itemBytesBefore: itemSize(before),
    itemBytesAfter: itemSize(after),
  };
}

/** A per-folder SyncState item beside the subscription record: large, rarely written. */
function otherItem(record: SubscriptionRecord, bytes: number): Record<string, unknown> {
  return {
    pk: record.mailboxKey,
    sk: 'syncstate#inbox',
    syncState: base64Of(`sync-${record.mailboxKey}`, Math.max(1, Math.floor(((bytes - 60) * 3) / 4))),
    updatedAt: record.createdAt,
  };
}

/** Candidate C's extra: one Query a minute on a sparse index of flagged records, usually empty. */
const ATTENTION_QUERY_UNITS = readUnits(0, 'eventual');
/** Candidate C sweeps for silence this often (minutes); flagged records are found every minute. */
export const SLOW_SWEEP_MINUTES = 5;

export interface CostRow {
  readonly mailboxes: number;
  readonly statusFrequencyMinutes: number;
  /** The heartbeats' own base-table writes: paid whatever the sweep does. */
  readonly heartbeats: { readonly writeUnits: number; readonly usd: number };
  readonly scan: { readonly readUnits: number; readonly writeUnits: number; readonly usd: number };
  readonly index: { readonly readUnits: number; readonly writeUnits: number; readonly usd: number };
  readonly slowScan: { readonly readUnits: number; readonly writeUnits: number; readonly usd: number };
  /** Index candidate's monthly cost / scan candidate's. */
  readonly indexOverScan: number;
}

/** Monthly units and dollars for each measured population, at each StatusFrequency. */
export function costTable(
  measurement: Pick<SweepCostMeasurement, 'sweeps' | 'heartbeat'>,
  statusFrequencies: readonly number[],
  prices: OnDemandPrices,
): CostRow[] {
  const rows: CostRow[] = [];
  for (const sweep of measurement.sweeps) {
    for (const statusFrequencyMinutes of statusFrequencies) {
      const workload = { mailboxes: sweep.mailboxes, statusFrequencyMinutes };
      const priced = (units: MonthlyUnits) => ({ ...units, usd: monthlyUsd(units, prices) });
      const base = heartbeatMonthlyUnits(measurement.heartbeat.scan.table.awsRules, workload);
      const scan = priced(
        candidateMonthlyUnits(
          {
            readUnitsPerSweep: sweep.scan.readUnits.awsRules,
            extraWriteUnitsPerHeartbeat: 0,
            sweepEveryMinutes: 1,
          },
          workload,
        ),
      );
      const index = priced(
        candidateMonthlyUnits(
          {
            readUnitsPerSweep: sweep.index.readUnits.awsRules,
            extraWriteUnitsPerHeartbeat:
              measurement.heartbeat.index.total.awsRules - measurement.heartbeat.scan.total.awsRules,
            sweepEveryMinutes: 1,
          },
          workload,
        ),
      );
      const slowScan = priced(
        sumUnits(
          candidateMonthlyUnits(
            {
              readUnitsPerSweep: sweep.scan.readUnits.awsRules,
              extraWriteUnitsPerHeartbeat: 0,
              sweepEveryMinutes: SLOW_SWEEP_MINUTES,
            },
            workload,
          ),
          candidateMonthlyUnits(
            {
              readUnitsPerSweep: ATTENTION_QUERY_UNITS,
              extraWriteUnitsPerHeartbeat: 0,
              sweepEveryMinutes: 1,
            },
            workload,
          ),
        ),
      );
      rows.push({
        mailboxes: sweep.mailboxes,
        statusFrequencyMinutes,
        heartbeats: { writeUnits: base.writeUnits, usd: monthlyUsd(base, prices) },
        scan,
        index,
        slowScan,
        indexOverScan: index.usd / scan.usd,
      });
    }
  }
  return rows;
}

function sumUnits(a: MonthlyUnits, b: MonthlyUnits): MonthlyUnits {
  return { readUnits: a.readUnits + b.readUnits, writeUnits: a.writeUnits + b.writeUnits };
}

export interface SweepCostReport {
  readonly note: string;
  readonly prices: OnDemandPrices;
  readonly minutesPerMonth: number;
  readonly measurement: SweepCostMeasurement;
  /** Per population: index sweep units / scan sweep units, and per heartbeat: B's writes / A's. */
  readonly ratios: ReadonlyArray<{
    readonly mailboxes: number;
    readonly indexSweepOverScanSweep: number;
    readonly indexHeartbeatOverScanHeartbeat: number;
  }>;
  readonly monthly: readonly CostRow[];
}

export async function benchSweepCost(
  onProgress: (line: string) => void,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<SweepCostReport> {
  const measurement = await measureSweepCost({ ...DEFAULT_OPTIONS, onProgress, log });
  const { scan, index } = measurement.heartbeat;
  return {
    note:
      'Request units are deterministic (fixed clock, records built from their index). awsRules: computed from the ' +
      'stored item sizes with AWS documented rules; reportedByDynalite: what the emulator returned in ' +
      'ConsumedCapacity (it does not count index writes, nor the minimum 0.5 unit of an empty read). Monthly ' +
      'figures use awsRules, one sweep a minute (slowScan: every 5 minutes plus one attention-index Query a ' +
      'minute), at least one heartbeat per StatusFrequency per mailbox.',
    prices: US_EAST_1_ON_DEMAND,
    minutesPerMonth: MINUTES_PER_MONTH,
    measurement,
    ratios: measurement.sweeps.map((s) => ({
      mailboxes: s.mailboxes,
      indexSweepOverScanSweep: s.index.readUnits.awsRules / s.scan.readUnits.awsRules,
      indexHeartbeatOverScanHeartbeat: index.total.awsRules / scan.total.awsRules,
    })),
    monthly: costTable(measurement, [1, 5, 30], US_EAST_1_ON_DEMAND),
  };
}

const usd = (n: number) => `$${n < 10 ? n.toFixed(2) : Math.round(n).toLocaleString('en-US')}`;
const count = (n: number) => n.toLocaleString('en-US');
const shown = (u: Units) =>
  `${count(u.awsRules)} (dynalite ${u.reportedByDynalite === null ? 'n/a' : count(u.reportedByDynalite)})`;

export function formatSweepCost(report: SweepCostReport): string[] {
  const m = report.measurement;
  const lines = [
    `sweep-cost: record ${m.recordBytes.subscription.mean} B (${m.recordBytes.subscription.min}-${m.recordBytes.subscription.max}), with index attributes ${m.recordBytes.withSweepAttributes.mean} B, index entry ${m.recordBytes.indexEntry} B`,
    `  heartbeat WRU: A ${shown(m.heartbeat.scan.total)}; B ${shown(m.heartbeat.index.total)} = table ${m.heartbeat.index.table.awsRules} + index ${m.heartbeat.index.index.awsRules}`,
  ];
  for (const s of m.sweeps) {
    lines.push(
      `  ${count(s.mailboxes)} mailboxes: A scan ${shown(s.scan.readUnits)} RRU in ${s.scan.requests} requests; ` +
        `B query ${shown(s.index.readUnits)} RRU for ${s.index.staleFound} stale in ${s.index.requests} requests`,
    );
  }
  lines.push(
    `  shared table (${count(m.sharedTable.mailboxes)} mailboxes + ${count(m.sharedTable.otherItems)} other items): A scan ${shown(m.sharedTable.scan.readUnits)} RRU`,
  );
  for (const row of report.monthly) {
    lines.push(
      `  monthly ${count(row.mailboxes)} x SF ${row.statusFrequencyMinutes}: heartbeats ${usd(row.heartbeats.usd)}; ` +
        `A ${usd(row.scan.usd)}, B ${usd(row.index.usd)} (${row.indexOverScan.toFixed(1)}x A), A every ${SLOW_SWEEP_MINUTES} min ${usd(row.slowScan.usd)}`,
    );
  }
  return lines;
}
