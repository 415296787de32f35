import { Duration, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Alias } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BridgeFunction } from './bridge-function.ts';

export interface EventFanoutProps {
  /** The ingest FIFO queue the receiver and the lifecycle publish to. */
  readonly ingest: Queue;
  readonly logRetention: RetentionDays;
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
      enforceSSL: true,
      // SNS decrypts before delivering to SQS, so the AWS managed key works with any subscriber.
      masterKey: Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      displayName: 'exchange-push-bridge events',
    });

    this.eventsDeadLetters = new Queue(this, 'EventsDeadLetters', {
      fifo: true,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.eventsDeadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This is the dead-letter queue of the Events consumer queue; it is alarmed on, not redriven further.',
    });
    this.events = new Queue(this, 'Events', {
      fifo: true,
      contentBasedDeduplication: false,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(60),
      deadLetterQueue: { queue: this.eventsDeadLetters, maxReceiveCount: 5 },
    });
    this.topic.addSubscription(new SqsSubscription(this.events, { rawMessageDelivery: true }));

    this.processor = new BridgeFunction(this, 'Processor', {
      folder: 'processor',
      description: 'exchange-push-bridge processor: forwards ingested events to the events topic',
      serviceName: 'processor',
      logRetention: props.logRetention,
      timeout: Duration.seconds(30),
    });
    const fn = this.processor.fn;
    fn.addEnvironment('EVENTS_TOPIC_ARN', this.topic.topicArn);
    // sns:Publish on this topic only. No KMS grant: the AWS managed key's own policy lets any
    // principal of the account use it through SNS (topic.grantPublish would add kms:* on key/*).
    fn.addToRolePolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }));
    fn.addEventSource(new SqsEventSource(props.ingest, { batchSize: 10, reportBatchItemFailures: true }));
  }
}
