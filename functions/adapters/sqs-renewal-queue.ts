/**
 * The renewals queue (standard SQS: per-message delays, no ordering needed, one job per mailbox
 * de-duplicated by the record rather than by the queue).
 */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { IamActions } from '../core/access.ts';
import type { Clock } from '../core/clock.ts';
import { parseMailboxKey } from '../domain/mailbox-key.ts';
import { WORK_REASONS } from '../domain/policy.ts';
import type { RenewalJob, RenewalQueue } from '../domain/renewal-job.ts';

/** IAM actions on the renewals queue (SendMessageBatch is authorized as SendMessage). */
export const SQS_RENEWAL_QUEUE_ACTIONS = ['sqs:SendMessage'] as const satisfies IamActions;

/** SQS's longest per-message delay. */
const MAX_DELAY_SECONDS = 900;

export class SqsRenewalQueue implements RenewalQueue {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;
  readonly #clock: Clock;

  constructor(sqs: SQSClient, queueUrl: string, clock: Clock) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
    this.#clock = clock;
  }

  async enqueue(jobs: readonly RenewalJob[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 10) {
      const batch = jobs.slice(i, i + 10);
      const { Failed = [] } = await this.#sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: batch.map((job, n) => ({ Id: `j${n}`, MessageBody: JSON.stringify(job) })),
        }),
      );
      if (Failed.length > 0) {
        // Not fatal: the sweeper finds the same mailboxes again next minute.
        throw new Error(
          `SQS refused ${Failed.length} renewal job(s) (${Failed[0]?.Code ?? '?'}); they are queued again by the next sweep`,
        );
      }
    }
  }

  async requeue(job: RenewalJob, delayMs: number): Promise<void> {
    // Delays are on the lifecycle's clock (scaled in the local run); SQS counts real seconds.
    const seconds = Math.min(
      MAX_DELAY_SECONDS,
      Math.max(0, Math.ceil(delayMs / this.#clock.timeScale / 1000)),
    );
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: JSON.stringify(job),
        DelaySeconds: seconds,
      }),
    );
  }
}

export class InvalidRenewalJobError extends Error {
  override readonly name = 'InvalidRenewalJobError';
  constructor(body: string) {
    super(
      `renewal job ${JSON.stringify(body.slice(0, 200))} is not {mailboxKey, generation, reason}; it is dropped (the sweeper queues real work again)`,
    );
  }
}

export function parseRenewalJob(body: string): RenewalJob {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new InvalidRenewalJobError(body);
  }
  if (typeof value !== 'object' || value === null) throw new InvalidRenewalJobError(body);
  const mailboxKey = parseMailboxKey(String(Reflect.get(value, 'mailboxKey')));
  const generation: unknown = Reflect.get(value, 'generation');
  const reason = WORK_REASONS.find((r) => r === Reflect.get(value, 'reason'));
  if (
    mailboxKey === undefined ||
    typeof generation !== 'number' ||
    !Number.isSafeInteger(generation) ||
    reason === undefined
  ) {
    throw new InvalidRenewalJobError(body);
  }
  return { mailboxKey, generation, reason };
}
