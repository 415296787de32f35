/** What a local run can be asked for, and what it logs: shared by every step of local/system.ts. */
import type { Clock } from '../functions/core/clock.ts';
import type { LogSink } from '../functions/core/telemetry.ts';
import type { LifecyclePolicy } from '../functions/domain/policy.ts';
import type { RenewOutcome } from '../functions/renewer/job.ts';
import type { GraphChaosSettings } from '../graph-simulator/options.ts';
import type { FaultSettings } from '../simulator/faults.ts';

/** Where a mailbox's changes come from: Exchange's EWS push, or Microsoft Graph change notifications. */
export type MailboxSource = 'ews' | 'graph';

export interface LocalSystemOptions {
  /** A clock to share; otherwise a scaled one. */
  readonly clock?: Clock;
  /** Simulated seconds per real second. @default 60 */
  readonly timeScale?: number;
  /** The receiver's and admin endpoint's port. @default 0 (a free one) */
  readonly port?: number;
  /** Mailboxes the simulator has; each is added (watched) at start unless `addMailboxes` is false. @default 5 */
  readonly mailboxes?: number | readonly string[];
  /** Changes per simulated minute per mailbox. @default 1 */
  readonly changeRate?: number;
  /**
   * Which source the mailboxes are on: all on EWS (the EWS simulator), all on Graph (the Graph
   * stand-in, connection `local-graph`), or every other one on Graph. `npm start` defaults to
   * `mixed`; in process the default stays EWS. @default 'ews'
   */
  readonly source?: 'ews' | 'graph' | 'mixed';
  /** All of the simulators' faults on: the EWS simulator's and the Graph stand-in's chaos knobs. */
  readonly chaos?: boolean;
  readonly faults?: Partial<FaultSettings>;
  /** The Graph stand-in's chaos knobs, over what `chaos` sets (graph-simulator/options.ts). */
  readonly graphChaos?: Partial<GraphChaosSettings>;
  /**
   * How long the Graph stand-in's delta links live unused (its `deltaTokenLifetimeMs`): shorter
   * than 7 days lets a short run see links expire that no checkpoint kept fresh. @default 7 days
   */
  readonly graphDeltaTokenLifetimeMs?: number;
  /**
   * Probability that an AWS call of the functions fails (throttling, 500, a timeout after the
   * call took effect; local/aws-faults.ts). @default `CHAOS_AWS_FAULT_RATE` with `chaos`, else 0
   */
  readonly awsFaultRate?: number;
  /** @default 1 */
  readonly seed?: number;
  /** StatusFrequency (minutes) of the subscriptions the local run creates. @default 1 */
  readonly statusFrequency?: number;
  /** Keep DynamoDB and SQS state (and the callback key) in this directory across runs. */
  readonly dataDir?: string;
  /** Add (watch) every simulator mailbox at start. @default true */
  readonly addMailboxes?: boolean;
  /**
   * Policy knobs over the defaults. `graphRetryLimitMs` is also how long the Graph stand-in retries
   * a notification (its `notificationRetryLimitMs`), so the Graph checkpoint's proof holds against
   * it: a run of a few simulated hours can prove checkpoints taken under a short limit.
   */
  readonly policy?: Partial<LifecyclePolicy>;
  /**
   * The local pollers wait briefly for fuller batches once a queue is empty (local/sqs-poller.ts):
   * fewer receive + delete pairs carrying one message each. @default true
   */
  readonly pollerBatchWindows?: boolean;
  /**
   * Processor batches running at once (the stack's event source allows 5). One by default: on
   * one process more pollers only help while the processor waits on Exchange (enrichment).
   * @default 1
   */
  readonly processorConcurrency?: number;
  /** Renewals running at once. @default 3 */
  readonly renewalConcurrency?: number;
  /** More renewals running at once while the mailboxes are being set up. @default 12 */
  readonly setupRenewalConcurrency?: number;
  /** Enrichment (GetItem between the ingest queue and the topic): the mode for every mailbox, or off. @default 'default' */
  readonly enrich?: 'none' | 'default' | 'full';
  /** Where the functions' log lines go. @default nowhere */
  readonly log?: (entry: LocalLogEntry) => void;
  /** Told how starting goes, while the mailboxes are being set up (it can take a while for many). */
  readonly progress?: (line: string) => void;
  /** Told about every renewal's outcome. */
  readonly onRenewal?: (outcome: RenewOutcome) => void;
}

export interface LocalLogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly service: string;
  readonly message: string;
  readonly extra: Record<string, unknown>;
}

/** A function's logger, writing to the run's log (if any) under the function's name. */
export function localLogger(log: LocalSystemOptions['log'], service: string): LogSink {
  const emit =
    (level: LocalLogEntry['level']) =>
    (message: string, ...extra: Record<string, unknown>[]) =>
      log?.({ level, service, message, extra: Object.assign({}, ...extra) });
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** The AWS fault rate `chaos` brings: about one call in fifty fails, one in 2,500 after the SDK's retry. */
export const CHAOS_AWS_FAULT_RATE = 0.02;
