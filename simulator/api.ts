/**
 * What a started simulator offers in-process: the interface `startSimulator` returns, which the
 * `/_sim/` control API (control-api.ts) serves over HTTP operation for operation. It lives apart
 * from server.ts so the control API can depend on it without depending on the server.
 */
import type { Clock } from '../functions/core/clock.ts';
import type { AuthMode, Credentials } from './auth.ts';
import type { ChangeRequest } from './change-planner.ts';
import type { FaultSettings } from './faults.ts';
import type { ChangeRecord, MailboxDescription } from './mailbox-store.ts';
import type { MassLoss } from './mass-loss.ts';
import type { DeliveryRecord, SubscriptionView } from './push-engine.ts';

export interface MailboxMove {
  readonly mailbox: string;
  /** The database the mailbox is on now (1 at start, +1 per move). */
  readonly database: number;
  /** Until this simulated time, requests for the mailbox get ErrorMailboxMoveInProgress. */
  readonly movingUntil: number;
}

/** A mailbox as `mailboxes()` describes it; its folders by name, the custom one as `projects`. */
export type MailboxSummary = MailboxDescription;

/**
 * The version of the `/_sim/` control API. Within a version, requests keep their meaning and
 * answers keep every field they have (fields may be added); anything else is a new version.
 */
export const CONTROL_API_VERSION = 1;

export interface SimulatorSummary {
  /** CONTROL_API_VERSION. */
  readonly apiVersion: number;
  readonly url: string;
  readonly ewsUrl: string;
  readonly tokenUrl: string;
  readonly auth: AuthMode;
  readonly timeScale: number;
  /** The simulated time now, ISO 8601. */
  readonly now: string;
  readonly seed: number;
  readonly mailboxes: readonly string[];
  readonly faults: FaultSettings;
}

export interface Simulator {
  /** `http://host:port` */
  readonly url: string;
  /** `${url}/EWS/Exchange.asmx` */
  readonly ewsUrl: string;
  /** The OAuth2 client-credentials endpoint, `${url}/{tenant}/oauth2/v2.0/token`. */
  readonly tokenUrl: string;
  /** `${url}/_sim` */
  readonly controlUrl: string;
  readonly clock: Clock;
  readonly auth: AuthMode;
  readonly credentials: Credentials;
  readonly seed: number;
  readonly mailboxAddresses: readonly string[];
  makeChange(request: ChangeRequest): ChangeRecord;
  dropSubscription(subscriptionId: string): SubscriptionView;
  moveMailbox(mailbox: string): MailboxMove;
  /**
   * Moves many mailboxes at once (a mass loss, mass-loss.ts): `{count}` mailboxes, a `{fraction}`
   * of them, or, given neither, the `massLossFraction` fault's share.
   */
  massLoss(request?: { readonly count?: number; readonly fraction?: number }): MassLoss;
  /** Every mass loss so far (the fault's and requested ones), in order. */
  massLosses(): readonly MassLoss[];
  setFaults(faults: Partial<FaultSettings>): FaultSettings;
  /** Changes the rate of automatic changes (per simulated minute per mailbox) from now on; 0 stops them. */
  setChangeRate(changeRate: number): void;
  faults(): FaultSettings;
  changes(filter?: { mailbox?: string; after?: number }): readonly ChangeRecord[];
  subscriptions(filter?: { mailbox?: string }): SubscriptionView[];
  deliveries(filter?: { subscriptionId?: string; after?: number }): readonly DeliveryRecord[];
  mailboxes(): MailboxSummary[];
  summary(): SimulatorSummary;
  stop(): Promise<void>;
}
