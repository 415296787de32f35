import { Duration, Validations } from 'aws-cdk-lib';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface EventQueuesProps {
  /**
   * Receives before a message moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
}

/**
 * The ingest queue the receiver hands events to: FIFO, one message group per mailbox (order per
 * mailbox, parallelism across mailboxes), de-duplicated by the events' stable ids, with a FIFO
 * dead-letter queue so a poison message never blocks its mailbox silently.
 */
export class EventQueues extends Construct {
  readonly ingest: Queue;
  readonly ingestDeadLetters: Queue;

  constructor(scope: Construct, id: string, props: EventQueuesProps = {}) {
    super(scope, id);
    this.ingestDeadLetters = new Queue(this, 'IngestDeadLetters', {
      fifo: true,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.ingestDeadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue of the ingest queue; it is alarmed on, not redriven further.',
    });
    this.ingest = new Queue(this, 'Ingest', {
      fifo: true,
      contentBasedDeduplication: false,
      // High-throughput FIFO: de-duplication and throughput limits per mailbox, not per queue.
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(60),
      deadLetterQueue: { queue: this.ingestDeadLetters, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
  }
}
