/**
 * The Subscribe job: replace a lost, silent or damaged subscription without losing a change, or
 * give a new mailbox its first one. Claimed by moving the record to a new generation (a new
 * callback URL), so a duplicate job or a renewal that outlived its worker cannot produce two
 * current subscriptions: any subscription on an older generation is answered Unsubscribe by the
 * receiver.
 *
 * A mailbox's first subscription comes after its baseline: every folder's SyncState is taken
 * before Subscribe is sent, so whatever Exchange loses later, a catch-up from those SyncStates
 * reports every change made since the subscription. Taken after it, a SyncState could absorb a
 * change Exchange had not pushed yet and then lost with the subscription.
 *
 * Later: resume first (Subscribe with the last good watermark: Exchange replays what was missed).
 * If the watermark is too old or rejected (a moved mailbox), subscribe fresh and catch up with
 * SyncFolderItems (synchronize.ts). ErrorServerBusy waits as long as Exchange asked and is not a
 * failure; other failures back off with jitter until the subscription is declared lost, and keep
 * being retried.
 */
import type { LifecycleKind, ResyncEventData } from '../../events/bridge-event.ts';
import type { Result } from '../core/result.ts';
import { callbackUrl } from '../domain/callback.ts';
import { firstCheckpointAt } from '../domain/policy.ts';
import type { SubscriptionRecord, SubscriptionState, SyncWork } from '../domain/subscription.ts';
import type { PushSubscriptionRequest, SubscribeResult } from '../ews/subscribe.ts';
import {
  type ExchangeFailure,
  fail,
  publishLifecycle,
  type RenewalExchange,
  type RenewDeps,
  type RenewOutcome,
  syncDepsOf,
} from './job.ts';
import { BaselineSupersededError, takeBaseline } from './sync.ts';
import { synchronize } from './synchronize.ts';

export async function resubscribe(
  record: SubscriptionRecord,
  exchange: RenewalExchange,
  deps: RenewDeps,
): Promise<RenewOutcome> {
  const { policy } = deps;
  const now = deps.clock.now();
  const generation = record.generation + 1;
  const state: SubscriptionState =
    record.state === 'lost' || record.state === 'subscribing' ? record.state : 'renewing';
  if (
    !(await deps.store.beginRenewal({
      mailboxKey: record.mailboxKey,
      fromGeneration: record.generation,
      toGeneration: generation,
      state,
      now,
    }))
  ) {
    return { kind: 'skipped', why: 'raced' };
  }
  const request: PushSubscriptionRequest = {
    folders: record.folders,
    eventTypes: record.eventTypes,
    statusFrequency: record.statusFrequency,
    url: callbackUrl(deps.callbackBaseUrl, await deps.callbackKey(), record.mailboxKey, generation),
  };
  const hadSubscription = record.watermark !== undefined;
  if (!hadSubscription) {
    const baseline = await takeBaseline({ ...record, generation }, syncDepsOf(exchange, deps), () =>
      deps.store.holdClaim({ mailboxKey: record.mailboxKey, generation, now: deps.clock.now() }),
    );
    if (!baseline.ok) {
      if (baseline.error instanceof BaselineSupersededError) return { kind: 'skipped', why: 'raced' };
      return fail({ ...record, generation }, generation, state, baseline.error, deps);
    }
  }
  const resumeFrom = record.recoveryWatermark ?? record.watermark;
  // The watermark is refreshed by every heartbeat, so the last contact dates it.
  const usable =
    resumeFrom !== undefined &&
    record.lastContactAt !== undefined &&
    now - record.lastContactAt <= policy.watermarkMaxAgeMs;
  let syncReason: ResyncEventData['reason'] | undefined;
  let subscribed: Result<SubscribeResult, ExchangeFailure>;
  if (usable) {
    subscribed = await exchange.subscribe(record.mailbox, { ...request, watermark: resumeFrom });
    if (!subscribed.ok && subscribed.error.category === 'InvalidWatermark') {
      deps.progress?.(`${record.mailbox}: the watermark was rejected; subscribing fresh and catching up`);
      syncReason = 'watermarkRejected';
      subscribed = await exchange.subscribe(record.mailbox, request);
    }
  } else {
    if (hadSubscription) syncReason = 'watermarkExpired';
    subscribed = await exchange.subscribe(record.mailbox, request);
  }
  if (!subscribed.ok) return fail({ ...record, generation }, generation, state, subscribed.error, deps);

  const { subscriptionId } = subscribed.value;
  // A first subscription owes nothing (its baseline came first); a fresh one after a loss owes a
  // catch-up; a resumed one keeps whatever synchronization was still owed.
  const syncWork: SyncWork | undefined =
    syncReason !== undefined ? 'catchUp' : hadSubscription ? record.syncWork : undefined;
  const completed = await deps.store.completeRenewal({
    mailboxKey: record.mailboxKey,
    generation,
    subscriptionId,
    watermark: subscribed.value.watermark,
    now: deps.clock.now(),
    syncWork,
    syncReason: syncReason ?? (syncWork === 'catchUp' ? record.syncReason : undefined),
  });
  if (!completed) return { kind: 'skipped', why: 'raced' };

  const how = !hadSubscription ? 'first' : syncReason !== undefined ? 'fresh' : 'resumed';
  if (how === 'first') {
    await deps.store.scheduleCheckpoint({
      mailboxKey: record.mailboxKey,
      generation,
      dueAt: firstCheckpointAt(deps.clock.now(), policy, deps.random),
      now: deps.clock.now(),
    });
  }
  const recovered = record.state === 'lost';
  const lifecycle: LifecycleKind[] = [];
  if (how === 'first') lifecycle.push('created');
  if (how === 'resumed') lifecycle.push('renewed');
  if (recovered) lifecycle.push('recovered');
  await publishLifecycle(
    record,
    lifecycle,
    { generation, subscriptionId, previousSubscriptionId: record.subscriptionId ?? null, detail: null },
    deps,
  );

  let resyncPublished = 0;
  const current = await deps.store.get(record.mailboxKey);
  const answered = subscribed.value.watermark;
  if (
    current !== undefined &&
    current.generation === generation &&
    current.recovery === 'gap' &&
    current.recoveryWatermark === answered
  ) {
    // completeRenewal found the subscription adopted from a PreviousWatermark past the answer's
    // (a notification missed before the receiver adopted it): consumers learn of the gap, and the
    // lifecycle resumes from the answer's watermark, as for a gap the receiver sees.
    await publishLifecycle(
      record,
      ['gap-detected'],
      {
        generation,
        subscriptionId,
        previousSubscriptionId: null,
        detail: `the subscription was adopted from a PreviousWatermark that does not follow Subscribe's watermark ${answered}: a notification was missed; recovery resumes from ${answered}`,
      },
      deps,
      `${answered}>adopted`,
    );
  }
  if (current !== undefined && current.syncWork !== undefined && current.generation === generation) {
    const synced = await synchronize(current, exchange, deps);
    if (synced.kind === 'synced') resyncPublished = synced.published;
  }
  return { kind: 'subscribed', how, subscriptionId, generation, recovered, resyncPublished };
}
