/**
 * Per-folder SyncState items, in their own table: (mailboxKey, "sync#d#inbox") or
 * (mailboxKey, "sync#f#<folder id>"). Large and rarely written, so kept out of the subscription
 * table that every heartbeat writes and every sweep scans.
 */
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
} from '@aws-sdk/lib-dynamodb';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import type { FolderRef } from '../ews/request.ts';
import { isDistinguishedFolderName } from '../ews/request.ts';
import type { FolderSyncState, SyncStateStore } from '../lifecycle/sync.ts';

const PREFIX = 'sync#';

function sortKey(folder: FolderRef): string {
  return 'folderId' in folder
    ? `${PREFIX}f#${folder.folderId}`
    : `${PREFIX}d#${folder.distinguishedFolderId}`;
}

export class DynamoSyncStateStore implements SyncStateStore {
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

  async put(mailboxKey: MailboxKey, state: FolderSyncState): Promise<void> {
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

  /** Forgets every folder's state (a removed mailbox, added again later, starts a new baseline). */
  async clear(mailboxKey: MailboxKey): Promise<void> {
    const keys: Array<{ pk: string; sk: string }> = [];
    for await (const page of this.#query(mailboxKey)) {
      for (const item of page.Items ?? [])
        if (typeof item.sk === 'string') keys.push({ pk: mailboxKey, sk: item.sk });
    }
    for (let i = 0; i < keys.length; i += 25) {
      let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      // BatchWrite may leave some unprocessed under load; send those again until none remain.
      for (let attempt = 0; requests.length > 0 && attempt < 5; attempt++) {
        const { UnprocessedItems } = await this.#doc.send(
          new BatchWriteCommand({ RequestItems: { [this.#table]: requests } }),
        );
        requests = (UnprocessedItems?.[this.#table] ?? []).flatMap((r) =>
          r.DeleteRequest?.Key
            ? [
                {
                  DeleteRequest: {
                    Key: { pk: String(r.DeleteRequest.Key.pk), sk: String(r.DeleteRequest.Key.sk) },
                  },
                },
              ]
            : [],
        );
      }
    }
  }

  #query(mailboxKey: MailboxKey) {
    return paginateQuery(
      { client: this.#doc },
      {
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
  return { folder, ...(typeof syncState === 'string' ? { syncState } : {}), complete, itemsSeen, updatedAt };
}

function parseFolder(value: unknown): FolderRef | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const folderId: unknown = Reflect.get(value, 'folderId');
  const name: unknown = Reflect.get(value, 'distinguishedFolderId');
  if (typeof folderId === 'string' && folderId !== '') return { folderId };
  if (typeof name === 'string' && isDistinguishedFolderName(name)) return { distinguishedFolderId: name };
  return undefined;
}
