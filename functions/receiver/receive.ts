/**
 * What the receiver decides for each notification Exchange pushes, and the order in which it
 * makes that decision durable. Pure domain code: state and queue are ports.
 *
 * The rules (docs/architecture.md, "Rules that hold everywhere"):
 * - store before ack: events reach the queue and the state is written before OK is returned; any
 *   failure of ours throws, so the handler answers 500 and Exchange retries;
 * - a heartbeat costs one conditional write and no read; a failed condition is classified by
 *   reading the record afterwards;
 * - a notification with events reads the record first (so a retry of what was already taken
 *   publishes nothing), publishes and notes the items it says exist or are gone (the pushed-item
 *   list, domain/pushed-item-list.ts), then advances the watermark with a condition on the value
 *   read, which makes concurrent deliveries of the same notification safe;
 * - Unsubscribe only for a subscription that is not (or no longer) ours, never because we failed.
 */

import type { BridgeEvent } from '../../events/bridge-event.ts';
import type { Clock } from '../core/clock.ts';
import { hintAttributes } from '../domain/enrichment.ts';
import {
  type EventPublisher,
  isChangeEvent,
  toLifecycleCloudEvent,
  toNotificationCloudEvent,
} from '../domain/events.ts';
import type { MailboxKey } from '../domain/mailbox-key.ts';
import {
  hasPushedItemListChanges,
  type PushedItemListChanges,
  pushedItemListChanges,
} from '../domain/pushed-item-list.ts';
import type { RecoveryReason, SubscriptionRecord } from '../domain/subscription.ts';
import { lastWatermark, type Notification, type SubscriptionStatus } from '../ews/notification.ts';

/** The condition an update is made under. */
export type Expectation =
  /** The current subscription, at this stored watermark. */
  | { readonly kind: 'watermark'; readonly watermark: string }
  /** The current subscription, whatever the watermark (the push carried no PreviousWatermark). */
  | { readonly kind: 'subscription' }
  /**
   * The current generation with no SubscriptionId stored yet: the renewal race. The push's
   * PreviousWatermark is kept (`adoptedFrom`) for the renewal to check against Subscribe's answer:
   * only it knows where the chain starts. Until it has, the watermark stored before the adoption
   * is kept as the recovery watermark (unless one is there), so that a renewal that never
   * completes is retried from there: an adopted chain nobody checked cannot be resumed from.
   */
  | {
      readonly kind: 'adoption';
      readonly previousWatermark: string | null;
      readonly unconfirmedFallback: string | undefined;
    };

export interface AdvanceUpdate {
  readonly mailboxKey: MailboxKey;
  readonly generation: number;
  readonly subscriptionId: string;
  readonly expect: Expectation;
  /** The new last watermark; null leaves it as it is. */
  readonly watermark: string | null;
  readonly contactAt: number;
  /**
   * Set when the lifecycle must step in; an earlier recovery request is kept, not overwritten, but
   * the request is marked as made on `generation`: a renewal completing that generation (this
   * subscription was adopted before Subscribe answered) then keeps it instead of clearing it as
   * the request that led to the renewal.
   */
  readonly recovery?: { readonly reason: RecoveryReason; readonly watermark: string | undefined };
  /** The push said Exchange had nothing more queued: note its arrival (`contactAt`) as `drainedAt`. */
  readonly drained?: boolean;
}

export interface SubscriptionStore {
  /** Strongly consistent read of a mailbox's subscription record. */
  get(mailboxKey: MailboxKey): Promise<SubscriptionRecord | undefined>;
  /** The conditional write; false when the condition failed (someone else moved the record). */
  advance(update: AdvanceUpdate): Promise<boolean>;
}

/** The pushed-item list (domain/pushed-item-list.ts), as the receiver writes it. */
export interface PushedItemListWriter {
  /** Notes and forgets items durably, or throws. Safe to repeat. */
  record(mailboxKey: MailboxKey, changes: PushedItemListChanges, at: number): Promise<void>;
}

export interface ReceiveDeps {
  readonly store: SubscriptionStore;
  readonly publisher: EventPublisher;
  readonly pushedItemList: PushedItemListWriter;
  readonly clock: Clock;
}

/** The verified callback path: which mailbox and which generation of its subscription. */
export interface CallbackTarget {
  readonly mailboxKey: MailboxKey;
  readonly generation: number;
}

export type Decision =
  /** A StatusEvent (or an empty notification) from the current subscription. */
  | 'heartbeat'
  /** Events in order: published, watermark advanced. */
  | 'accepted'
  /** A retry of a notification already taken: nothing published. */
  | 'duplicate'
  /** Events arrived after a missed notification: published, recovery requested. */
  | 'gap'
  /** The renewal race: a new subscription spoke before its id was stored; it is now current. */
  | 'adopted'
  /** Exchange reported the subscription dead (error push): recovery requested. */
  | 'dead'
  /** Not ours (any more): answered Unsubscribe. */
  | 'unknownMailbox'
  | 'removed'
  | 'superseded'
  | 'stray';

export interface NotificationOutcome {
  readonly subscriptionId: string | null;
  readonly decision: Decision;
  readonly answer: SubscriptionStatus;
  readonly published: number;
  readonly responseClass: Notification['responseClass'];
  readonly responseCode: string | null;
}

export interface ReceiveResult {
  readonly answer: SubscriptionStatus;
  readonly outcomes: readonly NotificationOutcome[];
}

/** How often a write lost a race to a concurrent delivery before giving up (and answering 500). */
const MAX_ATTEMPTS = 4;

export class ReceiveConflictError extends Error {
  override readonly name = 'ReceiveConflictError';
  constructor(mailboxKey: string, attempts: number) {
    super(
      `the subscription record of mailbox ${mailboxKey} changed under ${attempts} consecutive attempts; answering 500 so Exchange retries`,
    );
  }
}

export async function receive(
  target: CallbackTarget,
  notifications: readonly Notification[],
  deps: ReceiveDeps,
): Promise<ReceiveResult> {
  const outcomes: NotificationOutcome[] = [];
  for (const notification of notifications) outcomes.push(await receiveOne(target, notification, deps));
  // One answer covers the whole POST. Unsubscribe only if every part of it is not ours: killing
  // a live subscription loses changes, keeping a stray one only costs a few pushes.
  const answer = outcomes.every((o) => o.answer === 'Unsubscribe') ? 'Unsubscribe' : 'OK';
  return { answer, outcomes };
}

async function receiveOne(
  target: CallbackTarget,
  notification: Notification,
  deps: ReceiveDeps,
): Promise<NotificationOutcome> {
  const outcome = (decision: Decision, published = 0): NotificationOutcome => ({
    subscriptionId: notification.subscriptionId,
    decision,
    answer: isUnsubscribe(decision) ? 'Unsubscribe' : 'OK',
    published,
    responseClass: notification.responseClass,
    responseCode: notification.responseCode,
  });
  const changes = notification.events.filter(isChangeEvent);
  const subscriptionId = notification.subscriptionId;
  const now = deps.clock.now();

  if (isErrorPush(notification)) return outcome(await markDead(target, notification, deps, now));
  if (subscriptionId === null) return outcome('heartbeat'); // unreachable: the decoder requires it with a Notification

  const last = lastWatermark(notification);
  const itemChanges = pushedItemListChanges(changes);
  if (changes.length === 0) {
    // The hot path: one conditional write, no read.
    const applied = await deps.store.advance({
      ...target,
      subscriptionId,
      expect: expectationFor(notification.previousWatermark),
      watermark: last,
      contactAt: now,
      drained: isDrained(notification),
    });
    if (applied) return outcome('heartbeat');
  }

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const record = await deps.store.get(target.mailboxKey);
    const verdict = classify(target, notification, subscriptionId, last, record);
    if (verdict.kind === 'final') return outcome(verdict.decision);
    const { decision, update, record: current } = verdict;
    const events: BridgeEvent[] = changes.map((event, index) =>
      toNotificationCloudEvent({
        mailbox: current.mailbox,
        mailboxKey: target.mailboxKey,
        subscriptionId,
        notification,
        event,
        index,
        receivedAt: now,
      }),
    );
    if (decision === 'gap') {
      // Consumers learn of the gap in order, before the events that follow it.
      events.unshift(
        toLifecycleCloudEvent({
          mailbox: current.mailbox,
          mailboxKey: target.mailboxKey,
          kind: 'gap-detected',
          generation: target.generation,
          subscriptionId,
          previousSubscriptionId: null,
          detail: `PreviousWatermark ${notification.previousWatermark ?? '(none)'} does not follow the stored watermark ${current.watermark ?? '(none)'}: a notification was missed; recovery resumes from the stored one`,
          at: now,
          discriminator: `${current.watermark ?? ''}>${notification.previousWatermark ?? ''}`,
        }),
      );
    }
    await Promise.all([
      // The mailbox's connection and enrichment setting ride along (domain/enrichment.ts): the
      // processor needs no read of the record to enrich these events.
      events.length > 0
        ? deps.publisher.publish(target.mailboxKey, events, hintAttributes(current))
        : undefined,
      hasPushedItemListChanges(itemChanges)
        ? deps.pushedItemList.record(target.mailboxKey, itemChanges, now)
        : undefined,
    ]);
    const applied = await deps.store.advance({
      ...target,
      subscriptionId,
      watermark: last,
      contactAt: now,
      ...update,
      // Out of order, it proves nothing about what came before.
      drained: decision !== 'gap' && isDrained(notification),
    });
    if (applied)
      return outcome(
        changes.length === 0 && decision === 'accepted' ? 'heartbeat' : decision,
        changes.length,
      );
    // Lost a race (typically the same notification delivered twice at once): look again. What we
    // published carries the same de-duplication ids, so publishing it again cannot double it, and
    // noting the same items again changes nothing.
  }
  throw new ReceiveConflictError(target.mailboxKey, MAX_ATTEMPTS);
}

type Verdict =
  | { readonly kind: 'final'; readonly decision: Decision }
  | {
      readonly kind: 'apply';
      readonly decision: Decision;
      readonly record: SubscriptionRecord;
      readonly update: Pick<AdvanceUpdate, 'expect' | 'recovery'>;
    };

/**
 * Places a notification against the stored record. Exported for unit tests: this table is the
 * heart of the receiver.
 */
export function classify(
  target: CallbackTarget,
  notification: Notification,
  subscriptionId: string,
  last: string | null,
  record: SubscriptionRecord | undefined,
): Verdict {
  if (record === undefined) return { kind: 'final', decision: 'unknownMailbox' };
  if (record.state === 'removed') return { kind: 'final', decision: 'removed' };
  // An older generation is a subscription we replaced. A newer one than we know cannot be ours.
  if (target.generation < record.generation) return { kind: 'final', decision: 'superseded' };
  if (target.generation > record.generation) return { kind: 'final', decision: 'unknownMailbox' };
  if (record.subscriptionId === undefined) {
    return {
      kind: 'apply',
      decision: 'adopted',
      record,
      update: {
        expect: {
          kind: 'adoption',
          previousWatermark: notification.previousWatermark,
          unconfirmedFallback: record.watermark,
        },
      },
    };
  }
  // Each Subscribe gets its own generation, so two subscriptions on one generation means a
  // stray (e.g. created by a request whose answer never arrived); keep the one we know.
  if (record.subscriptionId !== subscriptionId) return { kind: 'final', decision: 'stray' };
  const stored = record.watermark;
  const previous = notification.previousWatermark;
  const expect: Expectation =
    stored === undefined ? { kind: 'subscription' } : { kind: 'watermark', watermark: stored };
  if (previous === null || stored === undefined || previous === stored) {
    return { kind: 'apply', decision: 'accepted', record, update: { expect } };
  }
  if (last !== null && last === stored) return { kind: 'final', decision: 'duplicate' };
  return {
    kind: 'apply',
    decision: 'gap',
    record,
    update: { expect, recovery: { reason: 'gap', watermark: stored } },
  };
}

/** ErrorReadEventsFailed and its kind: a push that says the subscription is gone. */
function isErrorPush(notification: Notification): boolean {
  return notification.responseClass === 'Error' && notification.events.length === 0;
}

async function markDead(
  target: CallbackTarget,
  notification: Notification,
  deps: ReceiveDeps,
  now: number,
): Promise<Decision> {
  const record = await deps.store.get(target.mailboxKey);
  if (record === undefined) return 'unknownMailbox';
  if (record.state === 'removed') return 'removed';
  if (target.generation < record.generation) return 'superseded';
  if (target.generation > record.generation) return 'unknownMailbox';
  const subscriptionId = notification.subscriptionId ?? record.subscriptionId;
  // An error push for a subscription we never stored cannot be acted on; it is dead anyway.
  if (subscriptionId === undefined || subscriptionId !== record.subscriptionId) return 'stray';
  const applied = await deps.store.advance({
    ...target,
    subscriptionId,
    expect: { kind: 'subscription' },
    watermark: null,
    contactAt: now,
    recovery: { reason: 'dead', watermark: record.watermark },
  });
  if (!applied) throw new ReceiveConflictError(target.mailboxKey, 1);
  return 'dead';
}

/**
 * Whether the push says Exchange's queue for the subscription was empty: MoreEvents false, or
 * (MoreEvents being optional) a StatusEvent, which Exchange sends only when nothing is queued
 * (ews-protocol.md §2).
 */
function isDrained(notification: Notification): boolean {
  return (
    notification.moreEvents === false ||
    (notification.moreEvents === null && notification.events.some((event) => event.type === 'StatusEvent'))
  );
}

function expectationFor(previousWatermark: string | null): Expectation {
  return previousWatermark === null
    ? { kind: 'subscription' }
    : { kind: 'watermark', watermark: previousWatermark };
}

function isUnsubscribe(decision: Decision): boolean {
  return (
    decision === 'unknownMailbox' ||
    decision === 'removed' ||
    decision === 'superseded' ||
    decision === 'stray'
  );
}
