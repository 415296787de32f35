import { Duration, Validations } from 'aws-cdk-lib';
import { Alias } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { FifoThroughputScope, Topic } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { type Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PROCESSOR_ENVIRONMENT } from '../functions/processor/environment.ts';
import { BridgeFunction } from './bridge-function.ts';
import { fifoQueue, PER_MAILBOX_THROUGHPUT } from './event-queues.ts';

export interface EventFanoutProps {
  /** The ingest FIFO queue the receiver and the lifecycle publish to. */
  readonly ingest: Queue;
  readonly logRetention: RetentionDays;
  /**
   * Processor instances at once (the event source's maximum concurrency, at least 2). Bounded so
   * a burst of events cannot take the account's concurrency from the receiver, whose throttled
   * answers Exchange would count as failures.
   * @default 5
   */
  readonly processorConcurrency?: number;
  /** The Exchange connections secret: enrichment (GetItem) reads it, and nothing else. */
  readonly connections: Secret;
}

/**
 * From the ingest queue to consumers: the processor forwards every event to an SNS FIFO topic,
 * and each consumer queue subscribed to the topic (with a filter policy if it wants only some
 * events) receives them in order per mailbox. The stack creates one consumer queue, `Events`;
 * subscribe more to `topic` for more consumers.
 */
export class EventFanout extends Construct {
  readonly topic: Topic;
  readonly events: Queue;
  readonly eventsDeadLetters: Queue;
  readonly processor: BridgeFunction;

  constructor(scope: Construct, id: string, props: EventFanoutProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', {
      fifo: true,
      contentBasedDeduplication: false,
      // De-duplication per message group (the ids are per mailbox anyway) lifts the topic-wide
      // 3,000 messages/s to the regional quota, for a mass catch-up after an outage.
      fifoThroughputScope: FifoThroughputScope.MESSAGE_GROUP,
      enforceSSL: true,
      // SNS decrypts before delivering to SQS, so the AWS managed key works with any subscriber.
      masterKey: Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      displayName: 'exchange-push-bridge events',
    });

    this.eventsDeadLetters = fifoQueue(this, 'EventsDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.eventsDeadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This is the dead-letter queue of the Events consumer queue; it is alarmed on, not redriven further.',
    });
    this.events = fifoQueue(this, 'Events', {
      contentBasedDeduplication: false,
      ...PER_MAILBOX_THROUGHPUT,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(60),
      deadLetterQueue: { queue: this.eventsDeadLetters, maxReceiveCount: 5 },
    });
    this.topic.addSubscription(new SqsSubscription(this.events, { rawMessageDelivery: true }));

    this.processor = new BridgeFunction(this, 'Processor', {
      folder: 'processor',
      environment: PROCESSOR_ENVIRONMENT,
      resources: { EVENTS_TOPIC_ARN: this.topic, CONNECTIONS_SECRET_ARN: props.connections },
      description:
        'exchange-push-bridge processor: enriches ingested events (GetItem) and forwards them to the events topic',
      serviceName: 'processor',
      logRetention: props.logRetention,
      timeout: Duration.seconds(30),
    });
    const fn = this.processor.fn;
    fn.addEventSource(
      new SqsEventSource(props.ingest, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: Math.max(2, props.processorConcurrency ?? 5),
      }),
    );
  }
}
