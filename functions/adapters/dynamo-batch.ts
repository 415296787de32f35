/**
 * BatchWriteItem for any number of requests: 25 per call (DynamoDB's limit), and what DynamoDB
 * leaves unprocessed under load sent again with a growing pause, until done or out of attempts.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export type WriteRequest =
  | { readonly PutRequest: { readonly Item: Record<string, unknown> } }
  | { readonly DeleteRequest: { readonly Key: Record<string, unknown> } };

const BATCH_LIMIT = 25;
const ATTEMPTS = 6;

export class UnprocessedWritesError extends Error {
  override readonly name = 'UnprocessedWritesError';
  constructor(table: string, left: number) {
    super(
      `DynamoDB left ${left} write(s) to ${table} unprocessed after ${ATTEMPTS} attempts (throttled); the caller fails so the work is retried`,
    );
  }
}

export async function writeAll(
  doc: DynamoDBDocumentClient,
  table: string,
  requests: readonly WriteRequest[],
): Promise<void> {
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += BATCH_LIMIT) batches.push(requests.slice(i, i + BATCH_LIMIT));
  await Promise.all(batches.map((batch) => writeBatch(doc, table, batch)));
}

async function writeBatch(
  doc: DynamoDBDocumentClient,
  table: string,
  batch: readonly WriteRequest[],
): Promise<void> {
  let pending: readonly WriteRequest[] = batch;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const { UnprocessedItems } = await doc.send(
      new BatchWriteCommand({ RequestItems: { [table]: [...pending] } }),
    );
    pending = (UnprocessedItems?.[table] ?? []).flatMap((r): WriteRequest[] => {
      if (r.PutRequest?.Item) return [{ PutRequest: { Item: r.PutRequest.Item } }];
      if (r.DeleteRequest?.Key) return [{ DeleteRequest: { Key: r.DeleteRequest.Key } }];
      return [];
    });
    if (pending.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
  }
  throw new UnprocessedWritesError(table, pending.length);
}
