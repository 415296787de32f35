/**
 * What the two functions that start a mailbox's watch (admin's `add`, the renewer's Subscribe)
 * both wire, from the same variables: the subscription record and the folder SyncStates in their
 * tables, the mailbox's Exchange connection, and the callback URL a subscription is given (its
 * base and signing key). Each function's own grants on those resources stay in its
 * environment.ts; only the construction is shared.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CallbackKey } from '../domain/callback.ts';
import type { ExchangeClients } from './exchange-clients.ts';
import type { GraphClients } from './graph-clients.ts';
import type { SecretSources } from './secret-sources.ts';
import { DynamoSubscriptionStore, documentClient } from './subscription-table.ts';
import { DynamoSyncStateStore } from './sync-state-table.ts';

/** The variables a mailbox's watch is wired from. */
export type MailboxWatchVariable =
  | 'TABLE_NAME'
  | 'SYNC_STATE_TABLE_NAME'
  | 'CONNECTIONS_SECRET_ARN'
  | 'CALLBACK_KEY_SECRET_ARN'
  | 'CALLBACK_BASE_URL';

export interface MailboxWatchAdapters {
  /** The DynamoDB document client the tables share (for a function's further tables). */
  readonly doc: ReturnType<typeof documentClient>;
  readonly records: DynamoSubscriptionStore;
  readonly syncStates: DynamoSyncStateStore;
  readonly clients: ExchangeClients;
  /** Graph clients for the Graph connections of the same secret (Graph mailboxes). */
  readonly graphClients: GraphClients;
  readonly callbackBaseUrl: string;
  readonly callbackKey: () => Promise<CallbackKey>;
}

export function mailboxWatchAdapters(
  read: (name: MailboxWatchVariable) => string,
  host: { readonly dynamodb: DynamoDBClient; readonly secrets: SecretSources },
): MailboxWatchAdapters {
  const doc = documentClient(host.dynamodb);
  return {
    doc,
    records: new DynamoSubscriptionStore(doc, read('TABLE_NAME')),
    syncStates: new DynamoSyncStateStore(doc, read('SYNC_STATE_TABLE_NAME')),
    clients: host.secrets.exchangeClients(read('CONNECTIONS_SECRET_ARN')),
    graphClients: host.secrets.graphClients(read('CONNECTIONS_SECRET_ARN')),
    callbackBaseUrl: read('CALLBACK_BASE_URL'),
    callbackKey: host.secrets.callbackKey(read('CALLBACK_KEY_SECRET_ARN')),
  };
}
