/**
 * What a started Graph stand-in offers in-process: the interface `startGraphSimulator` returns,
 * which the `/_graph-sim` control API (control-api.ts) serves over HTTP. It lives apart from
 * server.ts so the control API can depend on it without depending on the server.
 */
import type { Clock } from '../functions/core/clock.ts';
import type { DeliveryRecord, EndpointView, LossRecord, ValidationRecord } from './delivery.ts';
import type { ChangeRequest, GraphChange } from './mailbox-store.ts';
import type { GraphChaosSettings, GraphClient, GraphRules } from './options.ts';
import type { SubscriptionView } from './subscriptions.ts';

export interface GraphSimulatorSummary {
  readonly url: string;
  readonly graphUrl: string;
  readonly tokenUrl: string;
  readonly tenant: string;
  readonly tenantId: string;
  readonly timeScale: number;
  readonly now: string;
  readonly seed: number;
  readonly mailboxes: readonly string[];
  readonly changeRate: number;
  readonly chaos: GraphChaosSettings;
  readonly rules: GraphRules;
}

export interface GraphSimulator {
  /** `http://host:port` */
  readonly url: string;
  /** `${url}/v1.0` */
  readonly graphUrl: string;
  /** `${url}/{tenant}/oauth2/v2.0/token` */
  readonly tokenUrl: string;
  /** `${url}/_graph-sim` */
  readonly controlUrl: string;
  readonly scope: string;
  readonly tenantId: string;
  readonly clock: Clock;
  readonly clients: readonly GraphClient[];
  readonly mailboxAddresses: readonly string[];
  makeChange(request: ChangeRequest): GraphChange;
  removeSubscription(subscriptionId: string): SubscriptionView;
  missNotifications(subscriptionId: string, count?: number): SubscriptionView;
  requireReauthorization(subscriptionId: string): SubscriptionView;
  expireDeltaTokens(mailbox: string): { mailbox: string; tokens: number };
  throttle(mailbox: string, forMs: number): { mailbox: string; until: number };
  setChaos(update: Partial<GraphChaosSettings>): GraphChaosSettings;
  setRules(update: Partial<GraphRules>): GraphRules;
  setChangeRate(changeRate: number): void;
  chaos(): GraphChaosSettings;
  rules(): GraphRules;
  changes(filter?: { mailbox?: string; after?: number }): readonly GraphChange[];
  subscriptions(filter?: { mailbox?: string }): SubscriptionView[];
  deliveries(filter?: { subscriptionId?: string; after?: number }): readonly DeliveryRecord[];
  losses(filter?: { subscriptionId?: string }): readonly LossRecord[];
  validations(): readonly ValidationRecord[];
  endpoints(): EndpointView[];
  /** Notification and validation POSTs waiting for an answer now (0: the stand-in is at rest). */
  pendingRequests(): number;
  mailboxes(): Array<Record<string, unknown>>;
  summary(): GraphSimulatorSummary;
  stop(): Promise<void>;
}
