/**
 * What the sweeper hands the renewer through the renewals queue: one job per mailbox that needs
 * the lifecycle, and the mark the renewer leaves on errors only a person can fix (the sweeper
 * counts them, mailbox management shows them).
 */
import type { MailboxKey } from './mailbox-key.ts';
import type { WorkReason } from './policy.ts';
import type { SubscriptionState } from './subscription.ts';

/** One unit of work for the renewer: this mailbox, as of this generation, for this reason. */
export interface RenewalJob {
  readonly mailboxKey: MailboxKey;
  /** The generation the job was queued for; a renewer finding another one skips the job. */
  readonly generation: number;
  readonly reason: WorkReason;
}

export interface RenewalQueue {
  enqueue(jobs: readonly RenewalJob[]): Promise<void>;
  /** Queues a job to be delivered after `delayMs` (of the lifecycle's clock). */
  requeue(job: RenewalJob, delayMs: number): Promise<void>;
}

/** Errors that a retry cannot fix: the renewer stores them with this prefix. */
export const NEEDS_ATTENTION_PREFIX = 'needs attention: ';

/** A failed renewal attempt, as the mailbox's record keeps it (EWS and Graph alike). */
export interface RenewalFailure {
  readonly mailboxKey: MailboxKey;
  readonly generation: number;
  readonly state: SubscriptionState;
  readonly error: string;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly firstFailureAt: number | undefined;
  readonly lost: boolean;
  readonly now: number;
}
