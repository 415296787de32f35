/**
 * Per-folder SyncState items, in their own table: (mailboxKey, "sync#d#inbox") or
 * (mailboxKey, "sync#f#<folder id>"), each with the checkpoint's pending SyncState when one is
 * being proven, and (mailboxKey, "checkpoint") saying since when. Large and rarely written, so kept out of the subscription
 * table that every heartbeat writes and every sweep scans. The same partition holds the mailbox's
 * pushed-item list (pushed-item-list.ts): everything about a mailbox's synchronization, removed
 * together.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { IamActions } from '../core/access.ts';
import type { FolderSyncState, PendingSyncState } from '../domain/folder-sync-state.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import type { FolderRef } from '../ews/request.ts';
import { isDistinguishedFolderName } from '../ews/request.ts';
import type { CheckpointStore, PendingCheckpoint } from '../renewer/checkpoint.ts';
import type { GraphDeltaState, GraphDeltaStore } from '../renewer/graph-lifecycle.ts';
import type { SyncStateStore } from '../renewer/sync.ts';
import { conditionally } from './conditional-write.ts';
import { writeAll } from './dynamo-batch.ts';

/** IAM actions on the SyncStates table, per port this store implements (core/access.ts). */
export const SYNC_STATE_TABLE_ACTIONS = {
  /** The renewer's catch-ups and checkpoints: folder states and the checkpoint item. */
  CheckpointStore: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  /** Mailbox management: `show` lists the folder states, `remove` clears the partition. */
  SyncProgress: ['dynamodb:Query', 'dynamodb:BatchWriteItem'],
} as const satisfies Record<string, IamActions>;

const PREFIX = 'sync#';
/** The checkpoint being proven (renewer/checkpoint.ts), one per mailbox. */
const CHECKPOINT_SK = 'checkpoint';

function sortKey(folder: FolderRef): string {
  return 'folderId' in folder
    ? `${PREFIX}f#${folder.folderId}`
    : `${PREFIX}d#${folder.distinguishedFolderId}`;
}

export class DynamoSyncStateStore implements SyncStateStore, CheckpointStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.#table = tableName;
  }

  async get(mailboxKey: MailboxKey, folder: FolderRef): Promise<FolderSyncState | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: mailboxKey, sk: sortKey(folder) },
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : parseState(Item);
  }

  async put(mailboxKey: MailboxKey, state: Omit<FolderSyncState, 'pending'>): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk: mailboxKey,
          sk: sortKey(state.folder),
          folder: state.folder,
          syncState: state.syncState,
          complete: state.complete,
          itemsSeen: state.itemsSeen,
          updatedAt: state.updatedAt,
        },
      }),
    );
  }

  putPending(mailboxKey: MailboxKey, folder: FolderRef, pending: PendingSyncState): Promise<boolean> {
    if (pending.basedOn === null) {
      // A folder with no state yet: the item may not exist, so it is created well-formed.
      return this.#updateFolder(mailboxKey, folder, {
        UpdateExpression:
          'SET pendingSyncState = :pending, folder = if_not_exists(folder, :folder), complete = if_not_exists(complete, :false), itemsSeen = if_not_exists(itemsSeen, :zero), updatedAt = if_not_exists(updatedAt, :zero) REMOVE pendingBasedOn',
        ConditionExpression: 'attribute_not_exists(syncState)',
        ExpressionAttributeValues: {
          ':pending': pending.syncState,
          ':folder': folder,
          ':false': false,
          ':zero': 0,
        },
      });
    }
    return this.#updateFolder(mailboxKey, folder, {
      UpdateExpression: 'SET pendingSyncState = :pending, pendingBasedOn = :basedOn',
      ConditionExpression: 'syncState = :basedOn',
      ExpressionAttributeValues: { ':pending': pending.syncState, ':basedOn': pending.basedOn },
    });
  }

  promote(
    mailboxKey: MailboxKey,
    folder: FolderRef,
    pending: PendingSyncState,
    now: number,
  ): Promise<boolean> {
    return this.#updateFolder(mailboxKey, folder, {
      UpdateExpression:
        'SET syncState = :pending, complete = :true, updatedAt = :now REMOVE pendingSyncState, pendingBasedOn',
      ConditionExpression: `${pending.basedOn === null ? 'attribute_not_exists(syncState)' : 'syncState = :basedOn'} AND pendingSyncState = :pending`,
      ExpressionAttributeValues: {
        ':pending': pending.syncState,
        ':true': true,
        ':now': now,
        ...(pending.basedOn === null ? {} : { ':basedOn': pending.basedOn }),
      },
    });
  }

  async getCheckpoint(mailboxKey: MailboxKey): Promise<PendingCheckpoint | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: mailboxKey, sk: CHECKPOINT_SK },
        ConsistentRead: true,
      }),
    );
    if (Item === undefined) return undefined;
    const { generation, provenByDrainedAfter, takenAt } = Item;
    // Anything else is not a checkpoint this code wrote (one written by an older version counted
    // drained pushes): treated as none, so a new one is taken.
    return typeof generation === 'number' &&
      typeof provenByDrainedAfter === 'number' &&
      typeof takenAt === 'number'
      ? { generation, provenByDrainedAfter, takenAt }
      : undefined;
  }

  async putCheckpoint(mailboxKey: MailboxKey, checkpoint: PendingCheckpoint): Promise<void> {
    await this.#doc.send(
      new PutCommand({ TableName: this.#table, Item: { pk: mailboxKey, sk: CHECKPOINT_SK, ...checkpoint } }),
    );
  }

  async deleteCheckpoint(mailboxKey: MailboxKey): Promise<void> {
    await this.#doc.send(
      new DeleteCommand({ TableName: this.#table, Key: { pk: mailboxKey, sk: CHECKPOINT_SK } }),
    );
  }

  #updateFolder(
    mailboxKey: MailboxKey,
    folder: FolderRef,
    expression: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<boolean> {
    return conditionally(
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: mailboxKey, sk: sortKey(folder) },
          ...expression,
        }),
      ),
    );
  }

  /** Every folder's state for a mailbox (progress for `show`). */
  async list(mailboxKey: MailboxKey): Promise<FolderSyncState[]> {
    const states: FolderSyncState[] = [];
    for await (const page of this.#query(mailboxKey)) {
      for (const item of page.Items ?? []) {
        const state = parseState(item);
        if (state) states.push(state);
      }
    }
    return states;
  }

  /**
   * Forgets everything about the mailbox's synchronization: every folder's state and the
   * pushed-item list (a removed mailbox, added again later, starts a new baseline).
   */
  async clear(mailboxKey: MailboxKey): Promise<void> {
    const keys: Array<{ DeleteRequest: { Key: Record<string, unknown> } }> = [];
    for await (const page of this.#query(mailboxKey, 'every item')) {
      for (const item of page.Items ?? [])
        if (typeof item.sk === 'string')
          keys.push({ DeleteRequest: { Key: { pk: mailboxKey, sk: item.sk } } });
    }
    await writeAll(this.#doc, this.#table, keys);
  }

  /** The folder states, or the keys of every item of the mailbox. */
  #query(mailboxKey: MailboxKey, what: 'folder states' | 'every item' = 'folder states') {
    return paginateQuery(
      { client: this.#doc },
      what === 'every item'
        ? {
            TableName: this.#table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': mailboxKey },
            // Only the keys are needed to delete; the states themselves can be large.
            ProjectionExpression: 'pk, sk',
            ConsistentRead: true,
          }
        : {
            TableName: this.#table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': mailboxKey, ':prefix': PREFIX },
            ConsistentRead: true,
          },
    );
  }
}

/** A stored state, or undefined if the item is not one (a SyncState is only a shortcut: without it the folder is synced again). */
function parseState(item: Record<string, unknown>): FolderSyncState | undefined {
  const folder = parseFolder(item.folder);
  const syncState = item.syncState;
  const complete = item.complete;
  const itemsSeen = item.itemsSeen;
  const updatedAt = item.updatedAt;
  if (
    folder === undefined ||
    typeof complete !== 'boolean' ||
    typeof itemsSeen !== 'number' ||
    typeof updatedAt !== 'number'
  )
    return undefined;
  if (syncState !== undefined && typeof syncState !== 'string') return undefined;
  const { pendingSyncState, pendingBasedOn } = item;
  const pending =
    typeof pendingSyncState === 'string'
      ? {
          pending: {
            syncState: pendingSyncState,
            basedOn: typeof pendingBasedOn === 'string' ? pendingBasedOn : null,
          },
        }
      : {};
  return {
    folder,
    ...(typeof syncState === 'string' ? { syncState } : {}),
    complete,
    itemsSeen,
    updatedAt,
    ...pending,
  };
}

function parseFolder(value: unknown): FolderRef | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const folderId: unknown = Reflect.get(value, 'folderId');
  const name: unknown = Reflect.get(value, 'distinguishedFolderId');
  if (typeof folderId === 'string' && folderId !== '') return { folderId };
  if (typeof name === 'string' && isDistinguishedFolderName(name)) return { distinguishedFolderId: name };
  return undefined;
}

/** Graph's delta links (renewer/graph-lifecycle.ts): (mailboxKey, "graph#{scope}"), cleared with the partition. */
const GRAPH_PREFIX = 'graph#';

export class DynamoGraphDeltaStore implements GraphDeltaStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.#table = tableName;
  }

  async get(mailboxKey: MailboxKey, scope: string): Promise<GraphDeltaState | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: mailboxKey, sk: `${GRAPH_PREFIX}${scope}` },
        ConsistentRead: true,
      }),
    );
    if (Item === undefined) return undefined;
    const { deltaLink, itemsSeen, updatedAt, window } = Item;
    if (typeof deltaLink !== 'string' || typeof itemsSeen !== 'number' || typeof updatedAt !== 'number') {
      throw new Error(
        `Graph delta state ${JSON.stringify(`${mailboxKey}/${scope}`)} is not a delta state; delete the item (the next catch-up reads the folder in full)`,
      );
    }
    const start: unknown = window?.start;
    const end: unknown = window?.end;
    return {
      scope,
      deltaLink,
      itemsSeen,
      updatedAt,
      ...(typeof start === 'number' && typeof end === 'number' ? { window: { start, end } } : {}),
    };
  }

  async put(mailboxKey: MailboxKey, state: GraphDeltaState): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { pk: mailboxKey, sk: `${GRAPH_PREFIX}${state.scope}`, ...state },
      }),
    );
  }
}
