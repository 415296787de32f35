/**
 * Graph subscriptions to Outlook messages and events: the rules of create, get, list, renew,
 * reauthorize and delete, the change notifications each change raises, and the lifecycle
 * notifications (Learn: "Create subscription", "Update subscription", "subscription: reauthorize",
 * "Change notifications for Outlook resources", "Reduce missing subscriptions and change
 * notifications").
 *
 * Graph has no move, copy or new-mail change types: a message moved out of a folder is `deleted`
 * there and `created` where it arrives; a mailbox-wide subscription sees both. With
 * `Prefer: IdType="ImmutableId"` on the create request, notifications carry immutable ids, so the
 * two halves of a move name the same item.
 */
import type { Clock } from '../functions/core/clock.ts';
import { showValue } from '../functions/core/show.ts';
import type { Random } from '../simulator/random.ts';
import type { Timers } from '../simulator/timers.ts';
import type { Delivery, Notification } from './delivery.ts';
import { guid } from './guid.ts';
import type { GraphChange, GraphMailboxStore, MailFolderName } from './mailbox-store.ts';
import type { GraphPermission, GraphRules } from './options.ts';

/** Longest subscription for Outlook messages and events, and with resource data (Learn, subscription lifetime). */
export const MAX_OUTLOOK_MINUTES = 10_080;
export const MAX_RICH_OUTLOOK_MINUTES = 1_440;
export const MAX_CLIENT_STATE_LENGTH = 128;
/** When Graph starts challenging before expiry, and how often after (Learn's illustrative code: every 15 minutes in the last hour). */
const REAUTHORIZATION_LEAD_MS = 60 * 60 * 1000;
const REAUTHORIZATION_EVERY_MS = 15 * 60 * 1000;
const MISSED_DEBOUNCE_MS = 60_000;

export const CHANGE_TYPES = ['created', 'updated', 'deleted'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

export type SubscriptionState = 'active' | 'expired' | 'deleted' | 'removed';

/** What a subscription watches, parsed from its `resource`. */
export type WatchedResource =
  | { readonly type: 'messages'; readonly mailbox: string; readonly folder: MailFolderName | null }
  | { readonly type: 'events'; readonly mailbox: string };

/** A Graph error answer: status, `error.code`, `error.message`. */
export class GraphApiError extends Error {
  override readonly name = 'GraphApiError';
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export interface SubscriptionView {
  readonly id: string;
  readonly applicationId: string;
  readonly resource: string;
  readonly changeType: string;
  readonly clientState: string | null;
  readonly notificationUrl: string;
  readonly lifecycleNotificationUrl: string | null;
  readonly expirationDateTime: string;
  readonly includeResourceData: boolean;
  readonly immutableIds: boolean;
  readonly mailbox: string;
  readonly state: SubscriptionState;
  readonly createdAt: number;
  readonly endedAt: number | null;
  readonly endReason: string | null;
  /** A reauthorizationRequired challenge is outstanding (null: none). */
  readonly reauthorizationRequiredSince: number | null;
  /** Change notifications are lost until the subscription is reauthorized or renewed. */
  readonly paused: boolean;
}

interface Subscription {
  readonly id: string;
  readonly clientId: string;
  readonly resource: string;
  readonly watched: WatchedResource;
  readonly changeTypes: ReadonlySet<ChangeType>;
  readonly clientState: string | null;
  notificationUrl: string;
  readonly lifecycleNotificationUrl: string | null;
  readonly immutableIds: boolean;
  readonly includeResourceData: boolean;
  expiresAt: number;
  readonly createdAt: number;
  state: SubscriptionState;
  endedAt: number | null;
  endReason: string | null;
  reauthorizationRequiredSince: number | null;
  pauseAt: number | null;
  paused: boolean;
  /** Change notifications still to be lost in the current `missed` episode. */
  missNext: number;
  lastMissedAt: number | null;
  lastRenewedAt: number | null;
  lastReauthorizedAt: number | null;
  cancelTimers: Array<() => void>;
}

export interface NewSubscription {
  readonly clientId: string;
  readonly resource: string;
  readonly watched: WatchedResource;
  readonly changeTypes: ReadonlySet<ChangeType>;
  readonly clientState: string | null;
  readonly notificationUrl: string;
  readonly lifecycleNotificationUrl: string | null;
  readonly immutableIds: boolean;
  readonly includeResourceData: boolean;
  readonly expiresAt: number;
}

export interface SubscriptionsOptions {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
  readonly store: GraphMailboxStore;
  readonly delivery: Delivery;
  readonly rules: () => GraphRules;
  readonly tenantId: string;
  readonly notificationDelayMs: number;
  readonly reauthorizationGraceMs: number;
}

export class Subscriptions {
  readonly #o: SubscriptionsOptions;
  readonly #subscriptions = new Map<string, Subscription>();

  constructor(options: SubscriptionsOptions) {
    this.#o = options;
    options.store.onChange((change) => this.#notifyChange(change));
  }

  /** The 409 a create meets under the duplicate rule, or undefined. */
  duplicateOf(spec: NewSubscription): SubscriptionView | undefined {
    const rule = this.#o.rules().duplicateSubscription;
    if (rule === 'allowed') return undefined;
    const key = [...spec.changeTypes].sort().join(',');
    const found = [...this.#subscriptions.values()].find(
      (s) =>
        s.state === 'active' &&
        s.clientId === spec.clientId &&
        s.resource.toLowerCase() === spec.resource.toLowerCase() &&
        [...s.changeTypes].sort().join(',') === key &&
        (rule === 'resourceAndChangeType' || s.notificationUrl === spec.notificationUrl),
    );
    return found && view(found);
  }

  /** Creates an (already validated) subscription and plans its expiry and reauthorization challenges. */
  create(spec: NewSubscription): SubscriptionView {
    const sub: Subscription = {
      ...spec,
      id: guid(this.#o.random),
      createdAt: this.#o.clock.now(),
      state: 'active',
      endedAt: null,
      endReason: null,
      reauthorizationRequiredSince: null,
      pauseAt: null,
      paused: false,
      missNext: 0,
      lastMissedAt: null,
      lastRenewedAt: null,
      lastReauthorizedAt: null,
      cancelTimers: [],
    };
    this.#subscriptions.set(sub.id, sub);
    this.#plan(sub);
    return view(sub);
  }

  /** An active subscription of this app, or the 404 Graph answers for one that is not (any more). */
  #owned(clientId: string, id: string): Subscription {
    const sub = this.#subscriptions.get(id);
    if (sub === undefined || sub.clientId !== clientId || sub.state !== 'active') {
      throw new GraphApiError(
        404,
        'ResourceNotFound',
        `The object was not found: subscription ${showValue(id)} does not exist (it expired, was deleted or removed, or belongs to another app); create a new subscription.`,
      );
    }
    return sub;
  }

  get(clientId: string, id: string): SubscriptionView {
    return view(this.#owned(clientId, id));
  }

  /** Every subscription this app has now (Learn: list returns the app's active subscriptions). */
  list(clientId: string): SubscriptionView[] {
    return [...this.#subscriptions.values()]
      .filter((s) => s.clientId === clientId && s.state === 'active')
      .map(view);
  }

  /** The subscription, for checks made before a PATCH validates anything. */
  checkRenewable(clientId: string, id: string): SubscriptionView {
    const sub = this.#owned(clientId, id);
    this.#checkSpacing(sub, 'renew');
    return view(sub);
  }

  renew(
    clientId: string,
    id: string,
    update: { expiresAt?: number; notificationUrl?: string },
  ): SubscriptionView {
    const sub = this.#owned(clientId, id);
    const now = this.#o.clock.now();
    if (update.expiresAt !== undefined) sub.expiresAt = update.expiresAt;
    if (update.notificationUrl !== undefined) sub.notificationUrl = update.notificationUrl;
    // Renewing also reauthorizes (Learn, lifecycle notifications).
    sub.lastRenewedAt = now;
    this.#answerChallenge(sub);
    this.#plan(sub);
    return view(sub);
  }

  reauthorize(clientId: string, id: string): void {
    const sub = this.#owned(clientId, id);
    this.#checkSpacing(sub, 'reauthorize');
    sub.lastReauthorizedAt = this.#o.clock.now();
    this.#answerChallenge(sub);
  }

  delete(clientId: string, id: string): void {
    this.#end(this.#owned(clientId, id), 'deleted', 'DELETE /subscriptions/{id}');
  }

  /** Every subscription, whatever its state or app (the control API). */
  all(filter: { mailbox?: string } = {}): SubscriptionView[] {
    const mailbox = filter.mailbox === undefined ? undefined : this.#o.store.find(filter.mailbox)?.address;
    return [...this.#subscriptions.values()]
      .filter((s) => filter.mailbox === undefined || s.watched.mailbox === mailbox)
      .map(view);
  }

  activeIds(): string[] {
    return [...this.#subscriptions.values()].filter((s) => s.state === 'active').map((s) => s.id);
  }

  #any(id: string): Subscription {
    const sub = this.#subscriptions.get(id);
    if (sub === undefined || sub.state !== 'active') {
      throw new GraphApiError(
        404,
        'ResourceNotFound',
        `no active subscription ${showValue(id)}; see GET /_graph-sim/subscriptions`,
      );
    }
    return sub;
  }

  /** Graph removes the subscription and says so with `subscriptionRemoved` (if it has a lifecycle URL). */
  remove(id: string, reason: string): SubscriptionView {
    const sub = this.#any(id);
    this.#lifecycle(sub, 'subscriptionRemoved');
    this.#end(sub, 'removed', reason);
    return view(sub);
  }

  /** Loses the queued change notifications and the next `count` ones, then sends `missed`. */
  miss(id: string, count: number): SubscriptionView {
    const sub = this.#any(id);
    // Each queued notification lost says `missed` (once per episode) through lossHappened.
    const lost = this.#o.delivery.discardQueued(sub.id, 'missed');
    sub.missNext = count;
    if (count === 0 && lost === 0) this.#sendMissed(sub, true);
    return view(sub);
  }

  /** Sends a reauthorizationRequired challenge; unanswered for the grace period, delivery pauses. */
  challenge(id: string): SubscriptionView {
    const sub = this.#any(id);
    this.#challenge(sub);
    const pauseAt = this.#o.clock.now() + this.#o.reauthorizationGraceMs;
    sub.pauseAt = pauseAt;
    sub.cancelTimers.push(
      this.#o.timers.at(pauseAt, () => {
        if (sub.state === 'active' && sub.pauseAt === pauseAt) sub.paused = true;
      }),
    );
    return view(sub);
  }

  /** Called by Delivery for every lost change notification: one `missed` per episode, when the rules say so. */
  lossHappened(subscriptionId: string, reason: string): void {
    const sub = this.#subscriptions.get(subscriptionId);
    if (sub === undefined || sub.state !== 'active') return;
    if (reason === 'missed' || this.#o.rules().missedOnLoss) this.#sendMissed(sub);
  }

  /** One `missed` per minute at most: a burst of losses (the drop rule) is one episode. */
  #sendMissed(sub: Subscription, always = false): void {
    const now = this.#o.clock.now();
    if (!always && sub.lastMissedAt !== null && now - sub.lastMissedAt < MISSED_DEBOUNCE_MS) return;
    sub.lastMissedAt = now;
    this.#lifecycle(sub, 'missed');
  }

  // ---- timers -------------------------------------------------------------------------------------

  #checkSpacing(sub: Subscription, action: 'renew' | 'reauthorize'): void {
    const spacing = this.#o.rules().reauthorizeAndRenewSpacingMs;
    if (spacing <= 0) return;
    const other = action === 'renew' ? sub.lastReauthorizedAt : sub.lastRenewedAt;
    if (other !== null && this.#o.clock.now() - other < spacing) {
      throw new GraphApiError(
        409,
        'Conflict',
        `Subscription ${sub.id} was ${action === 'renew' ? 'reauthorized' : 'renewed'} less than ${spacing / 60_000} minutes ago; do not both reauthorize and renew within that time (reauthorizeAndRenewSpacingMs rule).`,
      );
    }
  }

  #answerChallenge(sub: Subscription): void {
    sub.reauthorizationRequiredSince = null;
    sub.pauseAt = null;
    sub.paused = false;
  }

  /** Sets the expiry and the reauthorizationRequired challenges before it (replacing earlier plans). */
  #plan(sub: Subscription): void {
    for (const cancel of sub.cancelTimers) cancel();
    sub.cancelTimers = [];
    const { timers } = this.#o;
    const expiresAt = sub.expiresAt;
    sub.cancelTimers.push(
      timers.at(expiresAt, () => {
        if (sub.state === 'active' && sub.expiresAt === expiresAt) {
          this.#end(sub, 'expired', 'expirationDateTime passed without a renewal');
        }
      }),
    );
    for (let at = expiresAt - REAUTHORIZATION_LEAD_MS; at < expiresAt; at += REAUTHORIZATION_EVERY_MS) {
      if (at < this.#o.clock.now()) continue;
      sub.cancelTimers.push(
        timers.at(at, () => {
          if (sub.state === 'active' && sub.expiresAt === expiresAt) this.#challenge(sub);
        }),
      );
    }
  }

  #challenge(sub: Subscription): void {
    sub.reauthorizationRequiredSince ??= this.#o.clock.now();
    this.#lifecycle(sub, 'reauthorizationRequired');
  }

  #end(sub: Subscription, state: Exclude<SubscriptionState, 'active'>, reason: string): void {
    for (const cancel of sub.cancelTimers) cancel();
    sub.cancelTimers = [];
    sub.state = state;
    sub.endedAt = this.#o.clock.now();
    sub.endReason = reason;
    this.#o.delivery.discardQueued(sub.id, 'subscriptionEnded');
  }

  stop(): void {
    for (const sub of this.#subscriptions.values()) for (const cancel of sub.cancelTimers) cancel();
  }

  // ---- notifications ------------------------------------------------------------------------------

  #lifecycle(
    sub: Subscription,
    lifecycleEvent: 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed',
  ): void {
    if (sub.lifecycleNotificationUrl === null) return;
    const notification = pending('lifecycle', sub, this.#o.clock.now(), null, {
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: new Date(sub.expiresAt).toISOString(),
      tenantId: this.#o.tenantId,
      clientState: sub.clientState,
      lifecycleEvent,
    });
    this.#o.delivery.enqueue(sub.lifecycleNotificationUrl, notification);
  }

  #notifyChange(change: GraphChange): void {
    for (const sub of this.#subscriptions.values()) {
      if (sub.state !== 'active' || sub.watched.mailbox !== change.mailbox) continue;
      for (const [changeType, id] of notificationsFor(sub.watched, change)) {
        if (!sub.changeTypes.has(changeType)) continue;
        const itemId = sub.immutableIds ? change.immutableId : id;
        this.#queueChange(sub, change, changeType, itemId);
      }
    }
  }

  #queueChange(sub: Subscription, change: GraphChange, changeType: ChangeType, itemId: string): void {
    const now = this.#o.clock.now();
    const segment = change.itemType === 'message' ? 'Messages' : 'Events';
    const resource = `Users/${change.userId}/${segment}/${itemId}`;
    const dueAt = now + this.#o.notificationDelayMs;
    const notification = pending('change', sub, dueAt, change.seq, {
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: new Date(sub.expiresAt).toISOString(),
      changeType,
      resource,
      resourceData: {
        '@odata.type': change.itemType === 'message' ? '#Microsoft.Graph.Message' : '#Microsoft.Graph.Event',
        '@odata.id': resource,
        '@odata.etag': `W/"${Buffer.from(`${change.immutableId.slice(-8)}:${change.seq}`).toString('base64')}"`,
        id: itemId,
      },
      clientState: sub.clientState,
      tenantId: this.#o.tenantId,
    });
    if (sub.paused) {
      this.#o.delivery.lost(notification, 'paused');
      return;
    }
    if (sub.missNext > 0) {
      sub.missNext--;
      this.#o.delivery.lost(notification, 'missed');
      if (sub.missNext === 0) this.#sendMissed(sub, true);
      return;
    }
    this.#o.delivery.enqueue(sub.notificationUrl, notification);
  }
}

/** A notification on its way, due at `dueAt` (its first attempt; retries keep the 4-hour limit from there). */
function pending(
  channel: Notification['channel'],
  sub: Subscription,
  dueAt: number,
  changeSeq: number | null,
  item: Record<string, unknown>,
): Notification {
  return { channel, subscriptionId: sub.id, item, changeSeq, firstDueAt: dueAt, dueAt, attempts: 0 };
}

/** The change notifications one change raises for one watched resource: [changeType, default id]. */
function notificationsFor(watched: WatchedResource, change: GraphChange): Array<[ChangeType, string]> {
  if (watched.type === 'events')
    return change.itemType === 'event' && change.kind !== 'moved' ? [[change.kind, change.id]] : [];
  if (change.itemType !== 'message') return [];
  const folder = watched.folder;
  if (change.kind === 'moved') {
    const out: Array<[ChangeType, string]> = [];
    if (folder === null || folder === change.oldFolder) out.push(['deleted', change.oldId ?? change.id]);
    if (folder === null || folder === change.folder) out.push(['created', change.id]);
    return out;
  }
  if (folder !== null && folder !== change.folder) return [];
  return [[change.kind, change.id]];
}

/** The permission a watched resource needs (Learn, outlook change notifications: least privileged). */
export function permissionFor(watched: WatchedResource): readonly GraphPermission[] {
  return watched.type === 'messages' ? ['Mail.Read', 'Mail.ReadBasic'] : ['Calendars.Read'];
}

function view(sub: Subscription): SubscriptionView {
  return {
    id: sub.id,
    applicationId: sub.clientId,
    resource: sub.resource,
    changeType: [...sub.changeTypes].join(','),
    clientState: sub.clientState,
    notificationUrl: sub.notificationUrl,
    lifecycleNotificationUrl: sub.lifecycleNotificationUrl,
    expirationDateTime: new Date(sub.expiresAt).toISOString(),
    includeResourceData: sub.includeResourceData,
    immutableIds: sub.immutableIds,
    mailbox: sub.watched.mailbox,
    state: sub.state,
    createdAt: sub.createdAt,
    endedAt: sub.endedAt,
    endReason: sub.endReason,
    reauthorizationRequiredSince: sub.reauthorizationRequiredSince,
    paused: sub.paused,
  };
}
