import { CfnOutput, type Duration } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { Admin } from './admin.ts';
import { EventFanout } from './event-fanout.ts';
import { EventQueues } from './event-queues.ts';
import { Lifecycle, type LifecycleProps } from './lifecycle.ts';
import { Monitoring } from './monitoring.ts';
import { Receiver } from './receiver.ts';
import { SubscriptionTable } from './subscription-table.ts';

export interface ExchangePushBridgeProps {
  /**
   * How long the functions' and the API's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Steady-state requests per second the callback API accepts.
   * @default 200
   */
  readonly callbackRateLimit?: number;
  /**
   * Requests the callback API accepts in a burst.
   * @default 400
   */
  readonly callbackBurstLimit?: number;
  /**
   * Renewals running at once, across all mailboxes.
   * @default 5
   */
  readonly renewalConcurrency?: number;
  /**
   * Processor instances at once (at least 2): bounded so a burst of events cannot take the
   * account's concurrency from the receiver.
   * @default 5
   */
  readonly processorConcurrency?: number;
  /**
   * Concurrency reserved for the sweeper. Lambda refuses a reservation that leaves fewer than
   * 100 unreserved executions (new accounts often have a quota of 10 or 50 in all).
   * @default - none; overlapping sweeps are harmless
   */
  readonly sweeperReservedConcurrency?: number;
  /**
   * How old the oldest unread event in the `Events` queue may get before alarming.
   * @default Duration.days(1)
   */
  readonly eventsBacklogAge?: Duration;
  /**
   * Failed renewal attempts after which a subscription is declared lost.
   * @default 5
   */
  readonly lostAfterAttempts?: number;
  /**
   * Minutes without a subscription after which it is declared lost, whatever the attempts.
   * @default 30
   */
  readonly lostAfterMinutes?: number;
  /**
   * Hours between checkpoints of a healthy mailbox's folder SyncStates.
   * @default 24
   */
  readonly checkpointIntervalHours?: number;
  /**
   * E-mail address subscribed to the alarms (it must confirm the subscription).
   * @default - none; subscribe to the AlarmTopicArn output yourself
   */
  readonly alarmEmail?: string;
  /**
   * Stale subscriptions tolerated before alarming.
   * @default 0
   */
  readonly staleThreshold?: number;
}

/**
 * The whole bridge as one reusable construct: state, queues, the notification endpoint (and,
 * as the project grows, the lifecycle and alarms), each a construct of its own.
 */
export class ExchangePushBridge extends Construct {
  readonly state: SubscriptionTable;
  readonly queues: EventQueues;
  readonly receiver: Receiver;
  readonly fanout: EventFanout;
  readonly admin: Admin;
  readonly lifecycle: Lifecycle;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: ExchangePushBridgeProps = {}) {
    super(scope, id);
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    this.state = new SubscriptionTable(this, 'State');
    this.queues = new EventQueues(this, 'Queues');
    this.receiver = new Receiver(this, 'Receiver', {
      table: this.state.table,
      syncStates: this.state.syncStates,
      ingestQueue: this.queues.ingest,
      logRetention,
      ...(props.callbackRateLimit === undefined ? {} : { rateLimit: props.callbackRateLimit }),
      ...(props.callbackBurstLimit === undefined ? {} : { burstLimit: props.callbackBurstLimit }),
    });
    this.admin = new Admin(this, 'Admin', {
      table: this.state.table,
      syncStates: this.state.syncStates,
      ingestQueue: this.queues.ingest,
      callbackKey: this.receiver.callbackKey,
      callbackBaseUrl: this.receiver.callbackBaseUrl,
      logRetention,
    });
    this.fanout = new EventFanout(this, 'Fanout', {
      ingest: this.queues.ingest,
      logRetention,
      connections: this.admin.connections,
      ...(props.processorConcurrency === undefined
        ? {}
        : { processorConcurrency: props.processorConcurrency }),
    });
    const tuning: Partial<LifecycleProps> = {
      ...(props.renewalConcurrency === undefined ? {} : { renewalConcurrency: props.renewalConcurrency }),
      ...(props.sweeperReservedConcurrency === undefined
        ? {}
        : { sweeperReservedConcurrency: props.sweeperReservedConcurrency }),
      ...(props.lostAfterAttempts === undefined ? {} : { lostAfterAttempts: props.lostAfterAttempts }),
      ...(props.lostAfterMinutes === undefined ? {} : { lostAfterMinutes: props.lostAfterMinutes }),
      ...(props.checkpointIntervalHours === undefined
        ? {}
        : { checkpointIntervalHours: props.checkpointIntervalHours }),
    };
    this.lifecycle = new Lifecycle(this, 'Lifecycle', {
      table: this.state.table,
      syncStates: this.state.syncStates,
      ingestQueue: this.queues.ingest,
      callbackKey: this.receiver.callbackKey,
      connections: this.admin.connections,
      callbackBaseUrl: this.receiver.callbackBaseUrl,
      logRetention,
      ...tuning,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      functions: {
        Receiver: this.receiver.function.fn,
        Processor: this.fanout.processor.fn,
        Sweeper: this.lifecycle.sweeper.fn,
        Renewer: this.lifecycle.renewer.fn,
        Admin: this.admin.function.fn,
      },
      sweeper: this.lifecycle.sweeper.fn,
      deadLetterQueues: {
        Ingest: this.queues.ingestDeadLetters,
        Events: this.fanout.eventsDeadLetters,
        Renewals: this.lifecycle.renewalsDeadLetters,
      },
      ingestQueue: this.queues.ingest,
      renewalsQueue: this.lifecycle.renewals,
      eventsQueue: this.fanout.events,
      api: this.receiver.api,
      ...(props.alarmEmail === undefined ? {} : { alarmEmail: props.alarmEmail }),
      ...(props.staleThreshold === undefined ? {} : { staleThreshold: props.staleThreshold }),
      ...(props.eventsBacklogAge === undefined ? {} : { eventsBacklogAge: props.eventsBacklogAge }),
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.monitoring.alarmTopic.topicArn,
      description: 'Subscribe here to be told about alarms',
    });
  }
}
