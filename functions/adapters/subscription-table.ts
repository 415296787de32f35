/**
 * The subscription records in DynamoDB. One table, keyed (pk, sk): a mailbox's subscription record
 * is (mailboxKey, "subscription"); later items (per-folder SyncState) share the partition.
 *
 * Only this module knows attribute names and expressions; everything above it sees typed records.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateScan,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { showValue } from '../core/show.ts';
import { type MailboxKey, parseMailboxKey } from '../domain/mailbox-key.ts';
import type { RecoveryReason, SubscriptionRecord, SubscriptionState } from '../domain/subscription.ts';
import { type FolderRef, isDistinguishedFolderName } from '../ews/request.ts';
import { SUBSCRIBABLE_EVENT_TYPES, type SubscribableEventType } from '../ews/subscribe.ts';
import type { MailboxRecords, RecordFailure, StoreSubscription } from '../mailboxes/manage.ts';
import type { AdvanceUpdate, SubscriptionStore } from '../receiver/receive.ts';

export const SUBSCRIPTION_SK = 'subscription';

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

export class DynamoSubscriptionStore implements SubscriptionStore, MailboxRecords {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.#table = tableName;
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

  async advance(update: AdvanceUpdate): Promise<boolean> {
    const names: Record<string, string> = {
      '#generation': 'generation',
      '#state': 'state',
      '#lastContactAt': 'lastContactAt',
      '#updatedAt': 'updatedAt',
    };
    const values: Record<string, unknown> = {
      ':generation': update.generation,
      ':removed': 'removed',
      ':now': update.contactAt,
    };
    const set = ['#lastContactAt = :now', '#updatedAt = :now'];
    const conditions = ['#generation = :generation', '#state <> :removed'];

    names['#subscriptionId'] = 'subscriptionId';
    values[':subscriptionId'] = update.subscriptionId;
    switch (update.expect.kind) {
      case 'watermark':
        names['#watermark'] = 'watermark';
        values[':expected'] = update.expect.watermark;
        conditions.push('#subscriptionId = :subscriptionId', '#watermark = :expected');
        break;
      case 'subscription':
        conditions.push('#subscriptionId = :subscriptionId');
        break;
      case 'adoption':
        conditions.push('attribute_not_exists(#subscriptionId)');
        set.push('#subscriptionId = :subscriptionId');
        break;
    }
    if (update.watermark !== null) {
      names['#watermark'] = 'watermark';
      values[':watermark'] = update.watermark;
      set.push('#watermark = :watermark');
    }
    if (update.recovery) {
      // The first request wins: its watermark is the last good one, where recovery resumes.
      Object.assign(names, { '#recovery': 'recovery', '#recoveryAt': 'recoveryAt' });
      values[':recovery'] = update.recovery.reason;
      set.push(
        '#recovery = if_not_exists(#recovery, :recovery)',
        '#recoveryAt = if_not_exists(#recoveryAt, :now)',
      );
      if (update.recovery.watermark !== undefined) {
        names['#recoveryWatermark'] = 'recoveryWatermark';
        values[':recoveryWatermark'] = update.recovery.watermark;
        set.push('#recoveryWatermark = if_not_exists(#recoveryWatermark, :recoveryWatermark)');
      }
    }
    return this.#update({
      key: update.mailboxKey,
      UpdateExpression: `SET ${set.join(', ')}`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  async create(
    record: SubscriptionRecord,
    expectedPrevious: SubscriptionRecord | undefined,
  ): Promise<boolean> {
    const item = { pk: record.mailboxKey, sk: SUBSCRIPTION_SK, ...withoutKey(record) };
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: item,
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
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  async storeSubscription(args: StoreSubscription): Promise<boolean> {
    const names = {
      '#generation': 'generation',
      '#state': 'state',
      '#subscriptionId': 'subscriptionId',
      '#attempts': 'attempts',
      '#updatedAt': 'updatedAt',
      '#lastError': 'lastError',
      '#nextAttemptAt': 'nextAttemptAt',
    };
    const values = {
      ':generation': args.generation,
      ':removed': 'removed',
      ':active': 'active',
      ':sid': args.subscriptionId,
      ':now': args.now,
      ':zero': 0,
    };
    const common = 'SET #state = :active, #attempts = :zero, #updatedAt = :now';
    const cleared = 'REMOVE #lastError, #nextAttemptAt';
    // Not yet adopted by the receiver: this answer is the starting point of the chain.
    const first = await this.#update({
      UpdateExpression: `${common}, #subscriptionId = :sid, #watermark = :watermark, #lastContactAt = :now ${cleared}`,
      ConditionExpression:
        '#generation = :generation AND #state <> :removed AND attribute_not_exists(#subscriptionId)',
      ExpressionAttributeNames: { ...names, '#watermark': 'watermark', '#lastContactAt': 'lastContactAt' },
      ExpressionAttributeValues: { ...values, ':watermark': args.watermark },
      key: args.mailboxKey,
    });
    if (first) return true;
    // Already adopted (the subscription pushed before Subscribe answered): its watermark is
    // newer than the one in the answer, so only the state changes.
    return this.#update({
      UpdateExpression: `${common} ${cleared}`,
      ConditionExpression: '#generation = :generation AND #state <> :removed AND #subscriptionId = :sid',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      key: args.mailboxKey,
    });
  }

  async recordFailure(args: RecordFailure): Promise<boolean> {
    return this.#update({
      UpdateExpression:
        'SET #lastError = :error, #attempts = :attempts, #nextAttemptAt = :next, #updatedAt = :now',
      ConditionExpression: '#generation = :generation AND #state <> :removed',
      ExpressionAttributeNames: {
        '#lastError': 'lastError',
        '#attempts': 'attempts',
        '#nextAttemptAt': 'nextAttemptAt',
        '#updatedAt': 'updatedAt',
        '#generation': 'generation',
        '#state': 'state',
      },
      ExpressionAttributeValues: {
        ':error': args.error.slice(0, 1000),
        ':attempts': args.attempts,
        ':next': args.nextAttemptAt,
        ':now': args.now,
        ':generation': args.generation,
        ':removed': 'removed',
      },
      key: args.mailboxKey,
    });
  }

  async markRemoved(mailboxKey: MailboxKey, now: number): Promise<boolean> {
    return this.#update({
      UpdateExpression:
        'SET #state = :removed, #updatedAt = :now REMOVE #nextAttemptAt, #recovery, #recoveryWatermark, #recoveryAt',
      ConditionExpression: 'attribute_exists(pk) AND #state <> :removed',
      ExpressionAttributeNames: {
        '#state': 'state',
        '#updatedAt': 'updatedAt',
        '#nextAttemptAt': 'nextAttemptAt',
        '#recovery': 'recovery',
        '#recoveryWatermark': 'recoveryWatermark',
        '#recoveryAt': 'recoveryAt',
      },
      ExpressionAttributeValues: { ':removed': 'removed', ':now': now },
      key: mailboxKey,
    });
  }

  async *list(): AsyncIterable<SubscriptionRecord> {
    const pages = paginateScan(
      { client: this.#doc },
      {
        TableName: this.#table,
        FilterExpression: 'sk = :sk',
        ExpressionAttributeValues: { ':sk': SUBSCRIPTION_SK },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) yield parseSubscriptionRecord(item);
    }
  }

  async #update(args: {
    key: MailboxKey;
    UpdateExpression: string;
    ConditionExpression: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues: Record<string, unknown>;
  }): Promise<boolean> {
    const { key, ...expression } = args;
    try {
      await this.#doc.send(
        new UpdateCommand({ TableName: this.#table, Key: { pk: key, sk: SUBSCRIPTION_SK }, ...expression }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }
}

const STATES: readonly SubscriptionState[] = ['subscribing', 'active', 'renewing', 'lost', 'removed'];
const RECOVERY: readonly RecoveryReason[] = ['gap', 'dead'];
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
  return {
    mailboxKey,
    mailbox: text('mailbox'),
    connection: text('connection'),
    folders: parseFolders(item.folders) ?? fail('folders'),
    eventTypes,
    statusFrequency: integer('statusFrequency'),
    state,
    generation: integer('generation'),
    ...defined('subscriptionId', optionalText('subscriptionId')),
    ...defined('watermark', optionalText('watermark')),
    ...defined('lastContactAt', optionalInteger('lastContactAt')),
    ...defined('recovery', recovery),
    ...defined('recoveryWatermark', optionalText('recoveryWatermark')),
    ...defined('recoveryAt', optionalInteger('recoveryAt')),
    attempts: optionalInteger('attempts') ?? 0,
    ...defined('nextAttemptAt', optionalInteger('nextAttemptAt')),
    ...defined('lastError', optionalText('lastError')),
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

/** The record's attributes as stored: everything but the key, which is pk/sk. */
function withoutKey(record: SubscriptionRecord): Omit<SubscriptionRecord, 'mailboxKey'> {
  const { mailboxKey: _, ...rest } = record;
  return rest;
}
