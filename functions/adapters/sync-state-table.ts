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
import type {
  GraphDeltaState,
  GraphDeltaStore,
  GraphPendingCheckpoint,
  GraphPendingLink,
} from '../renewer/graph-lifecycle.ts';
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

/**
 * Graph's delta links (renewer/graph-lifecycle.ts): (mailboxKey, "graph#{scope}"), each with the
 * Graph checkpoint's pending link when one is being proven (`pending…` attributes), and
 * (mailboxKey, "graph-checkpoint") saying since when (renewer/graph-checkpoint.ts); cleared with
 * the partition.
 */
const GRAPH_PREFIX = 'graph#';
const GRAPH_CHECKPOINT_SK = 'graph-checkpoint';

/** Attribute names of a link item, aliased: `window` and `scope` read like words DynamoDB reserves. */
const LINK_NAMES = {
  '#scope': 'scope',
  '#link': 'deltaLink',
  '#seen': 'itemsSeen',
  '#window': 'window',
  '#updated': 'updatedAt',
  '#pLink': 'pendingDeltaLink',
  '#pSeen': 'pendingItemsSeen',
  '#pWindow': 'pendingWindow',
  '#pBased': 'pendingBasedOn',
};

export class DynamoGraphDeltaStore implements GraphDeltaStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.#table = tableName;
  }

  async #item(mailboxKey: MailboxKey, scope: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: mailboxKey, sk: `${GRAPH_PREFIX}${scope}` },
        ConsistentRead: true,
      }),
    );
    return Item;
  }

  async get(mailboxKey: MailboxKey, scope: string): Promise<GraphDeltaState | undefined> {
    const item = await this.#item(mailboxKey, scope);
    if (item === undefined) return undefined;
    const { deltaLink, itemsSeen, updatedAt, window, pendingDeltaLink } = item;
    // Only a checkpoint's pending link (taken for a scope that had none): no link yet.
    if (deltaLink === undefined && typeof pendingDeltaLink === 'string') return undefined;
    if (typeof deltaLink !== 'string' || typeof itemsSeen !== 'number' || typeof updatedAt !== 'number') {
      throw new Error(
        `Graph delta state ${JSON.stringify(`${mailboxKey}/${scope}`)} is not a delta state; delete the item (the next catch-up reads the folder in full)`,
      );
    }
    const parsed = parseWindow(window);
    return { scope, deltaLink, itemsSeen, updatedAt, ...(parsed === undefined ? {} : { window: parsed }) };
  }

  async put(mailboxKey: MailboxKey, state: GraphDeltaState): Promise<void> {
    // A Put replaces the item: a pending link beside the old one is gone (the checkpoint refuses it).
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { pk: mailboxKey, sk: `${GRAPH_PREFIX}${state.scope}`, ...state },
      }),
    );
  }

  async getPending(mailboxKey: MailboxKey, scope: string): Promise<GraphPendingLink | undefined> {
    const item = await this.#item(mailboxKey, scope);
    if (item === undefined) return undefined;
    const { pendingDeltaLink, pendingItemsSeen, pendingWindow, pendingBasedOn } = item;
    // Anything else is not a pending link this code wrote: none (the next checkpoint takes one).
    if (typeof pendingDeltaLink !== 'string' || typeof pendingItemsSeen !== 'number') return undefined;
    const window = parseWindow(pendingWindow);
    return {
      deltaLink: pendingDeltaLink,
      itemsSeen: pendingItemsSeen,
      ...(window === undefined ? {} : { window }),
      basedOn: typeof pendingBasedOn === 'string' ? pendingBasedOn : null,
    };
  }

  putPending(mailboxKey: MailboxKey, scope: string, pending: GraphPendingLink): Promise<boolean> {
    const set = ['#pLink = :pLink', '#pSeen = :pSeen'];
    const remove: string[] = [];
    const values: Record<string, unknown> = { ':pLink': pending.deltaLink, ':pSeen': pending.itemsSeen };
    if (pending.window === undefined) remove.push('#pWindow');
    else {
      set.push('#pWindow = :pWindow');
      values[':pWindow'] = pending.window;
    }
    if (pending.basedOn === null) remove.push('#pBased');
    else {
      set.push('#pBased = :basedOn');
      values[':basedOn'] = pending.basedOn;
    }
    return this.#updateLink(mailboxKey, scope, {
      UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ConditionExpression: pending.basedOn === null ? 'attribute_not_exists(#link)' : '#link = :basedOn',
      ExpressionAttributeValues: values,
    });
  }

  promote(mailboxKey: MailboxKey, scope: string, pending: GraphPendingLink, now: number): Promise<boolean> {
    const values: Record<string, unknown> = {
      ':pLink': pending.deltaLink,
      ':pSeen': pending.itemsSeen,
      ':scope': scope,
      ':now': now,
    };
    const set = ['#scope = :scope', '#link = :pLink', '#seen = :pSeen', '#updated = :now'];
    const remove = ['#pLink', '#pSeen', '#pWindow', '#pBased'];
    if (pending.window === undefined) remove.push('#window');
    else {
      set.push('#window = :window');
      values[':window'] = pending.window;
    }
    if (pending.basedOn !== null) values[':basedOn'] = pending.basedOn;
    return this.#updateLink(mailboxKey, scope, {
      UpdateExpression: `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
      ConditionExpression: `${pending.basedOn === null ? 'attribute_not_exists(#link)' : '#link = :basedOn'} AND #pLink = :pLink`,
      ExpressionAttributeValues: values,
    });
  }

  async getCheckpoint(mailboxKey: MailboxKey): Promise<GraphPendingCheckpoint | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: mailboxKey, sk: GRAPH_CHECKPOINT_SK },
        ConsistentRead: true,
      }),
    );
    if (Item === undefined) return undefined;
    const { generation, takenAt, provenAfter } = Item;
    // Anything else is not a checkpoint this code wrote: treated as none, so a new one is taken.
    return typeof generation === 'number' && typeof takenAt === 'number' && typeof provenAfter === 'number'
      ? { generation, takenAt, provenAfter }
      : undefined;
  }

  async putCheckpoint(mailboxKey: MailboxKey, checkpoint: GraphPendingCheckpoint): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { pk: mailboxKey, sk: GRAPH_CHECKPOINT_SK, ...checkpoint },
      }),
    );
  }

  async deleteCheckpoint(mailboxKey: MailboxKey): Promise<void> {
    await this.#doc.send(
      new DeleteCommand({ TableName: this.#table, Key: { pk: mailboxKey, sk: GRAPH_CHECKPOINT_SK } }),
    );
  }

  #updateLink(
    mailboxKey: MailboxKey,
    scope: string,
    expression: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<boolean> {
    // Only the names the expressions use: DynamoDB rejects unused ones.
    const text = `${expression.UpdateExpression} ${expression.ConditionExpression}`;
    const names = Object.fromEntries(Object.entries(LINK_NAMES).filter(([alias]) => text.includes(alias)));
    return conditionally(
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: mailboxKey, sk: `${GRAPH_PREFIX}${scope}` },
          ExpressionAttributeNames: names,
          ...expression,
        }),
      ),
    );
  }
}

function parseWindow(value: unknown): { start: number; end: number } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const start: unknown = Reflect.get(value, 'start');
  const end: unknown = Reflect.get(value, 'end');
  return typeof start === 'number' && typeof end === 'number' ? { start, end } : undefined;
}
