/**
 * The Graph stand-in's settings: what `startGraphSimulator` accepts, the defaults, the chaos knobs
 * (faults on purpose) and the rules where Microsoft Learn is silent or contradicts itself (each a
 * knob, so a test can pin the behaviour it depends on). A bad setting is a GraphSimulatorConfigError
 * that names the setting, shows the value and says what is accepted.
 */
import { type Clock, createScaledClock } from '../functions/core/clock.ts';
import { err, ok, type Result } from '../functions/core/result.ts';
import { showValue } from '../functions/core/show.ts';
import { generatedMailboxes } from '../simulator/options.ts';
import { RETRY_LIMIT_MS } from './delivery.ts';

/** Application permissions the stand-in knows (Learn, permissions reference). */
export const GRAPH_PERMISSIONS = ['Mail.Read', 'Mail.ReadBasic', 'Calendars.Read'] as const;
export type GraphPermission = (typeof GRAPH_PERMISSIONS)[number];
export function isGraphPermission(value: string): value is GraphPermission {
  return GRAPH_PERMISSIONS.some((known) => known === value);
}

export interface GraphClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** The application permissions an admin granted it. */
  readonly roles: readonly GraphPermission[];
}

/** Two apps: the bridge's (both permissions) and one that may read mail only (to prove the checks). */
export const DEFAULT_GRAPH_CLIENTS: readonly GraphClient[] = [
  {
    clientId: '3f9a1c52-7d4e-4b8a-9c1f-2e6d5a4b3c21',
    clientSecret: 'graph-simulator-secret',
    roles: ['Mail.Read', 'Calendars.Read'],
  },
  {
    clientId: '8b2e4d61-0c3f-4a7e-b5d9-1f2a3b4c5d6e',
    clientSecret: 'graph-simulator-mail-only-secret',
    roles: ['Mail.Read'],
  },
];

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const DEFAULT_GRAPH_TENANT = 'contoso.test';

/**
 * Faults on purpose. Rates are per occasion (per request, per delivery); `…PerHour` values are
 * expected occurrences per subscription (or mailbox) per simulated hour. All 0 by default.
 */
export interface GraphChaosSettings {
  /** Removals per active subscription per simulated hour: `subscriptionRemoved`, then the subscription is gone. */
  readonly subscriptionRemovedPerHour: number;
  /** Per active subscription per simulated hour: queued notifications lost, then a `missed` lifecycle notification. */
  readonly missedPerHour: number;
  /**
   * Per active subscription per simulated hour: a `reauthorizationRequired` challenge (as when an admin
   * revoked consent); delivery pauses if it is not answered within `reauthorizationGraceMs`.
   */
  readonly reauthorizationPerHour: number;
  /** Per mailbox per simulated hour: every delta token of the mailbox expires (410 on its next use). */
  readonly deltaTokenExpiryPerHour: number;
  /** Probability that a /users/… request gets 429 ApplicationThrottled with Retry-After. */
  readonly throttleRate: number;
  /** Probability that a delivery is held back by `slowDeliveryDelayMs` before it is sent (Graph's own latency). */
  readonly slowDeliveryRate: number;
}

export const NO_CHAOS: GraphChaosSettings = {
  subscriptionRemovedPerHour: 0,
  missedPerHour: 0,
  reauthorizationPerHour: 0,
  deltaTokenExpiryPerHour: 0,
  throttleRate: 0,
  slowDeliveryRate: 0,
};

/** `--chaos`: every fault on, at rates a local run sees within a few simulated hours. */
export const CHAOS: GraphChaosSettings = {
  subscriptionRemovedPerHour: 0.1,
  missedPerHour: 0.1,
  reauthorizationPerHour: 0.1,
  deltaTokenExpiryPerHour: 0.05,
  throttleRate: 0.05,
  slowDeliveryRate: 0.05,
};

const RATE_KEYS = ['throttleRate', 'slowDeliveryRate'] as const;
const PER_HOUR_KEYS = [
  'subscriptionRemovedPerHour',
  'missedPerHour',
  'reauthorizationPerHour',
  'deltaTokenExpiryPerHour',
] as const;
export const CHAOS_KEYS: readonly (keyof GraphChaosSettings)[] = [...PER_HOUR_KEYS, ...RATE_KEYS];

/**
 * Behaviours Learn leaves open. The defaults are the strictest reading a bridge must survive; each
 * is in docs/graph-simulator.md with what Learn says.
 */
export interface GraphRules {
  /**
   * Which existing subscription makes a create answer 409 Conflict: the same app's with the same
   * `resource` and `changeType` (Learn's "Create subscription", duplicate subscription behavior), also
   * the same `notificationUrl`, or none (the webhooks page says ids are unique "even if you have
   * multiple subscriptions that monitor the same resource and use the same notification URL").
   */
  readonly duplicateSubscription: 'resourceAndChangeType' | 'resourceChangeTypeAndUrl' | 'allowed';
  /** Whether a PATCH renewal validates the URLs again (field reports say it does). */
  readonly validateOnRenew: boolean;
  /** Whether `/users/{id}/calendars/{id}/events` may be subscribed to (Learn's table lists only `/users/{id}/events`). */
  readonly calendarEventsResource: boolean;
  /**
   * A reauthorize within this long of a PATCH of the same subscription (or a PATCH within this long of
   * a reauthorize) fails with 409; 0 turns the check off. Field advice, not in Learn.
   */
  readonly reauthorizeAndRenewSpacingMs: number;
  /** Whether notifications lost to the drop rule or to the 4-hour retry limit raise a `missed` lifecycle notification. */
  readonly missedOnLoss: boolean;
  /** How many answers an endpoint must have given in the 10-minute window before the slow/drop rules apply. */
  readonly throttleMinAnswers: number;
}

export const DEFAULT_RULES: GraphRules = {
  duplicateSubscription: 'resourceAndChangeType',
  validateOnRenew: true,
  calendarEventsResource: true,
  reauthorizeAndRenewSpacingMs: 0,
  missedOnLoss: true,
  throttleMinAnswers: 20,
};

export interface GraphSimulatorOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** The clock to run on (share the EWS simulator's and the bridge's). @default a scaled clock at `timeScale` */
  readonly clock?: Clock;
  /** Simulated seconds per real second, when no clock is given. @default 1 */
  readonly timeScale?: number;
  /** Mailbox addresses, or how many to generate (user1@contoso.test, …). @default 1 */
  readonly mailboxes?: readonly string[] | number;
  /** Automatic changes per simulated minute per mailbox. @default 0 */
  readonly changeRate?: number;
  /** Start with every chaos knob on (CHAOS); `chaos` settings below still override single knobs. */
  readonly chaosAll?: boolean;
  readonly chaos?: Partial<GraphChaosSettings>;
  readonly rules?: Partial<GraphRules>;
  /** @default 1 */
  readonly seed?: number;
  readonly clients?: readonly GraphClient[];
  /** The tenant in the token URL and in notifications' `tenantId` (a GUID is derived from it). @default 'contoso.test' */
  readonly tenant?: string;
  /** Lifetime of access tokens, simulated seconds. @default 3599 */
  readonly tokenLifetimeSeconds?: number;
  /** Seed each mailbox with items (recorded as creates). @default true */
  readonly seedItems?: boolean;
  /**
   * The least real time Graph's 3-second answer window may last, whatever the time scale; every
   * delivery and validation window grows in proportion (at 60× the 3 s become 1 real second). With a
   * stepped clock (time scale 1) the windows are exactly Graph's. @default 1000
   */
  readonly minAnswerWindowRealMs?: number;
  /** How long every /users/… request takes to answer, simulated ms (keeps requests in flight for the concurrency limit). @default 0 */
  readonly requestLatencyMs?: number;
  /** How long after a change its notification is due (Graph batches what falls due together). @default 1000 */
  readonly notificationDelayMs?: number;
  /** Largest `value` array in one POST (Learn gives none). @default 100 */
  readonly maxBatchSize?: number;
  /** How long unused delta and skip tokens live, simulated ms (Learn: no fixed limit for Outlook). @default 7 days */
  readonly deltaTokenLifetimeMs?: number;
  /** How long the 429 of throttleRate asks the client to wait, simulated seconds. @default 10 */
  readonly throttleRetryAfterSeconds?: number;
  /** How long slowDeliveryRate holds a delivery back, simulated ms. @default 60000 */
  readonly slowDeliveryDelayMs?: number;
  /**
   * How long a notification is retried after it was first due before it is discarded (and a
   * `missed` raised), simulated ms: Graph's 4 hours. Shorter lets a short local run prove Graph
   * checkpoints (the bridge's policy `graphRetryLimitMs` must then say the same). @default 14400000
   */
  readonly notificationRetryLimitMs?: number;
  /** How long a reauthorizationRequired challenge may go unanswered before delivery pauses, simulated ms. @default 600000 */
  readonly reauthorizationGraceMs?: number;
}

export interface ResolvedGraphOptions {
  readonly port: number;
  readonly host: string;
  readonly clock: Clock;
  readonly mailboxes: readonly string[];
  readonly changeRate: number;
  readonly chaos: GraphChaosSettings;
  readonly rules: GraphRules;
  readonly seed: number;
  readonly clients: readonly GraphClient[];
  readonly tenant: string;
  readonly tokenLifetimeSeconds: number;
  readonly seedItems: boolean;
  readonly minAnswerWindowRealMs: number;
  readonly requestLatencyMs: number;
  readonly notificationDelayMs: number;
  readonly maxBatchSize: number;
  readonly deltaTokenLifetimeMs: number;
  readonly throttleRetryAfterSeconds: number;
  readonly slowDeliveryDelayMs: number;
  readonly notificationRetryLimitMs: number;
  readonly reauthorizationGraceMs: number;
}

export class GraphSimulatorConfigError extends Error {
  override readonly name = 'GraphSimulatorConfigError';
  readonly setting: string;
  constructor(setting: string, value: unknown, expected: string) {
    super(`${setting} ${showValue(String(value))} is not valid: ${expected}`);
    this.setting = setting;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads untrusted chaos settings (the control API's JSON): only known keys, each a number in range. */
export function parseChaosSettings(input: unknown): Result<Partial<GraphChaosSettings>, string> {
  if (!isRecord(input)) return err('chaos settings must be a JSON object such as {"missedPerHour": 1}');
  const out: Partial<Record<keyof GraphChaosSettings, number>> = {};
  for (const [key, value] of Object.entries(input)) {
    const known = CHAOS_KEYS.find((k) => k === key);
    if (known === undefined)
      return err(`unknown chaos knob ${showValue(key)}; the knobs are ${CHAOS_KEYS.join(', ')}`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      return err(`chaos knob ${key} is ${showValue(String(value))}; it must be a number of at least 0`);
    }
    if (RATE_KEYS.some((k) => k === key) && value > 1) {
      return err(`chaos knob ${key} is ${value}; it is a probability, from 0 to 1`);
    }
    out[known] = value;
  }
  return ok(out);
}

const DUPLICATE_RULES = ['resourceAndChangeType', 'resourceChangeTypeAndUrl', 'allowed'] as const;

/** Reads untrusted rule settings: only known keys, each of its type. */
export function parseRules(input: unknown): Result<Partial<GraphRules>, string> {
  if (!isRecord(input)) return err('rules must be a JSON object such as {"validateOnRenew": false}');
  const out: { -readonly [K in keyof GraphRules]?: GraphRules[K] } = {};
  for (const [key, value] of Object.entries(input)) {
    switch (key) {
      case 'duplicateSubscription': {
        const rule = DUPLICATE_RULES.find((r) => r === value);
        if (rule === undefined)
          return err(`rule duplicateSubscription must be one of ${DUPLICATE_RULES.join(', ')}`);
        out.duplicateSubscription = rule;
        break;
      }
      case 'validateOnRenew':
      case 'calendarEventsResource':
      case 'missedOnLoss':
        if (typeof value !== 'boolean') return err(`rule ${key} must be true or false`);
        out[key] = value;
        break;
      case 'reauthorizeAndRenewSpacingMs':
      case 'throttleMinAnswers':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
          return err(`rule ${key} must be a whole number of at least 0`);
        }
        out[key] = value;
        break;
      default:
        return err(`unknown rule ${showValue(key)}; the rules are ${Object.keys(DEFAULT_RULES).join(', ')}`);
    }
  }
  return ok(out);
}

function integer(setting: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new GraphSimulatorConfigError(setting, value, `expected a whole number from ${min} to ${max}`);
  }
  return value;
}

function atLeastZero(setting: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new GraphSimulatorConfigError(setting, value, 'expected a number of at least 0');
  }
  return value;
}

const ADDRESS = /^[^@\s<>"]+@[^@\s<>"]+\.[^@\s<>"]+$/;

export function resolveGraphOptions(options: GraphSimulatorOptions): ResolvedGraphOptions {
  let clock = options.clock;
  if (clock === undefined) {
    const timeScale = options.timeScale ?? 1;
    if (!Number.isFinite(timeScale) || timeScale <= 0) {
      throw new GraphSimulatorConfigError('timeScale', timeScale, 'expected a number above 0');
    }
    clock = createScaledClock({ timeScale });
  } else if (options.timeScale !== undefined && options.timeScale !== clock.timeScale) {
    throw new GraphSimulatorConfigError(
      'timeScale',
      options.timeScale,
      `a clock was given too, running at ${clock.timeScale}; give one or the other`,
    );
  }
  const requested = options.mailboxes ?? 1;
  const mailboxes =
    typeof requested === 'number'
      ? generatedMailboxes(integer('mailbox count', requested, 1, 10_000))
      : [...requested];
  if (mailboxes.length === 0)
    throw new GraphSimulatorConfigError('mailboxes', '', 'expected at least one address');
  const seen = new Set<string>();
  for (const address of mailboxes) {
    if (!ADDRESS.test(address)) {
      throw new GraphSimulatorConfigError(
        'mailbox',
        address,
        'expected an SMTP address such as ada@contoso.test',
      );
    }
    if (seen.has(address.toLowerCase())) {
      throw new GraphSimulatorConfigError(
        'mailbox',
        address,
        'is listed twice (addresses compare case-insensitively)',
      );
    }
    seen.add(address.toLowerCase());
  }
  const chaos = parseChaosSettings(options.chaos ?? {});
  if (!chaos.ok) throw new GraphSimulatorConfigError('chaos', JSON.stringify(options.chaos), chaos.error);
  const rules = parseRules(options.rules ?? {});
  if (!rules.ok) throw new GraphSimulatorConfigError('rules', JSON.stringify(options.rules), rules.error);
  const clients = options.clients ?? DEFAULT_GRAPH_CLIENTS;
  for (const c of clients) {
    if (!c.clientId || !c.clientSecret) {
      throw new GraphSimulatorConfigError(
        'clients clientId',
        c.clientId,
        'expected a non-empty client id and secret',
      );
    }
  }
  const tenant = options.tenant ?? DEFAULT_GRAPH_TENANT;
  if (!/^[A-Za-z0-9.-]+$/.test(tenant)) {
    throw new GraphSimulatorConfigError(
      'tenant',
      tenant,
      'expected a tenant id or domain (letters, digits, dots, dashes)',
    );
  }
  const host = options.host ?? '127.0.0.1';
  if (host === '') throw new GraphSimulatorConfigError('host', host, 'expected a host name or IP address');
  return {
    port: integer('port', options.port ?? 0, 0, 65535),
    host,
    clock,
    mailboxes,
    changeRate: atLeastZero('changeRate', options.changeRate ?? 0),
    chaos: { ...(options.chaosAll ? CHAOS : NO_CHAOS), ...chaos.value },
    rules: { ...DEFAULT_RULES, ...rules.value },
    seed: integer('seed', options.seed ?? 1, 0, 2 ** 32 - 1),
    clients,
    tenant,
    tokenLifetimeSeconds: integer('tokenLifetimeSeconds', options.tokenLifetimeSeconds ?? 3599, 1, 86_400),
    seedItems: options.seedItems ?? true,
    minAnswerWindowRealMs: atLeastZero('minAnswerWindowRealMs', options.minAnswerWindowRealMs ?? 1000),
    requestLatencyMs: atLeastZero('requestLatencyMs', options.requestLatencyMs ?? 0),
    notificationDelayMs: atLeastZero('notificationDelayMs', options.notificationDelayMs ?? 1000),
    maxBatchSize: integer('maxBatchSize', options.maxBatchSize ?? 100, 1, 1000),
    deltaTokenLifetimeMs: atLeastZero(
      'deltaTokenLifetimeMs',
      options.deltaTokenLifetimeMs ?? 7 * 24 * 3_600_000,
    ),
    throttleRetryAfterSeconds: integer(
      'throttleRetryAfterSeconds',
      options.throttleRetryAfterSeconds ?? 10,
      1,
      3600,
    ),
    slowDeliveryDelayMs: atLeastZero('slowDeliveryDelayMs', options.slowDeliveryDelayMs ?? 60_000),
    notificationRetryLimitMs: atLeastZero(
      'notificationRetryLimitMs',
      options.notificationRetryLimitMs ?? RETRY_LIMIT_MS,
    ),
    reauthorizationGraceMs: atLeastZero('reauthorizationGraceMs', options.reauthorizationGraceMs ?? 600_000),
  };
}
