import { Duration, Lazy, Names, Validations } from 'aws-cdk-lib';
import {
  DeduplicationScope,
  FifoThroughputLimit,
  Queue,
  QueueEncryption,
  type QueueProps,
} from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** SQS's limit on a queue name, `.fifo` included. */
const MAX_QUEUE_NAME = 80;

/**
 * A FIFO queue named from its construct path, cut to fit SQS's 80 characters. Left unnamed,
 * CloudFormation makes up `<stack>-<logical id>-<random>.fifo` without keeping it within the
 * limit, so the bridge embedded in a stack with a long name would fail to deploy.
 */
export function fifoQueue(
  scope: Construct,
  id: string,
  props: Omit<QueueProps, 'fifo' | 'queueName'>,
): Queue {
  let queue: Queue | undefined;
  const name = Lazy.string({
    produce: () => {
      if (queue === undefined) throw new Error(`queue ${id} is named before it exists`);
      return Names.uniqueResourceName(queue, { maxLength: MAX_QUEUE_NAME - '.fifo'.length });
    },
  });
  queue = new Queue(scope, id, { ...props, fifo: true, queueName: `${name}.fifo` });
  return queue;
}

/**
 * High-throughput FIFO: de-duplication and the throughput quota per message group (per mailbox),
 * not per queue, so a mass catch-up of many mailboxes is not held to one queue's limit.
 */
export const PER_MAILBOX_THROUGHPUT = {
  deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
  fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
} as const;

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
    this.ingestDeadLetters = fifoQueue(this, 'IngestDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.ingestDeadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue of the ingest queue; it is alarmed on, not redriven further.',
    });
    this.ingest = fifoQueue(this, 'Ingest', {
      contentBasedDeduplication: false,
      ...PER_MAILBOX_THROUGHPUT,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(60),
      deadLetterQueue: { queue: this.ingestDeadLetters, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
  }
}
