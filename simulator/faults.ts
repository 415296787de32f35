/**
 * The ways the simulator misbehaves on purpose, so the bridge can be shown to survive what real
 * Exchange does (ews-protocol.md §2, §3.3, §5). Every knob is off (0) by default; `--chaos` turns
 * them all on at rates a local run notices within minutes of simulated time.
 *
 * Probabilities are per occasion (per request, per notification); `...PerHour` values are the
 * expected number of occurrences per simulated hour (a Poisson process on the simulator's clock).
 */
import { err, ok, type Result } from '../functions/core/result.ts';
import { showValue } from '../functions/core/show.ts';

export interface FaultSettings {
  /**
   * Probability that an EWS request (Subscribe, GetItem, SyncFolderItems, …) is answered with the
   * `ErrorServerBusy` SOAP Fault (HTTP 500) carrying `BackOffMilliseconds`, instead of being
   * carried out. Checked after authentication.
   */
  readonly serverBusyRate: number;
  /** The `BackOffMilliseconds` value those faults carry (simulated milliseconds). */
  readonly serverBusyBackOffMs: number;
  /**
   * Probability that a GetItem request (only GetItem) gets that same `ErrorServerBusy` fault: a
   * client's item fetching can be throttled without its subscriptions and syncs being touched.
   */
  readonly getItemServerBusyRate: number;
  /**
   * Probability that a new item's subject holds a control character (U+0000, U+001A, …), which
   * GetItem and SyncFolderItems then write as a character reference XML 1.0 forbids (`&#x0;`), as
   * Exchange does: a client must read the rest of the response all the same.
   */
  readonly controlCharacterRate: number;
  /**
   * Probability that an EWS request is answered HTTP 503 with no SOAP body (IIS queuing requests,
   * ews-throttling-in-exchange.md Table 4), instead of being carried out.
   */
  readonly unavailableRate: number;
  /**
   * Probability that a notification carrying events is never sent although the simulator counts it
   * as delivered: the next notification's PreviousWatermark then names a watermark the receiver
   * never saw (a gap it must detect). Heartbeats are never skipped.
   */
  readonly skipNotificationRate: number;
  /**
   * Probability that an acknowledged notification is sent once more, unchanged, straight away (as
   * when Exchange did not see the acknowledgement). The duplicate is not retried if it fails; if
   * it is answered `Unsubscribe`, the subscription ends.
   */
  readonly duplicatePushRate: number;
  /** Silent losses per active subscription per simulated hour (a server restart: no more pushes). */
  readonly subscriptionLossPerHour: number;
  /**
   * ErrorReadEventsFailed error pushes per active subscription per simulated hour. The error push
   * has the real, schema-invalid shape (no m:Notification, ews-protocol.md §1.5); the subscription
   * is deleted right after it, whatever the answer.
   */
  readonly errorPushPerHour: number;
  /** Mailbox moves per mailbox per simulated hour (the same as `moveMailbox`). */
  readonly mailboxMovePerHour: number;
  /** How long a move lasts: requests for the mailbox get ErrorMailboxMoveInProgress meanwhile (simulated ms). */
  readonly mailboxMoveDurationMs: number;
  /**
   * Mass losses per simulated hour, for the whole simulator (not per mailbox): each moves a
   * `massLossFraction` of the mailboxes at the same moment, as Exchange Online does when it
   * rebalances databases, so hundreds of subscriptions die at once (mass-loss.ts).
   */
  readonly massLossPerHour: number;
  /** The share of the mailboxes a mass loss moves (of all of them; at least one). */
  readonly massLossFraction: number;
}

export const NO_FAULTS: FaultSettings = {
  serverBusyRate: 0,
  serverBusyBackOffMs: 30_000,
  getItemServerBusyRate: 0,
  controlCharacterRate: 0,
  unavailableRate: 0,
  skipNotificationRate: 0,
  duplicatePushRate: 0,
  subscriptionLossPerHour: 0,
  errorPushPerHour: 0,
  mailboxMovePerHour: 0,
  mailboxMoveDurationMs: 60_000,
  massLossPerHour: 0,
  massLossFraction: 0.3,
};

/**
 * `--chaos`: every fault on. At these rates a mailbox with one subscription sees a loss of some kind
 * every few simulated hours and a throttled request every few dozen; a bridge that recovers shows
 * no lost change in the ground truth.
 */
export const CHAOS_FAULTS: FaultSettings = {
  serverBusyRate: 0.05,
  serverBusyBackOffMs: 30_000,
  getItemServerBusyRate: 0.05,
  controlCharacterRate: 0.01,
  unavailableRate: 0.02,
  skipNotificationRate: 0.02,
  duplicatePushRate: 0.05,
  subscriptionLossPerHour: 0.1,
  errorPushPerHour: 0.05,
  mailboxMovePerHour: 0.02,
  mailboxMoveDurationMs: 60_000,
  // About two a simulated day, each moving 30% of the mailboxes (300 of 1,000) at once.
  massLossPerHour: 0.1,
  massLossFraction: 0.3,
};

const RATE_KEYS = [
  'serverBusyRate',
  'getItemServerBusyRate',
  'controlCharacterRate',
  'unavailableRate',
  'skipNotificationRate',
  'duplicatePushRate',
  'massLossFraction',
] as const;
const NON_NEGATIVE_KEYS = [
  'serverBusyBackOffMs',
  'subscriptionLossPerHour',
  'errorPushPerHour',
  'mailboxMovePerHour',
  'mailboxMoveDurationMs',
  'massLossPerHour',
] as const;
export const FAULT_KEYS: readonly (keyof FaultSettings)[] = [...RATE_KEYS, ...NON_NEGATIVE_KEYS];

function isFaultKey(key: string): key is keyof FaultSettings {
  return FAULT_KEYS.some((known) => known === key);
}

/**
 * Reads untrusted fault settings (the control API's JSON, or a caller's object): only known keys,
 * each a finite number in range. Says what to do when something is wrong.
 */
export function parseFaultSettings(input: unknown): Result<Partial<FaultSettings>, string> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return err(`fault settings must be a JSON object such as {"serverBusyRate": 0.1}`);
  }
  const out: Partial<Record<keyof FaultSettings, number>> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!isFaultKey(key)) {
      return err(`unknown fault ${showValue(key)}; the faults are ${FAULT_KEYS.join(', ')}`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      return err(`fault ${key} is ${showValue(String(value))}; it must be a number of at least 0`);
    }
    if (RATE_KEYS.some((known) => known === key) && value > 1) {
      return err(`fault ${key} is ${value}; it is a probability, from 0 to 1`);
    }
    out[key] = value;
  }
  return ok(out);
}
