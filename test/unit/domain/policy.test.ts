import { describe, expect, it } from 'vitest';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import {
  DEFAULT_POLICY,
  firstCheckpointAt,
  graphDeliverySpanMs,
  isLost,
  nextCheckpointAt,
  retryDelay,
  shouldQueue,
  staleAt,
  workFor,
} from '../../../functions/domain/policy.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';

const MINUTE = 60_000;
const now = Date.UTC(2026, 10, 21, 12, 0, 0);
const record = (fields: Partial<SubscriptionRecord> = {}): SubscriptionRecord => ({
  mailboxKey: mailboxKeyOf('ada@contoso.test'),
  mailbox: 'ada@contoso.test',
  connection: 'exo',
  folders: 'all',
  eventTypes: ['CreatedEvent'],
  statusFrequency: 5,
  state: 'active',
  generation: 3,
  subscriptionId: 'S3',
  watermark: 'W',
  lastContactAt: now - MINUTE,
  attempts: 0,
  createdAt: now - 60 * MINUTE,
  updatedAt: now - MINUTE,
  ...fields,
});

describe('lifecycle policy', () => {
  it('calls a subscription stale after 2 x StatusFrequency plus the slack, and not a moment before', () => {
    const lastContactAt = now - 2 * 5 * MINUTE - DEFAULT_POLICY.staleSlackMs;
    expect(staleAt(record({ lastContactAt }), DEFAULT_POLICY)).toBe(now);
    expect(workFor(record({ lastContactAt }), now, DEFAULT_POLICY)).toBeNull();
    expect(workFor(record({ lastContactAt: lastContactAt - 1 }), now, DEFAULT_POLICY)).toBe('stale');
    // StatusFrequency scales it: 30 minutes tolerates an hour of silence.
    expect(
      workFor(record({ statusFrequency: 30, lastContactAt: now - 59 * MINUTE }), now, DEFAULT_POLICY),
    ).toBeNull();
  });

  it('acts at once on a gap or an error push, even while the subscription still speaks', () => {
    expect(workFor(record({ recovery: 'gap' }), now, DEFAULT_POLICY)).toBe('gap');
    expect(workFor(record({ recovery: 'dead' }), now, DEFAULT_POLICY)).toBe('dead');
  });

  it('retries failed and in-flight subscriptions when due, leaving a fresh in-flight one alone', () => {
    expect(workFor(record({ state: 'renewing', nextAttemptAt: now + 1 }), now, DEFAULT_POLICY)).toBeNull();
    expect(workFor(record({ state: 'lost', nextAttemptAt: now }), now, DEFAULT_POLICY)).toBe('retry');
    // A Subscribe still in flight (no retry time yet) is left to its caller for the grace period.
    expect(
      workFor(record({ state: 'subscribing', updatedAt: now - MINUTE }), now, DEFAULT_POLICY),
    ).toBeNull();
    expect(
      workFor(
        record({ state: 'subscribing', updatedAt: now - DEFAULT_POLICY.inFlightGraceMs }),
        now,
        DEFAULT_POLICY,
      ),
    ).toBe('retry');
    expect(workFor(record({ state: 'removed', nextAttemptAt: 0 }), now, DEFAULT_POLICY)).toBeNull();
  });

  it('schedules owed folder synchronization', () => {
    expect(workFor(record({ syncWork: 'baseline' }), now, DEFAULT_POLICY)).toBe('sync');
    expect(
      workFor(record({ syncWork: 'catchUp', nextAttemptAt: now + MINUTE }), now, DEFAULT_POLICY),
    ).toBeNull();
  });

  it('checkpoints a healthy mailbox when due, and never ahead of owed synchronization or renewal', () => {
    expect(workFor(record({ checkpointDueAt: now + 1 }), now, DEFAULT_POLICY)).toBeNull();
    expect(workFor(record({ checkpointDueAt: now }), now, DEFAULT_POLICY)).toBe('checkpoint');
    // A record from before checkpoints: one interval after it was created.
    const day = DEFAULT_POLICY.checkpointIntervalMs;
    expect(workFor(record({ createdAt: now - day + 1 }), now, DEFAULT_POLICY)).toBeNull();
    expect(workFor(record({ createdAt: now - day }), now, DEFAULT_POLICY)).toBe('checkpoint');
    const due = { checkpointDueAt: now - 1 };
    expect(
      workFor(record({ ...due, syncWork: 'catchUp', nextAttemptAt: now + 1 }), now, DEFAULT_POLICY),
    ).toBeNull();
    expect(workFor(record({ ...due, recovery: 'gap' }), now, DEFAULT_POLICY)).toBe('gap');
    expect(workFor(record({ ...due, lastContactAt: now - 60 * MINUTE }), now, DEFAULT_POLICY)).toBe('stale');
    expect(
      workFor(record({ ...due, state: 'lost', nextAttemptAt: now + 1 }), now, DEFAULT_POLICY),
    ).toBeNull();
  });

  it("checkpoints a Graph mailbox when due, after every renewal and lifecycle work it owes; proven after twice Graph's hold-back and retry limit", () => {
    const subscription = (id: string) => ({
      generation: 3,
      subscriptionId: id,
      expiresAt: now + 6 * 86_400_000,
    });
    const graph = (fields: Partial<SubscriptionRecord> = {}) =>
      record({
        source: 'graph',
        graph: { userId: 'ada@contoso.test', messages: subscription('M'), events: subscription('E') },
        checkpointDueAt: now,
        ...fields,
      });
    expect(workFor(graph(), now, DEFAULT_POLICY)).toBe('checkpoint');
    expect(workFor(graph({ checkpointDueAt: now + 1 }), now, DEFAULT_POLICY)).toBeNull();
    // Silence says nothing on Graph: no heartbeat, no staleness, still a checkpoint.
    expect(workFor(graph({ lastContactAt: now - 86_400_000 }), now, DEFAULT_POLICY)).toBe('checkpoint');
    expect(workFor(graph({ graphWork: { messages: ['catchUp'] } }), now, DEFAULT_POLICY)).toBe('lifecycle');
    expect(workFor(graph({ graphObsolete: ['OLD'] }), now, DEFAULT_POLICY)).toBe('lifecycle');
    expect(
      workFor(
        graph({ graph: { userId: 'ada@contoso.test', messages: subscription('M') } }),
        now,
        DEFAULT_POLICY,
      ),
    ).toBe('renew');
    expect(workFor(graph({ state: 'renewing', nextAttemptAt: now }), now, DEFAULT_POLICY)).toBe('retry');
    // A deferred job's retry time holds the checkpoint back too.
    expect(workFor(graph({ nextAttemptAt: now + 1 }), now, DEFAULT_POLICY)).toBeNull();
    // 4 h of retries after up to 10 minutes held back, twice: the change's, then its `missed`'s.
    expect(graphDeliverySpanMs(DEFAULT_POLICY)).toBe(2 * (10 + 4 * 60) * MINUTE);
    expect(graphDeliverySpanMs({ ...DEFAULT_POLICY, graphRetryLimitMs: 20 * MINUTE })).toBe(60 * MINUTE);
  });

  it('does not queue work again while a queued job should still be waiting', () => {
    expect(shouldQueue(record(), now, DEFAULT_POLICY)).toBe(true);
    expect(shouldQueue(record({ renewalQueuedAt: now - MINUTE }), now, DEFAULT_POLICY)).toBe(false);
    expect(
      shouldQueue(record({ renewalQueuedAt: now - DEFAULT_POLICY.requeueAfterMs }), now, DEFAULT_POLICY),
    ).toBe(true);
  });

  it('backs off exponentially with jitter, capped, and more slowly once lost', () => {
    const low = () => 0;
    const high = () => 1;
    expect(retryDelay(1, false, DEFAULT_POLICY, low)).toBe(15_000);
    expect(retryDelay(1, false, DEFAULT_POLICY, high)).toBe(30_000);
    expect(retryDelay(3, false, DEFAULT_POLICY, high)).toBe(120_000);
    expect(retryDelay(20, false, DEFAULT_POLICY, high)).toBe(DEFAULT_POLICY.retryMaxMs);
    expect(retryDelay(20, true, DEFAULT_POLICY, high)).toBe(DEFAULT_POLICY.lostRetryMs);
    const spread = new Set(
      Array.from({ length: 50 }, (_, i) => retryDelay(4, false, DEFAULT_POLICY, () => i / 50)),
    );
    expect(spread.size).toBeGreaterThan(40);
  });

  it('declares a subscription lost after enough attempts or enough time', () => {
    expect(isLost(4, now - MINUTE, now, DEFAULT_POLICY)).toBe(false);
    expect(isLost(5, now - MINUTE, now, DEFAULT_POLICY)).toBe(true);
    expect(isLost(2, now - DEFAULT_POLICY.lostAfterMs, now, DEFAULT_POLICY)).toBe(true);
  });
});

describe('when checkpoints fall due', () => {
  const policy = { ...DEFAULT_POLICY, checkpointIntervalMs: 1_000 };
  it('a new mailbox: anywhere in a whole interval around one interval on, so a bulk add does not checkpoint all at once', () => {
    expect(firstCheckpointAt(0, policy, () => 0)).toBe(500);
    expect(firstCheckpointAt(0, policy, () => 0.5)).toBe(1_000);
    expect(firstCheckpointAt(0, policy, () => 0.999)).toBe(1_499);
  });
  it('after one completes: one interval, ±10%', () => {
    expect(nextCheckpointAt(0, policy, () => 0)).toBe(900);
    expect(nextCheckpointAt(0, policy, () => 1)).toBe(1_100);
  });
});
