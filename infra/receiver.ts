import { CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CALLBACK_ROUTE } from '../functions/domain/callback.ts';
import { GRAPH_LIFECYCLE_ROUTE, GRAPH_NOTIFICATION_ROUTE } from '../functions/domain/graph-mailbox.ts';
import { RECEIVER_ENVIRONMENT } from '../functions/receiver/environment.ts';
import { BridgeFunction } from './bridge-function.ts';

/**
 * What the callback API logs per request. Never the request path: it holds the callback token;
 * the route key is the template. (docs/cost.md prices one such line per push.)
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  method: '$context.httpMethod',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  integrationLatency: '$context.integrationLatency',
  responseLatency: '$context.responseLatency',
  integrationError: '$context.integrationErrorMessage',
} as const;

export interface ReceiverProps {
  readonly table: TableV2;
  /** Where the receiver keeps the pushed-item list (functions/domain/pushed-item-list.ts). */
  readonly syncStates: TableV2;
  readonly ingestQueue: Queue;
  readonly logRetention: RetentionDays;
  /**
   * Steady-state requests per second the callback API accepts (all mailboxes together).
   * @default 200
   */
  readonly rateLimit?: number;
  /**
   * Requests the callback API accepts in a burst.
   * @default 400
   */
  readonly burstLimit?: number;
}

/**
 * The notification endpoint: an HTTP API whose one route carries the mailbox key, generation and
 * HMAC token in its path, in front of the receiver function. The function may read and
 * conditionally update subscription records, batch-write the pushed-item list, send to the ingest
 * queue and read the signing key: nothing else.
 */
export class Receiver extends Construct {
  readonly api: HttpApi;
  readonly function: BridgeFunction;
  readonly callbackKey: Secret;
  /** The base URL callback URLs are built on (`{callbackBaseUrl}/ews/...`). */
  readonly callbackBaseUrl: string;

  constructor(scope: Construct, id: string, props: ReceiverProps) {
    super(scope, id);

    this.callbackKey = new Secret(this, 'CallbackKey', {
      description:
        'exchange-push-bridge: HMAC key for callback URL tokens. Changing it invalidates every callback URL.',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(this.callbackKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the callback key would invalidate the callback URL of every live Exchange subscription at once (Exchange keeps the URL it was given); rotation is a deliberate operation (renew all subscriptions), not a schedule.',
    });

    this.function = new BridgeFunction(this, 'Receiver', {
      folder: 'receiver',
      environment: RECEIVER_ENVIRONMENT,
      resources: {
        TABLE_NAME: props.table,
        SYNC_STATE_TABLE_NAME: props.syncStates,
        INGEST_QUEUE_URL: props.ingestQueue,
        CALLBACK_KEY_SECRET_ARN: this.callbackKey,
      },
      description: 'exchange-push-bridge receiver: answers EWS push and Microsoft Graph change notifications',
      serviceName: 'receiver',
      logRetention: props.logRetention,
      // Exchange's own timeout is undocumented; fail fast so it retries rather than waits.
      timeout: Duration.seconds(10),
    });
    const fn = this.function.fn;

    this.api = new HttpApi(this, 'Api', {
      description: 'exchange-push-bridge: EWS push notification callback',
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    const format = AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS));
    new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? 200, burstLimit: props.burstLimit ?? 400 },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format },
    });
    const [route] = this.api.addRoutes({
      path: CALLBACK_ROUTE,
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('ReceiverIntegration', fn),
    });
    if (route) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Exchange push requests carry no credentials and cannot be configured to; each callback URL holds an HMAC token of (mailbox key, generation) that the receiver checks in constant time before reading any state.',
      });
    }
    // Microsoft Graph: change notifications and lifecycle notifications, and the validation
    // requests of both (POST with ?validationToken=). One integration, the same function.
    const graphIntegration = new HttpLambdaIntegration('GraphIntegration', fn);
    for (const path of [GRAPH_NOTIFICATION_ROUTE, GRAPH_LIFECYCLE_ROUTE]) {
      const [graphRoute] = this.api.addRoutes({
        path,
        methods: [HttpMethod.POST],
        integration: graphIntegration,
      });
      if (graphRoute) {
        Validations.of(graphRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            "Microsoft Graph's webhooks carry no credentials and cannot be configured to; every notification item carries its subscription's clientState, an HMAC of (mailbox key, generation) the receiver checks in constant time before reading any state (403 when nothing verifies). Validation requests echo a token and read nothing.",
        });
      }
    }
    this.callbackBaseUrl = this.api.apiEndpoint;
    new CfnOutput(this, 'CallbackBaseUrl', {
      value: this.callbackBaseUrl,
      description:
        'Base URL of the EWS push callback (subscriptions use {base}/ews/{mailboxKey}/{generation}/{token})',
    });
  }
}
