/**
 * The simulator's settings: what `startSimulator` accepts, the defaults, and the checks that turn
 * a bad setting into an error saying which setting, what it was, and what would be accepted.
 * The CLI reads its flags into the same object, so both fail the same way.
 */
import { type Clock, createScaledClock } from '../functions/core/clock.ts';
import { showValue } from '../functions/core/show.ts';
import {
  AUTH_MODES,
  type AuthMode,
  type BasicCredential,
  type Credentials,
  DEFAULT_CREDENTIALS,
  DEFAULT_TENANT,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  isAuthMode,
  type OAuthClient,
} from './auth.ts';
import { DEFAULT_MAX_SUBSCRIPTIONS_PER_MAILBOX } from './ews-service.ts';
import { CHAOS_FAULTS, type FaultSettings, NO_FAULTS, parseFaultSettings } from './faults.ts';

export interface SimulatorOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** The clock to run on (share it with the bridge). @default a scaled clock at `timeScale` */
  readonly clock?: Clock;
  /** Simulated seconds per real second, when no clock is given. @default 1 */
  readonly timeScale?: number;
  /** @default 'none' */
  readonly auth?: AuthMode;
  /** Mailbox addresses, or how many to generate (user1@contoso.test, …). @default 1 */
  readonly mailboxes?: readonly string[] | number;
  /** Automatic changes per simulated minute per mailbox; 0 for none. @default 0 */
  readonly changeRate?: number;
  /** Start with every fault on (CHAOS_FAULTS); `faults` still overrides single knobs. @default false */
  readonly chaos?: boolean;
  readonly faults?: Partial<FaultSettings>;
  /** Seed of every random choice. @default 1 */
  readonly seed?: number;
  /** Accepted credentials; a kind left out keeps its default (DEFAULT_CREDENTIALS). */
  readonly credentials?: {
    readonly basic?: readonly BasicCredential[];
    readonly oauth?: readonly OAuthClient[];
  };
  /** The tenant in the token URL. @default 'contoso.test' */
  readonly tenant?: string;
  /** Lifetime of issued tokens, simulated seconds. @default 3599 */
  readonly tokenLifetimeSeconds?: number;
  /**
   * A push without a reply for this long (simulated ms) is a timeout. Exchange's own timeout is not
   * documented; answer well within it. @default 10000
   */
  readonly pushTimeoutMs?: number;
  /** …but never before this much real time has passed, whatever the time scale. @default 1000 */
  readonly minPushTimeoutRealMs?: number;
  /** Active subscriptions a mailbox may have (ErrorExceededSubscriptionCount beyond). @default 20 */
  readonly maxSubscriptionsPerMailbox?: number;
  /**
   * Items each mailbox starts with, recorded as creates in the ground truth: in turn two messages
   * in the inbox, a calendar item and a message in projects. @default 4
   */
  readonly initialItems?: number;
}

/** The options, checked and with every default filled in. */
export interface ResolvedOptions {
  readonly port: number;
  readonly host: string;
  readonly clock: Clock;
  readonly auth: AuthMode;
  readonly mailboxes: readonly string[];
  readonly changeRate: number;
  readonly faults: FaultSettings;
  readonly seed: number;
  readonly credentials: Credentials;
  readonly tenant: string;
  readonly tokenLifetimeSeconds: number;
  readonly pushTimeoutMs: number;
  readonly minPushTimeoutRealMs: number;
  readonly maxSubscriptionsPerMailbox: number;
  readonly initialItems: number;
}

/** A setting the simulator cannot run with. The message names it, shows it and says what is accepted. */
export class SimulatorConfigError extends Error {
  override readonly name = 'SimulatorConfigError';
  readonly setting: string;

  constructor(setting: string, value: unknown, expected: string) {
    super(`${setting} ${showValue(String(value))} is not valid: ${expected}`);
    this.setting = setting;
  }
}

/** Mailboxes generated from a count: user1@contoso.test, user2@contoso.test, … */
export function generatedMailboxes(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `user${i + 1}@contoso.test`);
}

const ADDRESS = /^[^@\s<>"]+@[^@\s<>"]+\.[^@\s<>"]+$/;

function integer(setting: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SimulatorConfigError(setting, value, `expected a whole number from ${min} to ${max}`);
  }
  return value;
}

function positive(setting: string, value: number, allowZero: boolean): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new SimulatorConfigError(
      setting,
      value,
      `expected a number ${allowZero ? 'of at least 0' : 'above 0'}`,
    );
  }
  return value;
}

export function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  const port = integer('port', options.port ?? 0, 0, 65535);
  const host = options.host ?? '127.0.0.1';
  if (host === '')
    throw new SimulatorConfigError('host', host, 'expected a host name or IP address to listen on');
  let clock = options.clock;
  if (clock === undefined) {
    clock = createScaledClock({ timeScale: positive('timeScale', options.timeScale ?? 1, false) });
  } else if (options.timeScale !== undefined && options.timeScale !== clock.timeScale) {
    throw new SimulatorConfigError(
      'timeScale',
      options.timeScale,
      `a clock was given too, running at ${clock.timeScale}; give one or the other`,
    );
  }
  const auth = options.auth ?? 'none';
  if (!isAuthMode(auth))
    throw new SimulatorConfigError('auth', auth, `expected one of ${AUTH_MODES.join(', ')}`);

  const requested = options.mailboxes ?? 1;
  const mailboxes =
    typeof requested === 'number'
      ? generatedMailboxes(integer('mailbox count', requested, 1, 100_000))
      : [...requested];
  if (mailboxes.length === 0)
    throw new SimulatorConfigError('mailboxes', '', 'expected at least one mailbox address');
  const seen = new Set<string>();
  for (const address of mailboxes) {
    if (!ADDRESS.test(address)) {
      throw new SimulatorConfigError('mailbox', address, 'expected an SMTP address such as ada@contoso.test');
    }
    if (seen.has(address.toLowerCase())) {
      throw new SimulatorConfigError(
        'mailbox',
        address,
        'is listed twice (addresses compare case-insensitively)',
      );
    }
    seen.add(address.toLowerCase());
  }

  const faults = parseFaultSettings(options.faults ?? {});
  if (!faults.ok) throw new SimulatorConfigError('faults', JSON.stringify(options.faults), faults.error);

  const credentials: Credentials = {
    basic: options.credentials?.basic ?? DEFAULT_CREDENTIALS.basic,
    oauth: options.credentials?.oauth ?? DEFAULT_CREDENTIALS.oauth,
  };
  for (const c of credentials.basic) {
    if (!c.username || c.username.includes(':') || !c.password) {
      throw new SimulatorConfigError(
        'credentials.basic username',
        c.username,
        'expected a non-empty user name without ":" and a non-empty password',
      );
    }
  }
  for (const c of credentials.oauth) {
    if (!c.clientId || !c.clientSecret) {
      throw new SimulatorConfigError(
        'credentials.oauth clientId',
        c.clientId,
        'expected a non-empty client id and secret',
      );
    }
  }
  const tenant = options.tenant ?? DEFAULT_TENANT;
  if (!/^[A-Za-z0-9.-]+$/.test(tenant)) {
    throw new SimulatorConfigError(
      'tenant',
      tenant,
      'expected a tenant id or domain (letters, digits, dots, dashes)',
    );
  }
  return {
    port,
    host,
    clock,
    auth,
    mailboxes,
    changeRate: positive('changeRate', options.changeRate ?? 0, true),
    faults: { ...(options.chaos ? CHAOS_FAULTS : NO_FAULTS), ...faults.value },
    seed: integer('seed', options.seed ?? 1, 0, 2 ** 32 - 1),
    credentials,
    tenant,
    tokenLifetimeSeconds: integer(
      'tokenLifetimeSeconds',
      options.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
      1,
      86_400,
    ),
    pushTimeoutMs: positive('pushTimeoutMs', options.pushTimeoutMs ?? 10_000, false),
    minPushTimeoutRealMs: positive('minPushTimeoutRealMs', options.minPushTimeoutRealMs ?? 1000, true),
    maxSubscriptionsPerMailbox: integer(
      'maxSubscriptionsPerMailbox',
      options.maxSubscriptionsPerMailbox ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_MAILBOX,
      1,
      100_000,
    ),
    initialItems: integer('initialItems', options.initialItems ?? 4, 0, 1000),
  };
}
