/**
 * Push subscriptions and their delivery, as Exchange does it (ews-protocol.md §1–2):
 *
 * - One notification at a time per subscription, in event order, at most 50 events each; while
 *   more events wait, `MoreEvents` is true and the next notification follows at once.
 * - Each notification's PreviousWatermark is the last watermark the callback acknowledged, so the
 *   chain is unbroken; StatusEvent heartbeats carry the current watermark (refreshed daily and
 *   whenever the subscription has moved past filtered-out events, so it never goes stale).
 * - A StatusEvent is sent when nothing was pushed for StatusFrequency minutes, and once right
 *   after Subscribe. The second is an inference, not documented: the "listener first" rule of
 *   subscribe-operation.md only makes sense if Exchange pushes straight away, and it is what makes
 *   the architecture's renewal race (a push before the new id is stored) real.
 * - A reply other than a valid SendNotificationResult (any non-200 status, an invalid body, a
 *   timeout, a refused connection) is a failure (ews-protocol.md §2 marks this UNCERTAIN; WorkMail
 *   documents it): the same notification is retried after 30 s, then 60 s, 120 s, … while the
 *   interval does not exceed StatusFrequency; when it would, the subscription is dropped silently.
 *   Microsoft gives the intervals, not where they are measured from; here, from the start of the
 *   failed attempt, so a slow failure does not stretch the schedule.
 * - `Unsubscribe` ends the subscription; that is the only way a client can end one.
 *
 * Every attempt is recorded (`deliveries()`), with its scheduled and actual simulated times, so
 * tests can check the schedule exactly and the clock's jitter separately.
 */
import http from 'node:http';
import https from 'node:https';
import type { Clock } from '../functions/core/clock.ts';
import type { ExchangeVersion } from '../functions/ews/request.ts';
import { soapContentType } from '../functions/ews/soap.ts';
import type { SubscribableEventType } from '../functions/ews/subscribe.ts';
import type { EventFilter } from './event-table.ts';
import type { FaultSettings } from './faults.ts';
import type { SimulatedFolder } from './folders.ts';
import type { MailboxStore } from './mailbox-store.ts';
import {
  encodeErrorPush,
  encodeSendNotification,
  type OutgoingEvent,
  readSendNotificationResult,
  SEND_NOTIFICATION_SOAP_ACTION,
} from './notification-codec.ts';
import { ID_KIND, type IdMinter, type Random } from './random.ts';
import type { Timers } from './timers.ts';

/** Most events in one notification (GetEvents' documented cap; assumed for push, ews-protocol.md §1.3). */
export const MAX_EVENTS_PER_NOTIFICATION = 50;
/** The first retry interval; each next one doubles (statusfrequency.md). */
export const FIRST_RETRY_INTERVAL_MS = 30_000;
/** How old a watermark may get before a heartbeat carries a fresh one for the same position. */
const WATERMARK_REFRESH_MS = 24 * 60 * 60 * 1000;
/** Replies larger than this are cut off and count as invalid. */
const MAX_REPLY_BYTES = 64 * 1024;

export type SubscriptionState =
  /** Pushing. */
  | 'active'
  /** The callback answered Unsubscribe. */
  | 'unsubscribed'
  /** Dropped silently after the retries ran out. */
  | 'expired'
  /** Lost silently: dropSubscription, a mailbox move, or the subscriptionLossPerHour fault. */
  | 'lost'
  /** Deleted after an ErrorReadEventsFailed error push. */
  | 'deleted';

/**
 * How an attempt went: the reply was a valid SendNotificationResult (`OK`, `Unsubscribe`), a 200
 * whose body is not one (`invalid`), no reply in time (`timeout`), no connection (`unreachable`),
 * any other HTTP status (the number), or the notification was never sent (`skipped`, the
 * skipNotificationRate fault).
 */
export type DeliveryOutcome =
  | 'OK'
  | 'Unsubscribe'
  | 'invalid'
  | 'timeout'
  | 'unreachable'
  | 'skipped'
  | number;

export interface DeliveryRecord {
  /** Order of the attempt across the simulator (1, 2, …). */
  readonly seq: number;
  readonly subscriptionId: string;
  readonly mailbox: string;
  readonly url: string;
  /** The notification this attempt carried: retries and duplicates share it. */
  readonly notification: number;
  /** 0 for the first attempt, k for the k-th retry. */
  readonly attempt: number;
  readonly kind: 'events' | 'status' | 'error';
  /** A deliberate resend of an acknowledged notification (duplicatePushRate). */
  readonly duplicate: boolean;
  readonly eventCount: number;
  readonly moreEvents: boolean;
  readonly previousWatermark: string | null;
  /** The last watermark the notification carries (null for the error push). */
  readonly watermark: string | null;
  /** When the attempt was due, simulated epoch ms. */
  readonly scheduledAt: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly outcome: DeliveryOutcome;
  readonly httpStatus: number | null;
  /** Why an attempt failed (connection error, what was wrong with the body), else null. */
  readonly detail: string | null;
}

export interface SubscriptionView {
  readonly subscriptionId: string;
  readonly mailbox: string;
  /** Folder names, or 'all' for SubscribeToAllFolders. */
  readonly folders: readonly SimulatedFolder[] | 'all';
  readonly eventTypes: readonly SubscribableEventType[];
  readonly statusFrequency: number;
  readonly url: string;
  readonly callerData: string | null;
  /**
   * The watermark it resumed from; null for a fresh subscription, also one whose Subscribe
   * carried its watermark as m:Watermark, which the simulator, like Exchange, does not read.
   */
  readonly resumedFrom: string | null;
  readonly state: SubscriptionState;
  readonly createdAt: number;
  readonly endedAt: number | null;
  readonly endReason: string | null;
  /** The last watermark the callback acknowledged (or the starting one). */
  readonly lastWatermark: string;
  /** Start of the last acknowledged attempt, simulated epoch ms; null before the first. */
  readonly lastDeliveredAt: number | null;
  /** Failed attempts of the notification being delivered now. */
  readonly failedAttempts: number;
}

export interface NewSubscription {
  readonly mailbox: string;
  readonly folders: readonly SimulatedFolder[] | 'all';
  readonly folderIds: ReadonlySet<string> | 'all';
  readonly eventTypes: readonly SubscribableEventType[];
  readonly statusFrequency: number;
  readonly url: string;
  readonly callerData: string | null;
  readonly requestServerVersion: ExchangeVersion;
  readonly resumedFrom: string | null;
  /** Where the subscription starts: a resumed watermark's position, or the mailbox's head. */
  readonly position: number;
  readonly watermark: string;
}

interface Pending {
  readonly notification: number;
  readonly kind: 'events' | 'status';
  readonly body: string;
  readonly eventCount: number;
  readonly moreEvents: boolean;
  readonly previousWatermark: string;
  readonly watermark: string;
  /** Where the subscription stands once this notification is acknowledged. */
  readonly positionAfter: number;
  failures: number;
}

interface Subscription {
  readonly id: string;
  readonly spec: NewSubscription;
  readonly filter: EventFilter;
  readonly createdAt: number;
  state: SubscriptionState;
  endedAt: number | null;
  endReason: string | null;
  lastWatermark: string;
  lastWatermarkPosition: number;
  position: number;
  lastDeliveredAt: number | null;
  /** 'idle': waiting for events or the heartbeat; 'busy': a notification is due, in flight or awaiting a retry. */
  phase: 'idle' | 'busy';
  pending: Pending | null;
  cancelTimer: () => void;
  errorPushDue: boolean;
}

type AttemptResult = { outcome: DeliveryOutcome; httpStatus: number | null; detail: string | null };

/** What a push that is not a Pending notification (the error push) carried, for its record. */
type Carried = Pick<
  DeliveryRecord,
  'notification' | 'attempt' | 'kind' | 'eventCount' | 'moreEvents' | 'previousWatermark' | 'watermark'
>;

export interface PushEngineOptions {
  readonly clock: Clock;
  readonly store: MailboxStore;
  readonly timers: Timers;
  readonly ids: IdMinter;
  /** The stream fault draws come from. */
  readonly random: Random;
  readonly faults: () => FaultSettings;
  /** How long a push may take before it counts as a timeout, simulated ms. */
  readonly pushTimeoutMs: number;
  /**
   * The least real time a push may take before it times out, whatever the time scale: at 3600×,
   * 10 simulated seconds are 3 real milliseconds, less than a local receiver needs to answer.
   */
  readonly minPushTimeoutRealMs: number;
}

const NOOP = () => {};

export class PushEngine {
  readonly #o: PushEngineOptions;
  readonly #subscriptions = new Map<string, Subscription>();
  /** Active subscriptions by mailbox: a change wakes only its mailbox's subscriptions. */
  readonly #active = new Map<string, Set<Subscription>>();
  readonly #deliveries: DeliveryRecord[] = [];
  readonly #inFlight = new Set<() => void>();
  #notificationCounter = 0;

  constructor(options: PushEngineOptions) {
    this.#o = options;
    options.store.onEvents((mailbox) => {
      for (const sub of this.#active.get(mailbox) ?? []) {
        if (sub.phase === 'idle') this.#schedule(sub, 0, 'events');
      }
    });
  }

  /** Creates a push subscription and schedules its first push. */
  subscribe(spec: NewSubscription): SubscriptionView {
    // Exchange's SubscriptionIds are base64 of a binary structure; these look alike.
    const id = this.#o.ids.mint(ID_KIND.subscription, 32);
    const sub: Subscription = {
      id,
      spec,
      filter: { eventTypes: new Set(spec.eventTypes), folderIds: spec.folderIds },
      createdAt: this.#o.clock.now(),
      state: 'active',
      endedAt: null,
      endReason: null,
      lastWatermark: spec.watermark,
      lastWatermarkPosition: spec.position,
      position: spec.position,
      lastDeliveredAt: null,
      phase: 'idle',
      pending: null,
      cancelTimer: NOOP,
      errorPushDue: false,
    };
    this.#subscriptions.set(id, sub);
    const active = this.#active.get(spec.mailbox);
    if (active) active.add(sub);
    else this.#active.set(spec.mailbox, new Set([sub]));
    this.#schedule(sub, 0, 'heartbeat');
    return view(sub);
  }

  /** Subscriptions still pushing for a mailbox (EWSMaxSubscriptions counts these). */
  activeCount(mailbox: string): number {
    return this.#active.get(mailbox)?.size ?? 0;
  }

  get(subscriptionId: string): SubscriptionView | undefined {
    const sub = this.#subscriptions.get(subscriptionId);
    return sub && view(sub);
  }

  subscriptions(filter: { mailbox?: string } = {}): SubscriptionView[] {
    return [...this.#subscriptions.values()]
      .filter((s) => filter.mailbox === undefined || s.spec.mailbox === filter.mailbox)
      .map(view);
  }

  deliveries(filter: { subscriptionId?: string; after?: number } = {}): readonly DeliveryRecord[] {
    const after = filter.after ?? 0;
    // seq is the position + 1, so "after" is a slice rather than a scan of every attempt.
    const tail = this.#deliveries.slice(Math.max(0, after));
    const { subscriptionId } = filter;
    return subscriptionId === undefined ? tail : tail.filter((d) => d.subscriptionId === subscriptionId);
  }

  /** Ends a subscription silently: Exchange forgets it and never pushes again. */
  lose(subscriptionId: string, reason: string): SubscriptionView | undefined {
    const sub = this.#subscriptions.get(subscriptionId);
    if (sub === undefined) return undefined;
    if (sub.state === 'active') this.#end(sub, 'lost', reason);
    return view(sub);
  }

  /** Ends every active subscription of the mailbox silently; returns their ids. */
  loseMailbox(mailbox: string, reason: string): string[] {
    const ended = [...(this.#active.get(mailbox) ?? [])];
    for (const sub of ended) this.#end(sub, 'lost', reason);
    return ended.map((sub) => sub.id);
  }

  /** Sends the ErrorReadEventsFailed error push as soon as nothing else is in flight, then deletes the subscription. */
  failWithErrorPush(subscriptionId: string): void {
    const sub = this.#subscriptions.get(subscriptionId);
    if (sub === undefined || sub.state !== 'active') return;
    sub.errorPushDue = true;
    if (sub.phase === 'idle') this.#schedule(sub, 0, 'events');
  }

  activeSubscriptionIds(): string[] {
    return [...this.#active.values()].flatMap((subs) => [...subs].map((s) => s.id));
  }

  /** Aborts every push in flight (timers are cancelled by the owner of Timers). */
  stop(): void {
    for (const abort of [...this.#inFlight]) abort();
  }

  // ---- the delivery loop --------------------------------------------------------------------

  #schedule(sub: Subscription, delayMs: number, reason: 'events' | 'heartbeat'): void {
    sub.cancelTimer();
    sub.phase = 'busy';
    const scheduledAt = this.#o.clock.now() + delayMs;
    sub.cancelTimer = this.#o.timers.set(delayMs, () => {
      void this.#pump(sub, reason, scheduledAt);
    });
  }

  #idle(sub: Subscription): void {
    sub.cancelTimer();
    sub.phase = 'idle';
    const base = sub.lastDeliveredAt ?? sub.createdAt;
    const dueAt = base + sub.spec.statusFrequency * 60_000;
    sub.cancelTimer = this.#o.timers.at(dueAt, () => {
      sub.phase = 'busy';
      void this.#pump(sub, 'heartbeat', dueAt);
    });
  }

  /** Builds the next notification (if there is anything to say) and makes its first attempt. */
  async #pump(sub: Subscription, reason: 'events' | 'heartbeat', scheduledAt: number): Promise<void> {
    if (sub.state !== 'active') return;
    if (sub.errorPushDue) {
      await this.#sendErrorPush(sub, scheduledAt);
      return;
    }
    const { store } = this.#o;
    const found = store.eventsAfter(sub.spec.mailbox, sub.position, sub.filter, MAX_EVENTS_PER_NOTIFICATION);
    const last = found.events.at(-1);
    let events: OutgoingEvent[];
    let kind: Pending['kind'];
    let watermark: string;
    let positionAfter: number;
    if (last !== undefined) {
      kind = 'events';
      events = found.events;
      watermark = last.watermark;
      positionAfter = found.scannedThrough;
    } else if (reason === 'heartbeat') {
      kind = 'status';
      positionAfter = found.scannedThrough;
      watermark = this.#statusWatermark(sub, positionAfter);
      events = [{ type: 'StatusEvent', watermark }];
    } else {
      // Only filtered-out events arrived: nothing to push, but no need to scan them again.
      sub.position = found.scannedThrough;
      this.#idle(sub);
      return;
    }
    this.#notificationCounter++;
    const pending: Pending = {
      notification: this.#notificationCounter,
      kind,
      body: encodeSendNotification(
        { subscriptionId: sub.id, previousWatermark: sub.lastWatermark, moreEvents: found.more, events },
        sub.spec.requestServerVersion,
      ),
      eventCount: kind === 'events' ? events.length : 0,
      moreEvents: found.more,
      previousWatermark: sub.lastWatermark,
      watermark,
      positionAfter,
      failures: 0,
    };
    sub.pending = pending;
    if (kind === 'events' && this.#o.random.chance(this.#o.faults().skipNotificationRate)) {
      const now = this.#o.clock.now();
      this.#record(
        sub,
        pending,
        { outcome: 'skipped', httpStatus: null, detail: 'skipNotificationRate fault' },
        {
          scheduledAt,
          startedAt: now,
          duplicate: false,
        },
      );
      this.#acknowledged(sub, pending, now);
      return;
    }
    await this.#attempt(sub, pending, scheduledAt);
  }

  #statusWatermark(sub: Subscription, position: number): string {
    const issuedAt = this.#o.store.watermarkIssuedAt(sub.lastWatermark) ?? 0;
    const stale = this.#o.clock.now() - issuedAt > WATERMARK_REFRESH_MS;
    if (position === sub.lastWatermarkPosition && !stale) return sub.lastWatermark;
    return this.#o.store.mintWatermark(sub.spec.mailbox, position);
  }

  async #attempt(sub: Subscription, pending: Pending, scheduledAt: number): Promise<void> {
    const startedAt = this.#o.clock.now();
    const result = await this.#post(sub.spec.url, pending.body);
    this.#record(sub, pending, result, { scheduledAt, startedAt, duplicate: false });
    if (sub.state !== 'active') return; // lost while the push was in flight: Exchange forgot it
    if (result.outcome === 'OK') {
      // The duplicate goes out before anything newer, as a resend by Exchange would.
      if (this.#o.random.chance(this.#o.faults().duplicatePushRate)) await this.#sendDuplicate(sub, pending);
      if (sub.state === 'active') this.#acknowledged(sub, pending, startedAt);
      return;
    }
    if (result.outcome === 'Unsubscribe') {
      this.#end(sub, 'unsubscribed', 'the callback answered Unsubscribe');
      return;
    }
    pending.failures++;
    const interval = FIRST_RETRY_INTERVAL_MS * 2 ** (pending.failures - 1);
    if (interval > sub.spec.statusFrequency * 60_000) {
      this.#end(
        sub,
        'expired',
        `no valid reply to notification ${pending.notification} after ${pending.failures} attempts; the next retry interval (${interval / 1000} s) exceeds StatusFrequency (${sub.spec.statusFrequency} min)`,
      );
      return;
    }
    const retryAt = startedAt + interval;
    sub.cancelTimer();
    sub.cancelTimer = this.#o.timers.at(retryAt, () => {
      void this.#attempt(sub, pending, retryAt);
    });
  }

  /** The notification is delivered: move the watermark chain on and push what waits, or go idle. */
  #acknowledged(sub: Subscription, pending: Pending, startedAt: number): void {
    sub.pending = null;
    sub.lastWatermark = pending.watermark;
    sub.lastWatermarkPosition = pending.positionAfter;
    sub.position = pending.positionAfter;
    sub.lastDeliveredAt = startedAt;
    const waiting =
      pending.moreEvents ||
      sub.errorPushDue ||
      this.#o.store.eventsAfter(sub.spec.mailbox, sub.position, sub.filter, 1).events.length > 0;
    if (waiting) this.#schedule(sub, 0, 'events');
    else this.#idle(sub);
  }

  async #sendDuplicate(sub: Subscription, pending: Pending): Promise<void> {
    const startedAt = this.#o.clock.now();
    const result = await this.#post(sub.spec.url, pending.body);
    this.#record(sub, pending, result, { scheduledAt: startedAt, startedAt, duplicate: true });
    if (sub.state === 'active' && result.outcome === 'Unsubscribe') {
      this.#end(sub, 'unsubscribed', 'the callback answered Unsubscribe (to a duplicate)');
    }
  }

  async #sendErrorPush(sub: Subscription, scheduledAt: number): Promise<void> {
    this.#notificationCounter++;
    const carried: Carried = {
      notification: this.#notificationCounter,
      attempt: 0,
      kind: 'error',
      eventCount: 0,
      moreEvents: false,
      previousWatermark: null,
      watermark: null,
    };
    const startedAt = this.#o.clock.now();
    const result = await this.#post(sub.spec.url, encodeErrorPush(sub.id, sub.spec.requestServerVersion));
    this.#record(sub, carried, result, { scheduledAt, startedAt, duplicate: false });
    if (sub.state === 'active') {
      this.#end(sub, 'deleted', 'ErrorReadEventsFailed error push (errorPushPerHour fault)');
    }
  }

  #record(
    sub: Subscription,
    carried: Pending | Carried,
    result: AttemptResult,
    at: { scheduledAt: number; startedAt: number; duplicate: boolean },
  ): void {
    this.#deliveries.push({
      seq: this.#deliveries.length + 1,
      subscriptionId: sub.id,
      mailbox: sub.spec.mailbox,
      url: sub.spec.url,
      notification: carried.notification,
      attempt: 'attempt' in carried ? carried.attempt : at.duplicate ? 0 : carried.failures,
      kind: carried.kind,
      duplicate: at.duplicate,
      eventCount: carried.eventCount,
      moreEvents: carried.moreEvents,
      previousWatermark: carried.previousWatermark,
      watermark: carried.watermark,
      scheduledAt: at.scheduledAt,
      startedAt: at.startedAt,
      finishedAt: this.#o.clock.now(),
      ...result,
    });
  }

  #end(sub: Subscription, state: Exclude<SubscriptionState, 'active'>, reason: string): void {
    sub.cancelTimer();
    sub.cancelTimer = NOOP;
    sub.state = state;
    this.#active.get(sub.spec.mailbox)?.delete(sub);
    sub.endedAt = this.#o.clock.now();
    sub.endReason = reason;
    sub.pending = null;
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  /** POSTs a SendNotification to the callback URL exactly as given, and classifies the reply. */
  #post(url: string, body: string): Promise<AttemptResult> {
    const { clock, timers } = this.#o;
    const timeoutMs = Math.max(this.#o.pushTimeoutMs, this.#o.minPushTimeoutRealMs * clock.timeScale);
    return new Promise((resolve) => {
      let settled = false;
      let cancelTimeout = NOOP;
      let request: http.ClientRequest | undefined;
      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        cancelTimeout();
        this.#inFlight.delete(abort);
        resolve(result);
      };
      const abort = () => {
        request?.destroy();
        finish({ outcome: 'unreachable', httpStatus: null, detail: 'the simulator stopped' });
      };
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        finish({ outcome: 'unreachable', httpStatus: null, detail: `callback URL ${url} cannot be parsed` });
        return;
      }
      const payload = Buffer.from(body, 'utf8');
      // A fresh connection per push (agent: false): no keep-alive socket can be reset under a
      // retry and turn into a failure the callback did not cause, and nothing lingers after stop().
      request = (target.protocol === 'https:' ? https : http).request(
        target,
        {
          method: 'POST',
          agent: false,
          headers: {
            'Content-Type': soapContentType('1.1'),
            'Content-Length': payload.byteLength,
            // SOAP 1.1 §6.1.1 quotes the SOAPAction value; .NET's SOAP clients (Exchange) do.
            SOAPAction: `"${SEND_NOTIFICATION_SOAP_ACTION}"`,
            'User-Agent': 'ExchangeServicesClient/15.20.8001.012 (EWS simulator)',
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.byteLength;
            if (size > MAX_REPLY_BYTES) {
              response.destroy();
              finish({
                outcome: response.statusCode === 200 ? 'invalid' : (response.statusCode ?? 'invalid'),
                httpStatus: response.statusCode ?? null,
                detail: `reply is larger than ${MAX_REPLY_BYTES} bytes`,
              });
            } else chunks.push(chunk);
          });
          response.on('error', (e) =>
            finish({ outcome: 'unreachable', httpStatus: null, detail: e.message }),
          );
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status !== 200) {
              finish({ outcome: status, httpStatus: status, detail: null });
              return;
            }
            const reply = readSendNotificationResult(Buffer.concat(chunks));
            finish(
              reply.ok
                ? { outcome: reply.value, httpStatus: 200, detail: null }
                : { outcome: 'invalid', httpStatus: 200, detail: reply.error },
            );
          });
        },
      );
      this.#inFlight.add(abort);
      request.on('error', (e) => finish({ outcome: 'unreachable', httpStatus: null, detail: e.message }));
      cancelTimeout = timers.set(timeoutMs, () => {
        request?.destroy();
        finish({ outcome: 'timeout', httpStatus: null, detail: `no reply within ${timeoutMs} simulated ms` });
      });
      request.end(payload);
    });
  }
}

function view(sub: Subscription): SubscriptionView {
  return {
    subscriptionId: sub.id,
    mailbox: sub.spec.mailbox,
    folders: sub.spec.folders,
    eventTypes: sub.spec.eventTypes,
    statusFrequency: sub.spec.statusFrequency,
    url: sub.spec.url,
    callerData: sub.spec.callerData,
    resumedFrom: sub.spec.resumedFrom,
    state: sub.state,
    createdAt: sub.createdAt,
    endedAt: sub.endedAt,
    endReason: sub.endReason,
    lastWatermark: sub.lastWatermark,
    lastDeliveredAt: sub.lastDeliveredAt,
    failedAttempts: sub.pending?.failures ?? 0,
  };
}
