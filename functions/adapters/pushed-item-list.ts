/**
 * The pushed-item list (domain/pushed-item-list.ts) in the SyncStates table, next to the folder
 * states it complements: (mailboxKey, "item#<item id>") → folder id and when it was noted.
 * Written by the receiver (one BatchWriteItem per notification that creates, moves, copies or
 * deletes items; none for heartbeats), read and trimmed by the renewer after a catch-up.
 */
import { type DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { IamActions } from '../core/access.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import type { PushedItemListChanges, PushedItemListEntry } from '../domain/pushed-item-list.ts';
import type { PushedItemListWriter } from '../receiver/receive.ts';
import type { PushedItemList, PushedItemWriter } from '../renewer/reconcile.ts';
import { type WriteRequest, writeAll } from './dynamo-batch.ts';

/** IAM actions on the SyncStates table, per port this list implements (core/access.ts). */
export const PUSHED_ITEM_LIST_ACTIONS = {
  /** The receiver notes and forgets items in one batch write. */
  PushedItemListWriter: ['dynamodb:BatchWriteItem'],
  /** The renewer reads the list after a catch-up and trims it; it writes Graph's masters and checkpoint markers. */
  PushedItemList: ['dynamodb:Query', 'dynamodb:BatchWriteItem'],
} as const satisfies Record<string, IamActions>;

const PREFIX = 'item#';

export class DynamoPushedItemList implements PushedItemListWriter, PushedItemList, PushedItemWriter {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.#table = tableName;
  }

  async record(mailboxKey: MailboxKey, changes: PushedItemListChanges, at: number): Promise<void> {
    const requests: WriteRequest[] = [
      ...changes.noted.map((item) => ({
        PutRequest: {
          Item: {
            pk: mailboxKey,
            sk: `${PREFIX}${item.itemId}`,
            itemId: item.itemId,
            notedAt: at,
            ...(item.folderId === null ? {} : { folderId: item.folderId }),
          },
        },
      })),
      ...changes.forgotten.map((itemId) => ({
        DeleteRequest: { Key: { pk: mailboxKey, sk: `${PREFIX}${itemId}` } },
      })),
    ];
    await writeAll(this.#doc, this.#table, requests);
  }

  async *list(mailboxKey: MailboxKey): AsyncIterable<PushedItemListEntry> {
    const pages = paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': mailboxKey, ':prefix': PREFIX },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const noted = parsePushedItemListEntry(item);
        if (noted !== undefined) yield noted;
      }
    }
  }

  async write(mailboxKey: MailboxKey, entries: readonly PushedItemListEntry[]): Promise<void> {
    await writeAll(
      this.#doc,
      this.#table,
      entries.map((entry) => ({
        PutRequest: {
          Item: {
            pk: mailboxKey,
            sk: `${PREFIX}${entry.itemId}`,
            itemId: entry.itemId,
            notedAt: entry.notedAt,
            ...(entry.folderId === null ? {} : { folderId: entry.folderId }),
            ...(entry.viewedAt === undefined ? {} : { viewedAt: entry.viewedAt }),
          },
        },
      })),
    );
  }

  async forget(mailboxKey: MailboxKey, itemIds: readonly string[]): Promise<void> {
    await writeAll(
      this.#doc,
      this.#table,
      itemIds.map((itemId) => ({ DeleteRequest: { Key: { pk: mailboxKey, sk: `${PREFIX}${itemId}` } } })),
    );
  }
}

/** An entry, or undefined for one that is not (skipped: at worst an item is not checked). */
function parsePushedItemListEntry(item: Record<string, unknown>): PushedItemListEntry | undefined {
  const { itemId, folderId, notedAt, viewedAt } = item;
  if (typeof itemId !== 'string' || itemId === '' || typeof notedAt !== 'number') return undefined;
  return {
    itemId,
    folderId: typeof folderId === 'string' ? folderId : null,
    notedAt,
    ...(typeof viewedAt === 'number' ? { viewedAt } : {}),
  };
}
