/**
 * What the subscription record holds for a mailbox watched through Microsoft Graph (source
 * `graph`, from its connection's kind). Graph has no heartbeat and no watermark chain: a Graph
 * subscription is kept alive by renewing it before `expiresAt`, and what it may have missed is
 * found by delta queries (their links live in the sync-state table, as EWS SyncStates do).
 *
 * One subscription per resource (the mailbox's messages, its events). Each is created at a
 * generation of the mailbox (the record's `generation`, bumped for every new subscription of
 * either resource), which its clientState carries (graph/client-state.ts): the receiver tells the
 * current subscription from a superseded one by it, as the EWS callback URL's generation does.
 */
import type { LifecycleEvent } from '../graph/notification.ts';
import { MAX_EXPIRATION_MINUTES, renewalDueAt } from '../graph/subscription.ts';

/** Where a mailbox's changes come from; absent on records written before Graph (EWS). */
export type MailboxSource = 'ews' | 'graph';

export const GRAPH_RESOURCES = ['messages', 'events'] as const;
export type GraphResourceKind = (typeof GRAPH_RESOURCES)[number];

export interface GraphResourceSubscription {
  /** The mailbox generation this subscription was created at (in its clientState). */
  readonly generation: number;
  /** Absent while a create for `generation` has not answered yet (or failed). */
  readonly subscriptionId?: string;
  /** When Graph deletes it unless renewed (epoch ms). */
  readonly expiresAt?: number;
  /** Last successful create or PATCH of the expiry. */
  readonly lastRenewedAt?: number;
  /** Last PATCH made for a `reauthorizationRequired` (never two within 10 minutes). */
  readonly lastReauthorizedAt?: number;
}

export interface GraphMailboxState {
  /**
   * The user as subscription resources name it: the address at first (Graph takes a UPN), the
   * object id once a notification or delta link has named it.
   */
  readonly userId: string;
  /**
   * Graph's object id of the user, as its change notifications name it (`Users/{id}/Messages/…`,
   * never the address). Pinned by the receiver from the first verified change notification of the
   * mailbox (no Graph call under Mail.Read / Calendars.Read names it reliably); from then on a
   * verified notification naming another user is refused.
   */
  readonly objectId?: string;
  readonly messages?: GraphResourceSubscription;
  readonly events?: GraphResourceSubscription;
}

/** The bridge events a Graph mailbox's notifications map to (graph/events.ts): its record's `eventTypes`. */
export const GRAPH_EVENT_TYPES = ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent'] as const;

/**
 * Work a lifecycle notification asks of the renewer, per resource (kept in the record as a set,
 * so the receiver's writes are idempotent and commute; the renewer removes what it did):
 * - `reauthorize`: PATCH the expiry (`reauthorizationRequired`), not twice within 10 minutes;
 * - `catchUp`: delta catch-up of the resource (`missed`, or an item that could not be read);
 * - `recreate`: create a new subscription, then catch up (`subscriptionRemoved`).
 */
export const GRAPH_WORK = ['reauthorize', 'catchUp', 'recreate'] as const;
export type GraphWork = (typeof GRAPH_WORK)[number];

export function graphWorkOf(event: LifecycleEvent): GraphWork {
  switch (event) {
    case 'reauthorizationRequired':
      return 'reauthorize';
    case 'missed':
      return 'catchUp';
    case 'subscriptionRemoved':
      return 'recreate';
  }
}

/** Graph: do not PATCH and reauthorize (or PATCH again for reauthorization) within this long. */
export const REAUTHORIZATION_QUIET_MS = 10 * 60_000;

/** When the earliest of the mailbox's subscriptions is due for renewal, or undefined if none exists yet. */
export function graphRenewalDueAt(state: GraphMailboxState): number | undefined {
  const due = GRAPH_RESOURCES.map((kind) => state[kind]?.expiresAt)
    .filter((at): at is number => at !== undefined)
    .map((at) => renewalDueAt(at, MAX_EXPIRATION_MINUTES));
  return due.length === 0 ? undefined : Math.min(...due);
}

/**
 * How close to its expiry a Graph subscription may come before the sweeper counts it as not being
 * renewed (`GraphSubscriptionsExpiring`, alarmed on). Renewal is due half-way through the 7-day
 * maximum, so a subscription a day from expiring has gone 2.5 days without a successful renewal:
 * left alone, Graph deletes it and the mailbox's changes wait for a catch-up.
 */
export const GRAPH_EXPIRY_WARNING_MS = 24 * 60 * 60_000;

/** The mailbox is watched through Graph and one of its subscriptions expires within the warning time. */
export function graphExpiringUnrenewed(
  record: {
    readonly source?: MailboxSource;
    readonly state: string;
    readonly graph?: GraphMailboxState;
  },
  now: number,
): boolean {
  if (record.source !== 'graph' || record.state === 'removed' || record.graph === undefined) return false;
  const expiresAt = graphExpiresAt(record.graph);
  return expiresAt !== undefined && expiresAt - now <= GRAPH_EXPIRY_WARNING_MS;
}

/** The earliest expiry of the mailbox's subscriptions (what `show` and `list` print). */
export function graphExpiresAt(state: GraphMailboxState): number | undefined {
  const at = GRAPH_RESOURCES.map((kind) => state[kind]?.expiresAt).filter(
    (value): value is number => value !== undefined,
  );
  return at.length === 0 ? undefined : Math.min(...at);
}

/**
 * Whether the user a change notification names (its resource's `Users/{id}`) is the mailbox's:
 * its address (as subscribed) or its pinned object id, compared case-insensitively (GUIDs and
 * addresses both). `unpinned`: neither, and no object id is pinned yet (the first notification).
 */
export function notificationUserIs(
  state: Pick<GraphMailboxState, 'userId' | 'objectId'>,
  user: string,
): 'mailbox' | 'other' | 'unpinned' {
  const named = user.toLowerCase();
  if (named === state.userId.toLowerCase() || named === state.objectId?.toLowerCase()) return 'mailbox';
  return state.objectId === undefined ? 'unpinned' : 'other';
}

/** Which of the mailbox's resources a subscription id is, if any. */
export function resourceOfSubscription(
  state: GraphMailboxState,
  subscriptionId: string,
): GraphResourceKind | undefined {
  return GRAPH_RESOURCES.find((kind) => state[kind]?.subscriptionId === subscriptionId);
}

/** The receiver's routes for Graph: change notifications and lifecycle notifications (same handler). */
export const GRAPH_NOTIFICATION_ROUTE = '/graph/notify';
export const GRAPH_LIFECYCLE_ROUTE = '/graph/lifecycle';

/**
 * The URLs every Graph subscription of the deployment is created with. They carry no secret:
 * Graph batches notifications per URL across mailboxes, and the clientState authenticates.
 */
export function graphWebhookUrls(callbackBaseUrl: string): {
  readonly notificationUrl: string;
  readonly lifecycleNotificationUrl: string;
} {
  const base = callbackBaseUrl.replace(/\/+$/, '');
  return {
    notificationUrl: `${base}${GRAPH_NOTIFICATION_ROUTE}`,
    lifecycleNotificationUrl: `${base}${GRAPH_LIFECYCLE_ROUTE}`,
  };
}

/** What lifecycle notifications (and a Graph checkpoint) ask of the renewer, for one mailbox. */
export interface GraphWorkRequest {
  readonly work: readonly { readonly resource: GraphResourceKind; readonly work: GraphWork }[];
  /** Subscriptions of older generations to delete. */
  readonly obsolete: readonly string[];
}
