/**
 * The subscription records in DynamoDB, keyed (pk, sk) = (mailboxKey, "subscription"). The table
 * holds nothing else: every sweep reads all of it (docs/sweep-cost.md).
 *
 * Only this module knows attribute names and expressions; everything above it sees typed records.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateScan,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { MailboxRecords } from '../admin/manage.ts';
import type { IamActions } from '../core/access.ts';
import { showValue } from '../core/show.ts';
import { ENRICH_MODES, isFieldUri } from '../domain/enrichment.ts';
import {
  GRAPH_EVENT_TYPES,
  GRAPH_RESOURCES,
  GRAPH_WORK,
  type GraphMailboxState,
  type GraphResourceKind,
  type GraphResourceSubscription,
  type GraphWork,
} from '../domain/graph-mailbox.ts';
import { type MailboxKey, parseMailboxKey } from '../domain/mailbox-key.ts';
import type {
  RecoveryReason,
  SubscriptionRecord,
  SubscriptionState,
  SyncWork,
} from '../domain/subscription.ts';
import { type FolderRef, isDistinguishedFolderName } from '../ews/request.ts';
import { SUBSCRIBABLE_EVENT_TYPES, type SubscribableEventType } from '../ews/subscribe.ts';
import type { GraphWorkRequest, GraphWorkStore } from '../receiver/graph-receive.ts';
import type { AdvanceUpdate, SubscriptionStore } from '../receiver/receive.ts';
import type { ClaimCheckpoint } from '../renewer/checkpoint.ts';
import type { GraphLifecycleStore } from '../renewer/graph-lifecycle.ts';
import type {
  AtGeneration,
  BeginRenewal,
  CompleteRenewal,
  LifecycleStore,
  RenewalFailure,
} from '../renewer/job.ts';
import type { RecordScan } from '../sweeper/sweep.ts';
import { conditionally } from './conditional-write.ts';

export const SUBSCRIPTION_SK = 'subscription';

/** The string-set attributes holding a Graph mailbox's lifecycle work, per resource. */
const GRAPH_WORK_ATTRIBUTE: Readonly<Record<GraphResourceKind, string>> = {
  messages: 'graphMessagesWork',
  events: 'graphEventsWork',
};

/** IAM actions on the subscription table, per port this store implements (core/access.ts). */
export const SUBSCRIPTION_TABLE_ACTIONS = {
  /** The receiver: a consistent read and the conditional advance (and Graph's work requests). */
  SubscriptionStore: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  /** Mailbox management: create (Put), subscribe/fail/remove (Update), list (Scan). */
  MailboxRecords: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Scan'],
  /** The renewer: every lifecycle step is a conditional update of a read record (Graph's too). */
  LifecycleStore: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  /** The sweeper: the parallel Scan and marking work queued. */
  RecordScan: ['dynamodb:Scan', 'dynamodb:UpdateItem'],
} as const satisfies Record<string, IamActions>;

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** A stored item that is not a valid subscription record: a bug or a hand edit. Never guessed at. */
export class CorruptSubscriptionRecordError extends Error {
  override readonly name = 'CorruptSubscriptionRecordError';
  constructor(pk: string, field: string, value: unknown) {
    super(
      `subscription record ${showValue(pk)} has an invalid ${field} (${showValue(JSON.stringify(value) ?? 'undefined')}); fix or delete the item, then re-add the mailbox`,
    );
  }
}

/**
 * Builds one conditional UpdateItem: every attribute name and value gets its own placeholder, so
 * reserved words (`state`) and repeated attributes cannot collide.
 */
class Expression {
  readonly #set: string[] = [];
  readonly #add: string[] = [];
  readonly #remove: string[] = [];
  readonly #delete: string[] = [];
  readonly #conditions: string[] = [];
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  #counter = 0;

  #name(attribute: string): string {
    this.names[`#${attribute}`] = attribute;
    return `#${attribute}`;
  }
  #value(value: unknown): string {
    const placeholder = `:v${this.#counter++}`;
    this.values[placeholder] = value;
    return placeholder;
  }
  /** SET each attribute; undefined values are skipped. */
  set(attributes: Record<string, unknown>): this {
    for (const [attribute, value] of Object.entries(attributes)) {
      if (value !== undefined) this.#set.push(`${this.#name(attribute)} = ${this.#value(value)}`);
    }
    return this;
  }
  /** SET one nested attribute (`graph.messages`): the maps above it must exist. */
  setPath(path: readonly string[], value: unknown): this {
    this.#set.push(`${path.map((part) => this.#name(part)).join('.')} = ${this.#value(value)}`);
    return this;
  }
  /** SET each attribute only if it has no value yet (the first one wins). */
  setIfAbsent(attributes: Record<string, unknown>): this {
    for (const [attribute, value] of Object.entries(attributes)) {
      if (value === undefined) continue;
      const name = this.#name(attribute);
      this.#set.push(`${name} = if_not_exists(${name}, ${this.#value(value)})`);
    }
    return this;
  }
  /** ADD the strings to a string-set attribute (created when absent): idempotent, commutative. */
  addToSet(attribute: string, values: readonly string[]): this {
    if (values.length > 0) this.#add.push(`${this.#name(attribute)} ${this.#value(new Set(values))}`);
    return this;
  }
  /** ADD `by` to a number attribute (0 when absent): commutative, so concurrent writers all count. */
  increment(attribute: string, by = 1): this {
    this.#add.push(`${this.#name(attribute)} ${this.#value(by)}`);
    return this;
  }
  /** DELETE the strings from a string-set attribute (it disappears when emptied). */
  deleteFromSet(attribute: string, values: readonly string[]): this {
    if (values.length > 0) this.#delete.push(`${this.#name(attribute)} ${this.#value(new Set(values))}`);
    return this;
  }
  remove(...attributes: string[]): this {
    for (const attribute of attributes) this.#remove.push(this.#name(attribute));
    return this;
  }
  when(attribute: string, operator: '=' | '<>' | '<', value: unknown): this {
    this.#conditions.push(`${this.#name(attribute)} ${operator} ${this.#value(value)}`);
    return this;
  }
  whenAbsent(attribute: string): this {
    this.#conditions.push(`attribute_not_exists(${this.#name(attribute)})`);
    return this;
  }
  /** The nested attribute is absent or holds `value` (a first-writer-wins pin that a repeat passes). */
  whenPathAbsentOrEqual(path: readonly string[], value: unknown): this {
    const name = path.map((part) => this.#name(part)).join('.');
    this.#conditions.push(`(attribute_not_exists(${name}) OR ${name} = ${this.#value(value)})`);
    return this;
  }
  /** The attribute is absent or holds `value`. */
  whenAbsentOrEqual(attribute: string, value: unknown): this {
    return this.whenPathAbsentOrEqual([attribute], value);
  }
  /** The attribute is absent or compares with `value` as `operator` says. */
  whenAbsentOr(attribute: string, operator: '=' | '<>' | '<', value: unknown): this {
    const name = this.#name(attribute);
    this.#conditions.push(`(attribute_not_exists(${name}) OR ${name} ${operator} ${this.#value(value)})`);
    return this;
  }
  whenPresent(attribute: string): this {
    this.#conditions.push(`attribute_exists(${this.#name(attribute)})`);
    return this;
  }
  /** The record is at `generation` and not removed: the guard of every lifecycle write. */
  atGeneration(generation: number): this {
    return this.when('generation', '=', generation).when('state', '<>', 'removed');
  }
  build() {
    const update = [
      this.#set.length > 0 ? `SET ${this.#set.join(', ')}` : '',
      this.#remove.length > 0 ? `REMOVE ${this.#remove.join(', ')}` : '',
      this.#add.length > 0 ? `ADD ${this.#add.join(', ')}` : '',
      this.#delete.length > 0 ? `DELETE ${this.#delete.join(', ')}` : '',
    ]
      .filter((part) => part !== '')
      .join(' ');
    return {
      UpdateExpression: update,
      ConditionExpression: this.#conditions.join(' AND '),
      ExpressionAttributeNames: this.names,
      ...(Object.keys(this.values).length > 0 ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

const FAILURE_ATTRIBUTES = ['lastError', 'nextAttemptAt', 'firstFailureAt', 'lostAt'] as const;
const RECOVERY_ATTRIBUTES = ['recovery', 'recoveryWatermark', 'recoveryAt', 'recoveryGeneration'] as const;

export class DynamoSubscriptionStore
  implements
    SubscriptionStore,
    GraphWorkStore,
    GraphLifecycleStore,
    MailboxRecords,
    LifecycleStore,
    RecordScan
{
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #segments: number;

  constructor(doc: DynamoDBDocumentClient, tableName: string, options: { scanSegments?: number } = {}) {
    this.#doc = doc;
    this.#table = tableName;
    this.#segments = options.scanSegments ?? 4;
  }

  async get(mailboxKey: MailboxKey): Promise<SubscriptionRecord | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: mailboxKey, sk: SUBSCRIPTION_SK },
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : parseSubscriptionRecord(Item);
  }

  // ---- the receiver ----------------------------------------------------------------------------

  async advance(update: AdvanceUpdate): Promise<boolean> {
    const e = new Expression()
      .set({
        lastContactAt: update.contactAt,
        updatedAt: update.contactAt,
        watermark: update.watermark ?? undefined,
      })
      .atGeneration(update.generation);
    switch (update.expect.kind) {
      case 'watermark':
        e.when('subscriptionId', '=', update.subscriptionId).when('watermark', '=', update.expect.watermark);
        break;
      case 'subscription':
        e.when('subscriptionId', '=', update.subscriptionId);
        break;
      case 'adoption':
        e.whenAbsent('subscriptionId')
          .set({
            subscriptionId: update.subscriptionId,
            adoptedFrom: update.expect.previousWatermark ?? undefined,
          })
          .setIfAbsent({ recoveryWatermark: update.expect.unconfirmedFallback });
        break;
    }
    if (update.drained) e.set({ drainedAt: update.contactAt });
    if (update.recovery) {
      // The first request wins: its watermark is the last good one, where recovery resumes. The
      // generation is the latest one's, so that a renewal under way (which would clear a request
      // made before it began) can tell that this subscription, too, has missed something.
      e.setIfAbsent({
        recovery: update.recovery.reason,
        recoveryAt: update.contactAt,
        recoveryWatermark: update.recovery.watermark,
      }).set({ recoveryGeneration: update.generation });
    }
    return this.#update(update.mailboxKey, e);
  }

  async requestGraphWork(mailboxKey: MailboxKey, request: GraphWorkRequest): Promise<void> {
    const e = new Expression().whenPresent('pk').when('state', '<>', 'removed');
    for (const resource of GRAPH_RESOURCES) {
      const work = request.work.filter((w) => w.resource === resource).map((w) => w.work);
      e.addToSet(GRAPH_WORK_ATTRIBUTE[resource], [...new Set(work)]);
    }
    e.addToSet('graphObsolete', [...new Set(request.obsolete)]);
    // Counted, so a job that read the set before this request cannot remove it unseen (settleGraph).
    if (request.work.length > 0) e.increment('graphWorkRequests');
    // A record gone or removed owes nothing: the failed condition is the answer, not an error.
    await this.#update(mailboxKey, e);
  }

  pinGraphUser(mailboxKey: MailboxKey, objectId: string): Promise<boolean> {
    const e = new Expression()
      .setPath(['graph', 'objectId'], objectId)
      .when('source', '=', 'graph')
      .when('state', '<>', 'removed')
      .whenPathAbsentOrEqual(['graph', 'objectId'], objectId);
    return this.#update(mailboxKey, e);
  }

  // ---- the Graph lifecycle (renewer/graph-lifecycle.ts) -------------------------------------------

  putGraphSubscription(args: Parameters<GraphLifecycleStore['putGraphSubscription']>[0]): Promise<boolean> {
    const e = new Expression()
      .setPath(['graph', args.resource], args.subscription)
      .set({ updatedAt: args.now, generation: args.toGeneration })
      .remove('renewalQueuedAt')
      .when('source', '=', 'graph')
      .atGeneration(args.generation);
    return this.#update(args.mailboxKey, e);
  }

  async settleGraph(args: Parameters<GraphLifecycleStore['settleGraph']>[0]): Promise<boolean> {
    const settle = (removeWork: boolean) => {
      const e = new Expression()
        .set({
          state: 'active',
          attempts: 0,
          updatedAt: args.now,
          ...(args.checkpointDueAt === undefined ? {} : { checkpointDueAt: args.checkpointDueAt }),
        })
        .remove(...FAILURE_ATTRIBUTES, 'renewalQueuedAt', 'syncWork', 'syncReason')
        .atGeneration(args.generation);
      e.deleteFromSet('graphObsolete', [...new Set(args.doneObsolete)]);
      if (!removeWork) return e;
      for (const resource of GRAPH_RESOURCES)
        e.deleteFromSet(GRAPH_WORK_ATTRIBUTE[resource], [...new Set(args.doneWork[resource] ?? [])]);
      // The work done is removed only if no request came since the job read the record: one that
      // did may be the same work again (the new subscription removed too), which the set hides.
      if (args.workRequestsSeen === undefined) e.whenAbsent('graphWorkRequests');
      else e.when('graphWorkRequests', '=', args.workRequestsSeen);
      return e;
    };
    if (await this.#update(args.mailboxKey, settle(true))) return true;
    // A request came meanwhile: settled, the work left owed for the next job to do again.
    return this.#update(args.mailboxKey, settle(false));
  }

  // ---- managing mailboxes ----------------------------------------------------------------------

  create(record: SubscriptionRecord, expectedPrevious: SubscriptionRecord | undefined): Promise<boolean> {
    const { mailboxKey, ...attributes } = record;
    return conditionally(
      this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { pk: mailboxKey, sk: SUBSCRIPTION_SK, ...attributes },
          // Either nothing was there, or exactly the removed record we read (so two concurrent
          // adds cannot both win, and a generation is never issued twice).
          ...(expectedPrevious === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#state = :removed AND #generation = :previous',
                ExpressionAttributeNames: { '#state': 'state', '#generation': 'generation' },
                ExpressionAttributeValues: {
                  ':removed': 'removed',
                  ':previous': expectedPrevious.generation,
                },
              }),
        }),
      ),
    );
  }

  async markRemoved(mailboxKey: MailboxKey, now: number): Promise<boolean> {
    const e = new Expression()
      .set({ state: 'removed', updatedAt: now })
      .remove('nextAttemptAt', 'renewalQueuedAt', 'syncWork', 'syncReason', ...RECOVERY_ATTRIBUTES)
      .whenPresent('pk')
      .when('state', '<>', 'removed');
    return this.#update(mailboxKey, e);
  }

  migrateToGraph(args: Parameters<MailboxRecords['migrateToGraph']>[0]): Promise<boolean> {
    const e = new Expression()
      .set({
        source: 'graph',
        connection: args.connection,
        graph: args.graph,
        eventTypes: [...GRAPH_EVENT_TYPES],
        syncWork: 'baseline',
        nextAttemptAt: args.now,
        updatedAt: args.now,
      })
      .remove('syncReason', 'checkpointDueAt', 'renewalQueuedAt')
      .atGeneration(args.generation);
    // Not Graph already: `source` absent (records from before Graph) or `ews`.
    const built = e.build();
    return conditionally(
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: args.mailboxKey, sk: SUBSCRIPTION_SK },
          ...built,
          ConditionExpression: `${built.ConditionExpression} AND (attribute_not_exists(#source) OR #source <> :graphSource)`,
          ExpressionAttributeValues: { ...built.ExpressionAttributeValues, ':graphSource': 'graph' },
        }),
      ),
    );
  }

  async *list(): AsyncIterable<SubscriptionRecord> {
    yield* this.scan();
  }

  // ---- the lifecycle -----------------------------------------------------------------------------

  async *scan(): AsyncIterable<SubscriptionRecord> {
    // Parallel segments: one sweep of a large table finishes in a fraction of the time of one
    // sequential Scan, for the same read units. Records are small; no index is written for this.
    const segments = Array.from({ length: this.#segments }, (_, segment) =>
      collect(
        paginateScan(
          { client: this.#doc },
          {
            TableName: this.#table,
            Segment: segment,
            TotalSegments: this.#segments,
            FilterExpression: 'sk = :sk',
            ExpressionAttributeValues: { ':sk': SUBSCRIPTION_SK },
          },
        ),
      ),
    );
    for (const items of await Promise.all(segments))
      for (const item of items) yield parseSubscriptionRecord(item);
  }

  markQueued(mailboxKey: MailboxKey, generation: number, now: number): Promise<boolean> {
    return this.#update(mailboxKey, new Expression().set({ renewalQueuedAt: now }).atGeneration(generation));
  }

  clearQueued(mailboxKey: MailboxKey, generation: number): Promise<boolean> {
    return this.#update(mailboxKey, new Expression().remove('renewalQueuedAt').atGeneration(generation));
  }

  beginRenewal(args: BeginRenewal): Promise<boolean> {
    const e = new Expression()
      .set({ generation: args.toGeneration, state: args.state, updatedAt: args.now })
      // The failure's retry time has come: from here on, the renewal under way holds the claim.
      .remove('subscriptionId', 'adoptedFrom', 'renewalQueuedAt', 'nextAttemptAt')
      .atGeneration(args.fromGeneration);
    return this.#update(args.mailboxKey, e);
  }

  holdClaim(args: AtGeneration): Promise<boolean> {
    return this.#update(
      args.mailboxKey,
      new Expression().set({ updatedAt: args.now }).atGeneration(args.generation),
    );
  }

  async completeRenewal(args: CompleteRenewal): Promise<boolean> {
    const settle = (e: Expression, recovery: 'clear' | 'keep' | 'gap') => {
      e.set({
        state: 'active',
        attempts: 0,
        updatedAt: args.now,
        syncWork: args.syncWork,
        syncReason: args.syncReason,
      })
        .remove(...FAILURE_ATTRIBUTES, 'adoptedFrom', 'renewalQueuedAt')
        .atGeneration(args.generation);
      // A request made before this generation (the one that led here) is done with: Subscribe
      // resumed from its watermark. One made on this generation came from the new subscription
      // after the renewal began (it was adopted and then missed a notification, or died): kept.
      // A gap found now asks for the next renewal, from the answer's watermark, which comes
      // before anything the new subscription pushed, so it covers a request made on it too.
      if (recovery === 'clear')
        e.remove(...RECOVERY_ATTRIBUTES).whenAbsentOr('recoveryGeneration', '<', args.generation);
      if (recovery === 'keep') e.when('recoveryGeneration', '=', args.generation);
      if (recovery === 'gap')
        e.set({
          recovery: 'gap',
          recoveryWatermark: args.watermark,
          recoveryAt: args.now,
          recoveryGeneration: args.generation,
        });
      if (args.syncWork === undefined) e.remove('syncWork', 'syncReason');
      return e;
    };
    // Not adopted yet: the answer's watermark starts the chain. Nothing can have requested
    // recovery on this generation (the receiver does so only for a SubscriptionId it has stored);
    // if something had, no write below applies and the renewal is retried, keeping it.
    const first = settle(new Expression(), 'clear')
      .set({ subscriptionId: args.subscriptionId, watermark: args.watermark, lastContactAt: args.now })
      .whenAbsent('subscriptionId');
    if (await this.#update(args.mailboxKey, first)) return true;
    // Adopted by the receiver (the subscription pushed before Subscribe answered): its watermark
    // is newer than the answer's, so only the state changes, if the adopting push followed on
    // from the answer's watermark (or carried none).
    for (const recovery of ['clear', 'keep'] as const) {
      const inOrder = settle(new Expression(), recovery)
        .when('subscriptionId', '=', args.subscriptionId)
        .whenAbsentOrEqual('adoptedFrom', args.watermark);
      if (await this.#update(args.mailboxKey, inOrder)) return true;
    }
    // It did not: a notification was missed before it, which the receiver could not tell, not
    // knowing where the chain starts. A gap, as it would have been had the answer come first.
    return this.#update(
      args.mailboxKey,
      settle(new Expression(), 'gap')
        .when('subscriptionId', '=', args.subscriptionId)
        .whenPresent('adoptedFrom')
        .when('adoptedFrom', '<>', args.watermark),
    );
  }

  recordFailure(args: RenewalFailure): Promise<boolean> {
    const e = new Expression()
      .set({
        lastError: args.error.slice(0, 1000),
        attempts: args.attempts,
        nextAttemptAt: args.nextAttemptAt,
        updatedAt: args.now,
        state: args.state,
      })
      .setIfAbsent({ firstFailureAt: args.firstFailureAt, lostAt: args.lost ? args.now : undefined })
      .remove('renewalQueuedAt')
      .atGeneration(args.generation);
    return this.#update(args.mailboxKey, e);
  }

  finishSync(args: AtGeneration & { readonly checkpointDueAt: number }): Promise<boolean> {
    const e = new Expression()
      .set({ updatedAt: args.now, checkpointDueAt: args.checkpointDueAt })
      .remove('syncWork', 'syncReason', 'nextAttemptAt', 'lastError', 'renewalQueuedAt')
      .atGeneration(args.generation);
    return this.#update(args.mailboxKey, e);
  }

  deferSync(
    args: AtGeneration & { readonly error: string; readonly nextAttemptAt: number },
  ): Promise<boolean> {
    const e = new Expression()
      .set({ lastError: args.error.slice(0, 1000), nextAttemptAt: args.nextAttemptAt, updatedAt: args.now })
      .remove('renewalQueuedAt')
      .atGeneration(args.generation);
    return this.#update(args.mailboxKey, e);
  }

  claimCheckpoint(args: ClaimCheckpoint): Promise<boolean> {
    const e = new Expression()
      .set({ checkpointDueAt: args.leaseUntil })
      .remove('renewalQueuedAt')
      .atGeneration(args.generation)
      .when('state', '=', 'active');
    if (args.dueAt === undefined) e.whenAbsent('checkpointDueAt');
    else e.when('checkpointDueAt', '=', args.dueAt);
    return this.#update(args.mailboxKey, e);
  }

  scheduleCheckpoint(args: AtGeneration & { readonly dueAt: number }): Promise<boolean> {
    return this.#update(
      args.mailboxKey,
      new Expression().set({ checkpointDueAt: args.dueAt }).atGeneration(args.generation),
    );
  }

  #update(mailboxKey: MailboxKey, expression: Expression): Promise<boolean> {
    return conditionally(
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: mailboxKey, sk: SUBSCRIPTION_SK },
          ...expression.build(),
        }),
      ),
    );
  }
}

async function collect<T>(pages: AsyncIterable<{ Items?: T[] | undefined }>): Promise<T[]> {
  const items: T[] = [];
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
}

const STATES: readonly SubscriptionState[] = ['subscribing', 'active', 'renewing', 'lost', 'removed'];
const RECOVERY: readonly RecoveryReason[] = ['gap', 'dead'];
const SYNC_WORK: readonly SyncWork[] = ['baseline', 'catchUp'];
const SYNC_REASONS = ['watermarkExpired', 'watermarkRejected', 'noWatermark'] as const;
/** The member of `allowed` equal to `value`, if any: narrowing by lookup rather than by cast. */
const oneOf = <T extends string>(allowed: readonly T[], value: unknown): T | undefined =>
  allowed.find((a) => a === value);

/** Reads a stored item into a record, checking every field (the table is outside the type system). */
export function parseSubscriptionRecord(item: Record<string, unknown>): SubscriptionRecord {
  const pk = typeof item.pk === 'string' ? item.pk : '(no pk)';
  const fail = (field: string): never => {
    throw new CorruptSubscriptionRecordError(pk, field, item[field]);
  };
  const text = (field: string): string => {
    const value = item[field];
    return typeof value === 'string' && value !== '' ? value : fail(field);
  };
  const optionalText = (field: string): string | undefined =>
    item[field] === undefined ? undefined : text(field);
  const integer = (field: string): number => {
    const value = item[field];
    return typeof value === 'number' && Number.isSafeInteger(value) ? value : fail(field);
  };
  const optionalInteger = (field: string): number | undefined =>
    item[field] === undefined ? undefined : integer(field);

  const mailboxKey = parseMailboxKey(pk) ?? fail('pk');
  const state = oneOf(STATES, item.state) ?? fail('state');
  const recovery =
    item.recovery === undefined ? undefined : (oneOf(RECOVERY, item.recovery) ?? fail('recovery'));
  const eventTypesRaw: unknown = item.eventTypes;
  const eventTypes: SubscribableEventType[] = [];
  if (!Array.isArray(eventTypesRaw) || eventTypesRaw.length === 0) fail('eventTypes');
  else
    for (const type of eventTypesRaw)
      eventTypes.push(oneOf(SUBSCRIBABLE_EVENT_TYPES, type) ?? fail('eventTypes'));
  const source =
    item.source === undefined ? undefined : (oneOf(['ews', 'graph'] as const, item.source) ?? fail('source'));
  const graph = item.graph === undefined ? undefined : (parseGraphState(item.graph) ?? fail('graph'));
  if (source === 'graph' && graph === undefined) fail('graph');
  const graphWork: Partial<Record<GraphResourceKind, GraphWork[]>> = {};
  for (const resource of GRAPH_RESOURCES) {
    const attribute = GRAPH_WORK_ATTRIBUTE[resource];
    if (item[attribute] === undefined) continue;
    const values = stringSet(item[attribute]) ?? fail(attribute);
    graphWork[resource] = values.map((v) => oneOf(GRAPH_WORK, v) ?? fail(attribute));
  }
  const graphObsolete =
    item.graphObsolete === undefined ? undefined : (stringSet(item.graphObsolete) ?? fail('graphObsolete'));
  return {
    mailboxKey,
    mailbox: text('mailbox'),
    connection: text('connection'),
    ...defined('source', source),
    ...defined('graph', graph),
    ...(Object.keys(graphWork).length === 0 ? {} : { graphWork }),
    ...defined('graphObsolete', graphObsolete),
    ...defined('graphWorkRequests', optionalInteger('graphWorkRequests')),
    folders: parseFolders(item.folders) ?? fail('folders'),
    eventTypes,
    ...defined(
      'enrich',
      item.enrich === undefined ? undefined : (oneOf(ENRICH_MODES, item.enrich) ?? fail('enrich')),
    ),
    ...(item.enrichFields === undefined
      ? {}
      : { enrichFields: parseEnrichFields(item.enrichFields) ?? fail('enrichFields') }),
    statusFrequency: integer('statusFrequency'),
    state,
    generation: integer('generation'),
    ...defined('subscriptionId', optionalText('subscriptionId')),
    ...defined('adoptedFrom', optionalText('adoptedFrom')),
    ...defined('watermark', optionalText('watermark')),
    ...defined('lastContactAt', optionalInteger('lastContactAt')),
    ...defined('recovery', recovery),
    ...defined('recoveryWatermark', optionalText('recoveryWatermark')),
    ...defined('recoveryAt', optionalInteger('recoveryAt')),
    ...defined('recoveryGeneration', optionalInteger('recoveryGeneration')),
    ...defined(
      'syncWork',
      item.syncWork === undefined ? undefined : (oneOf(SYNC_WORK, item.syncWork) ?? fail('syncWork')),
    ),
    ...defined(
      'syncReason',
      item.syncReason === undefined
        ? undefined
        : (oneOf(SYNC_REASONS, item.syncReason) ?? fail('syncReason')),
    ),
    attempts: optionalInteger('attempts') ?? 0,
    ...defined('nextAttemptAt', optionalInteger('nextAttemptAt')),
    ...defined('lastError', optionalText('lastError')),
    ...defined('firstFailureAt', optionalInteger('firstFailureAt')),
    ...defined('lostAt', optionalInteger('lostAt')),
    ...defined('renewalQueuedAt', optionalInteger('renewalQueuedAt')),
    ...defined('drainedAt', optionalInteger('drainedAt')),
    ...defined('checkpointDueAt', optionalInteger('checkpointDueAt')),
    createdAt: integer('createdAt'),
    updatedAt: integer('updatedAt'),
  };
}

/** `{ key: value }`, or `{}` when the value is absent (exactOptionalPropertyTypes forbids `key: undefined`). */
function defined<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  const out: Partial<Record<K, V>> = {};
  if (value !== undefined) out[key] = value;
  return out;
}

/** A string set as the document client reads it (a Set), or a list (the fakes, JSON); sorted. */
function stringSet(value: unknown): string[] | undefined {
  const values = value instanceof Set ? [...value] : Array.isArray(value) ? value : undefined;
  if (values === undefined || values.length === 0) return undefined;
  const strings: string[] = [];
  for (const v of values) {
    if (typeof v !== 'string' || v === '') return undefined;
    strings.push(v);
  }
  return strings.sort();
}

/** The `graph` map of a Graph mailbox, or undefined when it is not one. */
function parseGraphState(value: unknown): GraphMailboxState | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const userId: unknown = Reflect.get(value, 'userId');
  if (typeof userId !== 'string' || userId === '') return undefined;
  const objectId: unknown = Reflect.get(value, 'objectId');
  if (objectId !== undefined && (typeof objectId !== 'string' || objectId === '')) return undefined;
  const state: { userId: string; objectId?: string } & {
    -readonly [K in (typeof GRAPH_RESOURCES)[number]]?: GraphResourceSubscription;
  } = {
    userId,
    ...(objectId === undefined ? {} : { objectId }),
  };
  for (const kind of GRAPH_RESOURCES) {
    const raw: unknown = Reflect.get(value, kind);
    if (raw === undefined) continue;
    const resource = parseGraphResource(raw);
    if (resource === undefined) return undefined;
    state[kind] = resource;
  }
  return state;
}

function parseGraphResource(value: unknown): GraphResourceSubscription | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const field = (name: string): unknown => Reflect.get(value, name);
  const integer = (name: string): number | undefined | null => {
    const v = field(name);
    if (v === undefined) return undefined;
    return typeof v === 'number' && Number.isSafeInteger(v) ? v : null;
  };
  const generation = integer('generation');
  const expiresAt = integer('expiresAt');
  const lastRenewedAt = integer('lastRenewedAt');
  const lastReauthorizedAt = integer('lastReauthorizedAt');
  const subscriptionId = field('subscriptionId');
  if (generation === undefined || generation === null || generation < 1) return undefined;
  if (expiresAt === null || lastRenewedAt === null || lastReauthorizedAt === null) return undefined;
  if (subscriptionId !== undefined && (typeof subscriptionId !== 'string' || subscriptionId === ''))
    return undefined;
  return {
    generation,
    ...defined('subscriptionId', subscriptionId),
    ...defined('expiresAt', expiresAt),
    ...defined('lastRenewedAt', lastRenewedAt),
    ...defined('lastReauthorizedAt', lastReauthorizedAt),
  };
}

/** A list of FieldURIs, or undefined when it is not one. */
function parseEnrichFields(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const fields: string[] = [];
  for (const field of value) {
    if (typeof field !== 'string' || !isFieldUri(field)) return undefined;
    fields.push(field);
  }
  return fields;
}

function parseFolders(value: unknown): 'all' | FolderRef[] | undefined {
  if (value === 'all') return 'all';
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const folders: FolderRef[] = [];
  for (const entry of value) {
    if (typeof entry !== 'object' || entry === null) return undefined;
    const distinguished: unknown = Reflect.get(entry, 'distinguishedFolderId');
    const folderId: unknown = Reflect.get(entry, 'folderId');
    const mailbox: unknown = Reflect.get(entry, 'mailbox');
    if (typeof distinguished === 'string' && isDistinguishedFolderName(distinguished)) {
      folders.push(
        typeof mailbox === 'string'
          ? { distinguishedFolderId: distinguished, mailbox }
          : { distinguishedFolderId: distinguished },
      );
    } else if (typeof folderId === 'string' && folderId !== '') {
      folders.push({ folderId });
    } else {
      return undefined;
    }
  }
  return folders;
}
