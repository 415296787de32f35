/**
 * The subscription record: one per watched mailbox, written on every heartbeat, so kept small.
 * It says which Exchange subscription is current (SubscriptionId + generation), where the event
 * chain stands (Watermark), when Exchange last spoke (lastContactAt), and what the lifecycle must
 * do next.
 */
import type { FolderRef } from '../ews/request.ts';
import type { SubscribableEventType } from '../ews/subscribe.ts';
import type { EnrichMode } from './enrichment.ts';
import type { GraphMailboxState, GraphResourceKind, GraphWork, MailboxSource } from './graph-mailbox.ts';
import type { MailboxKey } from './mailbox-key.ts';

/**
 * - `subscribing`: the mailbox was just added; the lifecycle is taking its baseline and then its
 *   first subscription, or an attempt failed and is retried.
 * - `active`: a subscription is current and speaking.
 * - `renewing`: the lifecycle is replacing the subscription (stale, gap, error push).
 * - `lost`: renewal failed repeatedly; still retried slowly, and alarmed on.
 * - `removed`: the mailbox is no longer watched; any push for it is answered Unsubscribe.
 */
export type SubscriptionState = 'subscribing' | 'active' | 'renewing' | 'lost' | 'removed';

/** Why the lifecycle must replace the subscription although it may still be speaking. */
export type RecoveryReason =
  /** A PreviousWatermark did not match the stored watermark: a notification was missed. */
  | 'gap'
  /** Exchange said the subscription is dead (an error push such as ErrorReadEventsFailed). */
  | 'dead';

/**
 * Folder synchronization the lifecycle owes the mailbox, with the current subscription:
 * - `baseline`: record where each folder stands (SyncState) before the mailbox's first
 *   subscription, so a catch-up after any loss reports every change made since that
 *   subscription (records an earlier version subscribed first owe it while active);
 * - `catchUp`: a subscription was replaced from scratch; report what changed while it was gone.
 */
export type SyncWork = 'baseline' | 'catchUp';

export interface SubscriptionRecord {
  readonly mailboxKey: MailboxKey;
  readonly mailbox: string;
  /** Name of the Exchange connection (EWS URL + credentials) the mailbox is reached through. */
  readonly connection: string;
  /**
   * Where changes come from, after the kind of `connection`; absent: EWS (records from before
   * Graph). A Graph mailbox has no heartbeat, watermark or SubscriptionId at the top level: its
   * subscriptions are in `graph` (domain/graph-mailbox.ts), and `statusFrequency` is 0.
   */
  readonly source?: MailboxSource;
  /** The Graph subscriptions of a Graph mailbox. */
  readonly graph?: GraphMailboxState;
  /** Graph: work lifecycle notifications asked for, per resource (the receiver adds, the renewer removes). */
  readonly graphWork?: Partial<Record<GraphResourceKind, readonly GraphWork[]>>;
  /**
   * Graph: how many work requests the receiver has written (each adds 1). `graphWork` is a set, so
   * a second `subscriptionRemoved` or `missed` arriving while a job does the first adds nothing to
   * it; the renewer removes the work it did only if this is still what it read, else it leaves the
   * work owed and the next job does it again (renewer/graph-lifecycle.ts).
   */
  readonly graphWorkRequests?: number;
  /** Graph: subscriptions of older generations that still notify, to be deleted. */
  readonly graphObsolete?: readonly string[];
  /** `'all'` or the folders subscribed to. */
  readonly folders: 'all' | readonly FolderRef[];
  readonly eventTypes: readonly SubscribableEventType[];
  /** How much of each changed item events carry (domain/enrichment.ts); absent: the deployment's default. */
  readonly enrich?: EnrichMode;
  /** Extra FieldURIs to read for this mailbox's events. */
  readonly enrichFields?: readonly string[];
  /** Minutes between StatusEvent heartbeats when nothing happens. */
  readonly statusFrequency: number;
  readonly state: SubscriptionState;
  /** Bumped for every new subscription; part of the callback URL. */
  readonly generation: number;
  /** The current subscription; absent while a Subscribe for `generation` has not answered yet. */
  readonly subscriptionId?: string;
  /**
   * The PreviousWatermark of the push that adopted the current subscription before its Subscribe
   * answered (functions/receiver/receive.ts). The renewal compares it with the answer's watermark,
   * where the subscription's chain starts: if they differ, a notification was missed in between.
   * Present only from the adoption until the renewal completes.
   */
  readonly adoptedFrom?: string;
  /** The last watermark taken (from an event or a StatusEvent). */
  readonly watermark?: string;
  /** When the current subscription last pushed anything (epoch ms). */
  readonly lastContactAt?: number;
  /**
   * Recovery requested (by the receiver, or by a renewal that found its adopted chain broken). The
   * first request's reason, watermark and time are kept until a renewal clears them: they stand
   * for the earliest trouble not yet recovered from.
   */
  readonly recovery?: RecoveryReason;
  /** The watermark before the gap or death: where a resubscription resumes. */
  readonly recoveryWatermark?: string;
  readonly recoveryAt?: number;
  /**
   * The generation the latest recovery request was made on (the receiver's writes are made at the
   * record's generation, so this only grows). A renewal completing generation G clears requests
   * made on earlier generations (the one that led to it: its Subscribe resumed from
   * `recoveryWatermark`), but keeps one made on G itself: the new subscription missed a
   * notification after the renewal began, which its Subscribe could not have covered. Absent on
   * requests written before this attribute existed: cleared, as they always were.
   */
  readonly recoveryGeneration?: number;
  /** Folder synchronization still owed (see SyncWork). */
  readonly syncWork?: SyncWork;
  /** Why the pending catch-up runs: the watermark could not be used. */
  readonly syncReason?: 'watermarkExpired' | 'watermarkRejected' | 'noWatermark';
  /** Consecutive failed renewal attempts. */
  readonly attempts: number;
  /** When the lifecycle should try again (epoch ms). */
  readonly nextAttemptAt?: number;
  /** The last renewal failure, for operators. */
  readonly lastError?: string;
  /** When the current run of failures began (epoch ms): how long the mailbox has been without a subscription. */
  readonly firstFailureAt?: number;
  /** When the subscription was declared lost (epoch ms). */
  readonly lostAt?: number;
  /** When the sweeper last queued work for this mailbox (epoch ms): keeps it from queueing twice. */
  readonly renewalQueuedAt?: number;
  /**
   * When the receiver last accepted, in order, a push that said Exchange had nothing more queued
   * (MoreEvents false, or a StatusEvent, which Exchange sends only when its queue is empty), by the
   * receiver's clock (epoch ms). Such a push proves every change made before it was built has been
   * delivered. The checkpoint (renewer/checkpoint.ts) reads it; only the receiver's advance sets
   * it, in the write it makes anyway. A time, not a count: one push delivered twice (Exchange's
   * retry after a lost answer, the SDK's retry of a write that had succeeded) is indistinguishable
   * from two idle heartbeats, which carry the same watermarks, so a count could be inflated.
   */
  readonly drainedAt?: number;
  /** When the next checkpoint of the folder SyncStates is due (epoch ms); unset until the baseline. */
  readonly checkpointDueAt?: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}
