/**
 * DynamoDB's documented capacity rules, as arithmetic: item sizes, read and write request units,
 * the extra writes a global secondary index costs, and on-demand prices. The sweep-cost benchmark
 * uses these to check (and, where the emulator does not model AWS, replace) what dynalite reports.
 *
 * Sources (AWS DynamoDB Developer Guide): "Item sizes and formats" (CapacityUnitCalculations),
 * "Capacity unit consumption for reads/writes" (ProvisionedThroughput), and "Global secondary
 * indexes: Write Capacity Units" (GSI.ThroughputConsiderations).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** A strongly consistent read unit covers 4 KB; an eventually consistent one costs half. */
export const READ_UNIT_BYTES = 4096;
/** A standard write unit covers 1 KB. */
export const WRITE_UNIT_BYTES = 1024;

export type Consistency = 'eventual' | 'strong';
export type DynamoItem = Readonly<Record<string, AttributeValue>>;

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * "1 byte per two significant digits + 1 byte"; leading and trailing zeros (and sign, point and
 * exponent) do not count. AWS calls this approximate; dynalite models the base-100 encoding and can
 * be one byte larger for some numbers, which is why the benchmark reports both.
 */
export function numberSize(text: string): number {
  const mantissa = text.trim().toLowerCase().split('e')[0] ?? '';
  const digits = mantissa
    .replace(/[^0-9]/g, '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  if (digits === '') return 1;
  return Math.ceil(digits.length / 2) + 1;
}

/** The size of a value without its attribute name. */
export function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  // List and map: 3 bytes of overhead, plus 1 byte per element; map elements count their names.
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  if (value.M !== undefined)
    return 3 + Object.entries(value.M).reduce((sum, [name, v]) => sum + 1 + utf8(name) + valueSize(v), 0);
  throw new Error(`cannot size an attribute value of an unknown type: ${JSON.stringify(value)}`);
}

/** The item size DynamoDB bills on: the sum of attribute name bytes and value sizes. */
export function itemSize(item: DynamoItem): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);
}

/**
 * Read units for one request that evaluates `bytes` in total (GetItem, or one Query/Scan page:
 * the page's item sizes are summed, then rounded up to 4 KB). A request that finds nothing still
 * costs one 4 KB unit's worth.
 */
export function readUnits(bytes: number, consistency: Consistency): number {
  const blocks = Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES));
  return consistency === 'strong' ? blocks : blocks / 2;
}

/** Write units for one item write of `bytes` (PutItem, DeleteItem; UpdateItem: the larger image). */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
}

/** UpdateItem bills the larger of the item before and after the update. */
export function updateWriteUnits(before: DynamoItem, after: DynamoItem): number {
  return writeUnits(Math.max(itemSize(before), itemSize(after)));
}

export interface IndexDefinition {
  readonly partitionKey: string;
  readonly sortKey?: string;
  /** `KEYS_ONLY`, `ALL`, or the non-key attributes projected (INCLUDE). */
  readonly projection: 'KEYS_ONLY' | 'ALL' | readonly string[];
}

/**
 * The index entry an item produces, or undefined when the item lacks an index key attribute (a
 * sparse index leaves it out). The entry holds the table's key, the index's key and the projection.
 */
export function indexEntry(
  item: DynamoItem,
  index: IndexDefinition,
  tableKeys: readonly string[],
): DynamoItem | undefined {
  const indexKeys = index.sortKey === undefined ? [index.partitionKey] : [index.partitionKey, index.sortKey];
  if (indexKeys.some((k) => item[k] === undefined)) return undefined;
  if (index.projection === 'ALL') return item;
  const names = new Set([
    ...tableKeys,
    ...indexKeys,
    ...(index.projection === 'KEYS_ONLY' ? [] : index.projection),
  ]);
  const entry: Record<string, AttributeValue> = {};
  for (const name of names) {
    const value = item[name];
    if (value !== undefined) entry[name] = value;
  }
  return entry;
}

/**
 * Write units an item write costs in one global secondary index, by the documented cases: a new
 * entry is one put; a changed index key is a delete plus a put; a removed entry is one delete; a
 * changed projection with the same key is one put; nothing changed, nothing written.
 */
export function indexWriteUnits(
  before: DynamoItem | undefined,
  after: DynamoItem | undefined,
  index: IndexDefinition,
  tableKeys: readonly string[],
): number {
  const old = before === undefined ? undefined : indexEntry(before, index, tableKeys);
  const next = after === undefined ? undefined : indexEntry(after, index, tableKeys);
  if (old === undefined && next === undefined) return 0;
  if (old === undefined && next !== undefined) return writeUnits(itemSize(next));
  if (old !== undefined && next === undefined) return writeUnits(itemSize(old));
  if (old === undefined || next === undefined) return 0; // unreachable; narrows both for the checker
  const keyOf = (entry: DynamoItem) =>
    canonical(
      [...tableKeys, index.partitionKey, ...(index.sortKey === undefined ? [] : [index.sortKey])].map(
        (k) => entry[k],
      ),
    );
  if (keyOf(old) !== keyOf(next)) return writeUnits(itemSize(old)) + writeUnits(itemSize(next));
  return canonical(old) === canonical(next) ? 0 : writeUnits(itemSize(next));
}

/** JSON with object keys sorted, so equal items compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** On-demand request prices for one region, with where and when they were read. */
export interface OnDemandPrices {
  readonly region: string;
  readonly usdPerMillionReadUnits: number;
  readonly usdPerMillionWriteUnits: number;
  readonly source: string;
  readonly asOf: string;
}

/**
 * DynamoDB Standard table class, on-demand, US East (N. Virginia): the rates since the on-demand
 * price cut of 1 November 2024. Read on 2026-11-21 from a stored copy of the source page, which
 * shows the unit definitions but not the rate table; the two rates come from a July 2025 summary of
 * that page. Check the live page before quoting a figure: prices change and vary by region.
 */
export const US_EAST_1_ON_DEMAND: OnDemandPrices = {
  region: 'us-east-1',
  usdPerMillionReadUnits: 0.125,
  usdPerMillionWriteUnits: 0.625,
  source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  asOf: 'rates since 2024-11-01; read 2026-11-21',
};

/** AWS's billing month: 730 hours. */
export const MINUTES_PER_MONTH = 730 * 60;

export interface MonthlyUnits {
  readonly readUnits: number;
  readonly writeUnits: number;
}

export function monthlyUsd(units: MonthlyUnits, prices: OnDemandPrices): number {
  return (
    (units.readUnits / 1e6) * prices.usdPerMillionReadUnits +
    (units.writeUnits / 1e6) * prices.usdPerMillionWriteUnits
  );
}

/**
 * A way of finding stale subscriptions, reduced to what it costs: read units per sweep, and write
 * units it adds to every heartbeat (on top of the heartbeat's own base-table write).
 */
export interface SweepCandidate {
  readonly readUnitsPerSweep: number;
  readonly extraWriteUnitsPerHeartbeat: number;
  readonly sweepEveryMinutes: number;
}

export interface Workload {
  readonly mailboxes: number;
  /** Minutes between StatusEvents of an idle subscription: at least one heartbeat per period. */
  readonly statusFrequencyMinutes: number;
}

/** What a candidate costs in a month, over and above the heartbeats' base-table writes. */
export function candidateMonthlyUnits(candidate: SweepCandidate, workload: Workload): MonthlyUnits {
  const heartbeats = (workload.mailboxes * MINUTES_PER_MONTH) / workload.statusFrequencyMinutes;
  return {
    readUnits: (candidate.readUnitsPerSweep * MINUTES_PER_MONTH) / candidate.sweepEveryMinutes,
    writeUnits: heartbeats * candidate.extraWriteUnitsPerHeartbeat,
  };
}

/** The heartbeats' own base-table writes in a month: the floor every candidate shares. */
export function heartbeatMonthlyUnits(writeUnitsPerHeartbeat: number, workload: Workload): MonthlyUnits {
  return {
    readUnits: 0,
    writeUnits:
      ((workload.mailboxes * MINUTES_PER_MONTH) / workload.statusFrequencyMinutes) * writeUnitsPerHeartbeat,
  };
}
