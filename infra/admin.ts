import { CfnOutput, Duration, SecretValue, Validations } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ADMIN_ENVIRONMENT } from '../functions/admin/environment.ts';
import { BridgeFunction } from './bridge-function.ts';

export interface AdminProps {
  readonly table: TableV2;
  readonly syncStates: TableV2;
  /** Where the created/removed lifecycle events go. */
  readonly ingestQueue: Queue;
  readonly callbackKey: Secret;
  readonly callbackBaseUrl: string;
  readonly logRetention: RetentionDays;
}

/**
 * The operators' side: the Exchange connections secret (EWS URLs and credentials, filled in after
 * deploy) and the admin function the `mailboxes` CLI invokes with the operator's IAM identity.
 * The function is not reachable from the internet; only principals allowed lambda:InvokeFunction
 * on it can manage mailboxes.
 */
export class Admin extends Construct {
  readonly connections: Secret;
  readonly function: BridgeFunction;

  constructor(scope: Construct, id: string, props: AdminProps) {
    super(scope, id);
    this.connections = new Secret(this, 'ExchangeConnections', {
      description:
        'exchange-push-bridge: Exchange connections (EWS URL + credentials) as JSON; see README "Exchange connections". Starts empty.',
      // An empty object: no credential is ever in the template; operators put the real value.
      secretStringValue: SecretValue.unsafePlainText('{}'),
    });
    Validations.of(this.connections).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The secret holds credentials issued by Entra ID or Active Directory; they are rotated there and the new value is put here (the bridge re-reads it within 5 minutes). A rotation Lambda cannot mint them.',
    });

    this.function = new BridgeFunction(this, 'Admin', {
      folder: 'admin',
      environment: ADMIN_ENVIRONMENT,
      settings: { CALLBACK_BASE_URL: props.callbackBaseUrl },
      resources: {
        TABLE_NAME: props.table,
        // Folder SyncStates: listed by `show`, deleted by `remove`.
        SYNC_STATE_TABLE_NAME: props.syncStates,
        INGEST_QUEUE_URL: props.ingestQueue,
        CALLBACK_KEY_SECRET_ARN: props.callbackKey,
        CONNECTIONS_SECRET_ARN: this.connections,
      },
      description: 'exchange-push-bridge admin: adds, removes, lists and shows watched mailboxes',
      serviceName: 'admin',
      logRetention: props.logRetention,
      // Adding a mailbox waits for Exchange (and, with catch-up, pages through its folders).
      timeout: Duration.minutes(5),
      memorySize: 512,
    });
    const fn = this.function.fn;

    new CfnOutput(this, 'AdminFunctionName', {
      value: fn.functionName,
      description: 'Invoked by `npm run mailboxes` to add, remove, list and show mailboxes',
    });
    new CfnOutput(this, 'ConnectionsSecretArn', {
      value: this.connections.secretArn,
      description: 'Put the Exchange connections JSON here (aws secretsmanager put-secret-value)',
    });
  }
}
