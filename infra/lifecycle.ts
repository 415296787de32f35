import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PolicyVariable } from '../functions/domain/config.ts';
import { RENEWER_ENVIRONMENT } from '../functions/renewer/environment.ts';
import { SWEEPER_ENVIRONMENT } from '../functions/sweeper/environment.ts';
import { BridgeFunction } from './bridge-function.ts';

export interface LifecycleProps {
  readonly table: TableV2;
  readonly syncStates: TableV2;
  readonly ingestQueue: Queue;
  readonly callbackKey: Secret;
  readonly connections: Secret;
  readonly callbackBaseUrl: string;
  readonly logRetention: RetentionDays;
  /**
   * Renewals running at once, across all mailboxes. Each makes EWS calls; Exchange Online allows
   * 27 concurrent EWS connections per account, shared with everything else using it.
   * @default 5
   */
  readonly renewalConcurrency?: number;
  /**
   * Failed renewal attempts after which a subscription is declared lost (alarm, lifecycle event).
   * @default 5
   */
  readonly lostAfterAttempts?: number;
  /**
   * Minutes without a subscription after which it is declared lost, whatever the attempts.
   * @default 30
   */
  readonly lostAfterMinutes?: number;
  /**
   * Seconds added to 2 x StatusFrequency before a silent subscription is renewed.
   * @default 60
   */
  readonly staleSlackSeconds?: number;
  /**
   * Hours between checkpoints of a healthy mailbox's folder SyncStates. Shorter keeps the
   * pushed-item list smaller and a catch-up shorter, for a few SyncFolderItems calls per mailbox
   * each time (docs/how-it-works.md, "Checkpoints").
   * @default 24
   */
  readonly checkpointIntervalHours?: number;
  /**
   * Concurrency reserved for the sweeper. Not needed for correctness: sweeps that overlap queue
   * the same mailboxes twice at most, and the renewer skips a job whose record says it is not
   * due. Lambda refuses any reservation that leaves fewer than 100 unreserved executions, so on
   * an account with a concurrency quota of 10 or 50 this fails the deploy.
   * @default - none
   */
  readonly sweeperReservedConcurrency?: number;
}

/**
 * Keeping every subscription alive: a sweeper, run every minute by EventBridge Scheduler, finds
 * subscriptions that are silent, damaged, failed or owed a folder sync, and queues one renewal
 * job per mailbox; the renewer resubscribes (resuming from the watermark, or fresh plus a
 * SyncFolderItems catch-up) with bounded concurrency.
 */
export class Lifecycle extends Construct {
  readonly renewals: Queue;
  readonly renewalsDeadLetters: Queue;
  readonly sweeper: BridgeFunction;
  readonly renewer: BridgeFunction;
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: LifecycleProps) {
    super(scope, id);
    const renewerTimeout = Duration.minutes(5);

    this.renewalsDeadLetters = new Queue(this, 'RenewalsDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.renewalsDeadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This is the dead-letter queue of the renewals queue; it is alarmed on. The sweeper queues the work again anyway.',
    });
    this.renewals = new Queue(this, 'Renewals', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      // Lambda's advice: six times the function timeout, so a slow batch is not delivered twice.
      visibilityTimeout: Duration.minutes(30),
      deadLetterQueue: { queue: this.renewalsDeadLetters, maxReceiveCount: 5 },
    });

    const hours = props.checkpointIntervalHours;
    if (hours !== undefined && (!Number.isSafeInteger(hours) || hours < 1))
      throw new RangeError(
        `checkpointIntervalHours=${hours} must be a whole number of hours, at least 1 (default 24)`,
      );
    // The lifecycle policy both functions read (functions/domain/config.ts); unset, its default.
    const policy: { readonly [K in PolicyVariable]?: string | undefined } = {
      LOST_AFTER_ATTEMPTS: numberOrUndefined(props.lostAfterAttempts),
      LOST_AFTER_MINUTES: numberOrUndefined(props.lostAfterMinutes),
      STALE_SLACK_SECONDS: numberOrUndefined(props.staleSlackSeconds),
      CHECKPOINT_INTERVAL_MINUTES: numberOrUndefined(hours === undefined ? undefined : hours * 60),
    };

    this.sweeper = new BridgeFunction(this, 'Sweeper', {
      folder: 'sweeper',
      description: 'exchange-push-bridge sweeper: finds subscriptions that need renewal, every minute',
      serviceName: 'sweeper',
      logRetention: props.logRetention,
      timeout: Duration.seconds(50),
      memorySize: 512,
      ...(props.sweeperReservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: props.sweeperReservedConcurrency }),
      environment: SWEEPER_ENVIRONMENT,
      resources: { TABLE_NAME: props.table, RENEWALS_QUEUE_URL: this.renewals },
      optional: policy,
    });
    const sweeper = this.sweeper.fn;
    const schedulerRole = new Role(this, 'SchedulerRole', {
      // Only schedules of this account may use the role (the confused-deputy guard AWS advises).
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'exchange-push-bridge: lets EventBridge Scheduler invoke the sweeper',
    });
    this.schedule = new Schedule(this, 'EveryMinute', {
      schedule: ScheduleExpression.rate(Duration.minutes(1)),
      // A missed minute is not retried: the next sweep covers it.
      target: new LambdaInvoke(sweeper, {
        role: schedulerRole,
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      }),
      description: 'exchange-push-bridge: sweep subscriptions every minute',
    });
    // The target's grant is the role's default policy; without this the schedule can exist, and
    // fire, before the policy does, and its first invocations are denied.
    this.schedule.node.addDependency(schedulerRole);
    const sweeperResource = sweeper.node.defaultChild;
    if (!(sweeperResource instanceof CfnFunction))
      throw new Error('the sweeper has no CfnFunction to name in an acknowledgement');
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(sweeperResource)}.Arn>:*]`,
      reason:
        'The scheduler target grants lambda:InvokeFunction on the sweeper and on its versions (<arn>:*); the wildcard covers qualifiers of this one function only.',
    });

    this.renewer = new BridgeFunction(this, 'Renewer', {
      folder: 'renewer',
      description: 'exchange-push-bridge renewer: renews lost subscriptions and catches up on missed changes',
      serviceName: 'renewer',
      logRetention: props.logRetention,
      timeout: renewerTimeout,
      memorySize: 512,
      environment: RENEWER_ENVIRONMENT,
      settings: { CALLBACK_BASE_URL: props.callbackBaseUrl },
      optional: policy,
      resources: {
        TABLE_NAME: props.table,
        SYNC_STATE_TABLE_NAME: props.syncStates,
        INGEST_QUEUE_URL: props.ingestQueue,
        RENEWALS_QUEUE_URL: this.renewals,
        CALLBACK_KEY_SECRET_ARN: props.callbackKey,
        CONNECTIONS_SECRET_ARN: props.connections,
      },
    });
    const renewer = this.renewer.fn;
    renewer.addEventSource(
      new SqsEventSource(this.renewals, {
        batchSize: 5,
        reportBatchItemFailures: true,
        maxConcurrency: Math.max(2, props.renewalConcurrency ?? 5),
      }),
    );
  }
}

function numberOrUndefined(value: number | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}
