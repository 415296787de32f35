/**
 * A stand-in for a Lambda SQS event source mapping: long-polls a queue, hands batches to a
 * handler as the `SQSEvent` Lambda would, deletes what succeeded, and leaves what failed (the
 * partial batch response) to reappear after the visibility timeout, until the queue's redrive
 * policy moves it to the dead-letter queue. Used by the local run and the tests.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type SqsBatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface PollerOptions {
  readonly queueUrl: string;
  readonly queueArn: string;
  /** @default 10 */
  readonly batchSize?: number;
  /** Long-poll wait per receive. @default 1 */
  readonly waitSeconds?: number;
  /**
   * Seconds before a failed message is offered again; by default the queue's visibility
   * timeout runs out as in Lambda. A shorter value speeds up local runs.
   */
  readonly retryAfterSeconds?: number;
  /**
   * Once a receive has found the queue empty after a short batch, wait this long (real ms) before
   * the next receive, so the next batch is fuller: a local-run knob (Lambda's FIFO event source
   * mapping has no batching window), because a receive + delete pair per message was half of the
   * local run's AWS calls (issue 16 profile). A short batch alone does not mean the queue is empty:
   * a FIFO receive brings few messages of few message groups even with a backlog, and waiting then
   * slowed a drain 20-fold. So after a short batch the poller asks again at once, without a long
   * poll, and waits the window only if that finds nothing. @default 0
   */
  readonly batchWindowMs?: number;
  /** How the window is waited (tests count the waits). @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Told about every batch (for counters and logs). */
  readonly onBatch?: (info: { received: number; failed: number; error?: unknown }) => void;
}

export class SqsPoller {
  readonly #sqs: SQSClient;
  readonly #handler: SqsBatchHandler;
  readonly #options: PollerOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  #abort = new AbortController();

  constructor(sqs: SQSClient, handler: SqsBatchHandler, options: PollerOptions) {
    this.#sqs = sqs;
    this.#handler = handler;
    this.#options = options;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    const windowMs = this.#options.batchWindowMs ?? 0;
    const sleep = this.#options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    this.#loop = (async () => {
      // Whether the last batch was short: the next receive then only looks (no long poll).
      let probing = false;
      while (this.#running) {
        try {
          const received = await this.pollOnce(probing ? 0 : undefined);
          if (windowMs <= 0) continue;
          if (probing && received === 0) {
            probing = false;
            await sleep(windowMs);
          } else {
            probing = received > 0 && received < (this.#options.batchSize ?? 10);
          }
        } catch (error) {
          if (!this.#running) break;
          this.#options.onBatch?.({ received: 0, failed: 0, error });
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    })();
  }

  /**
   * Stops after the batch under way. `finishReceive`: let a receive under way end by itself (at
   * most its long-poll wait) rather than abort it, so no message it is being handed sits invisible
   * until its visibility timeout runs out: for a poller stopped while the others go on.
   */
  async stop(options: { readonly finishReceive?: boolean } = {}): Promise<void> {
    this.#running = false;
    if (!options.finishReceive) this.#abort.abort();
    await this.#loop;
  }

  /**
   * One receive and one handler call. Returns how many messages were received. `waitSeconds`
   * overrides the option's long-poll wait for this receive.
   */
  async pollOnce(waitSeconds = this.#options.waitSeconds ?? 1): Promise<number> {
    const { Messages = [] } = await this.#sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#options.queueUrl,
        MaxNumberOfMessages: this.#options.batchSize ?? 10,
        WaitTimeSeconds: waitSeconds,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
      { abortSignal: this.#abort.signal },
    );
    if (Messages.length === 0) return 0;
    const event: SQSEvent = { Records: Messages.map((m) => this.#toRecord(m)) };
    let failedIds: Set<string>;
    let error: unknown;
    try {
      const response = await this.#handler(event);
      failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (e) {
      // A thrown handler fails the whole batch, as in Lambda.
      error = e;
      failedIds = new Set(Messages.map((m) => m.MessageId ?? ''));
    }
    const succeeded = Messages.filter((m) => !failedIds.has(m.MessageId ?? ''));
    const failed = Messages.filter((m) => failedIds.has(m.MessageId ?? ''));
    if (succeeded.length > 0) {
      await this.#sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#options.queueUrl,
          Entries: succeeded.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    const retryAfter = this.#options.retryAfterSeconds;
    if (failed.length > 0 && retryAfter !== undefined) {
      await this.#sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.#options.queueUrl,
          Entries: failed.map((m, i) => ({
            Id: `v${i}`,
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: retryAfter,
          })),
        }),
      );
    }
    this.#options.onBatch?.({ received: Messages.length, failed: failed.length, error });
    return Messages.length;
  }

  #toRecord(message: Message): SQSRecord {
    const attributes = message.Attributes ?? {};
    const messageAttributes: SQSRecord['messageAttributes'] = {};
    for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
      messageAttributes[name] = {
        dataType: value.DataType ?? 'String',
        ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      };
    }
    return {
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: {
        ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
        SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
        SenderId: attributes.SenderId ?? 'local',
        ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        ...(attributes.MessageGroupId === undefined ? {} : { MessageGroupId: attributes.MessageGroupId }),
        ...(attributes.MessageDeduplicationId === undefined
          ? {}
          : { MessageDeduplicationId: attributes.MessageDeduplicationId }),
        ...(attributes.SequenceNumber === undefined ? {} : { SequenceNumber: attributes.SequenceNumber }),
      },
      messageAttributes,
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.#options.queueArn,
      awsRegion: 'us-east-1',
    };
  }
}
