/**
 * The admin function's wiring, one for every host: Lambda (handler.ts) and the local run's admin
 * endpoint give the AWS clients, the secrets, the clock and the logger; the adapters and the
 * resources they work on are chosen here, once, from the admin function's environment.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { mailboxWatchAdapters } from '../adapters/mailbox-watch.ts';
import type { SecretSources } from '../adapters/secret-sources.ts';
import { SqsEventPublisher } from '../adapters/sqs-event-publisher.ts';
import type { EnvironmentRecord, FunctionHost } from '../core/host.ts';
import { ADMIN_ENVIRONMENT } from './environment.ts';
import { type AdminHandler, createAdminHandler } from './invoke.ts';

/** No metrics: an operator's command is answered to the operator, not counted. */
export interface AdminHost extends Omit<FunctionHost, 'metrics'> {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly secrets: SecretSources;
}

export function wireAdmin(env: EnvironmentRecord, host: AdminHost): AdminHandler {
  const read = ADMIN_ENVIRONMENT.read(env);
  const { records, syncStates, clients, graphClients, callbackBaseUrl, callbackKey } = mailboxWatchAdapters(
    read,
    host,
  );
  return createAdminHandler({
    records,
    syncStates,
    publisher: new SqsEventPublisher(host.sqs, read('INGEST_QUEUE_URL')),
    connectionNames: () => clients.names(),
    graphConnectionNames: () => graphClients.names(),
    graphSubscriptions: (name) => graphClients.client(name),
    callbackBaseUrl,
    callbackKey,
    clock: host.clock,
    logger: host.logger,
  });
}
