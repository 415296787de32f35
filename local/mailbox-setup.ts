/**
 * The mailboxes of a local run, added through the same admin code the CLI uses, and like the CLI
 * waiting until each is watched: the lifecycle takes its baseline, then subscribes.
 */
import type { AdminResponse } from '../functions/admin/commands.ts';
import { setupOf } from '../functions/admin/manage.ts';
import type { SubscriptionRecord } from '../functions/domain/subscription.ts';
import type { LocalSystemOptions } from './options.ts';

/** Adds each mailbox; says into `watched` which ones the run watches (added now or kept from an earlier run). */
export async function addMailboxes(args: {
  readonly mailboxes: readonly string[];
  /** The connection each mailbox is added with (its source follows from the connection's kind). */
  readonly connectionOf: (mailbox: string) => string;
  readonly watched: string[];
  /** Runs one admin command, exactly as the CLI would. */
  readonly admin: (command: Record<string, unknown>) => Promise<AdminResponse>;
  readonly sweep: () => Promise<unknown>;
  readonly records: () => Promise<SubscriptionRecord[]>;
  readonly options: LocalSystemOptions;
  /** Ends the setup early: no more adds, no more waiting (what was added stays added). */
  readonly signal?: AbortSignal;
}): Promise<void> {
  const { watched, options, signal } = args;
  const logTo = options.log;
  // A few adds at once, as several operators would: each waits on the table and the secrets
  // most of its time, and a thousand one after another took minutes before the first sweep.
  const queue = [...args.mailboxes];
  const addNext = async (): Promise<void> => {
    for (let mailbox = queue.shift(); mailbox !== undefined && !signal?.aborted; mailbox = queue.shift())
      await addOne(mailbox);
  };
  const addOne = async (mailbox: string): Promise<void> => {
    const response = await addRetryingTransient(
      () =>
        args.admin({
          command: 'add',
          mailbox,
          connection: args.connectionOf(mailbox),
          // What `add` defaults to: every folder, the custom one included (FindFolder lists them).
          folders: 'all',
          statusFrequency: options.statusFrequency ?? 1,
        }),
      (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    );
    if (response.ok) {
      watched.push(mailbox);
    } else if (response.error.name === 'MailboxAlreadyWatchedError') {
      // Kept in --data-dir from an earlier run: its subscription died with that run's
      // simulator, and the lifecycle renews it as stale.
      watched.push(mailbox);
      logTo?.({
        level: 'info',
        service: 'admin',
        message: `${mailbox} is watched since an earlier run (kept in --data-dir); the lifecycle renews its subscription`,
        extra: {},
      });
    } else {
      logTo?.({
        level: 'error',
        service: 'admin',
        message: `could not add ${mailbox}`,
        extra: { error: response.error.message },
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT_ADDS }, () => addNext()));
  if (signal?.aborted) return;
  // The schedule's next sweep would hand them to the renewer within a simulated minute; one
  // now saves starting that long. Only a head start: if it fails (an AWS fault that outlasted the
  // SDK's retries, as --aws-faults makes a few in a thousand calls), the schedule's sweep does it.
  try {
    await args.sweep();
  } catch (error) {
    logTo?.({
      level: 'warn',
      service: 'sweeper',
      message: 'the sweep after adding the mailboxes failed; the next scheduled sweep hands them on',
      extra: { error: error instanceof Error ? error.message : String(error) },
    });
  }
  await untilSetUp(watched, args.records, logTo, options.progress, signal);
}

const CONCURRENT_ADDS = 8;

/**
 * AWS errors that say "try again" (what the SDK's own retry treats as transient): an add that
 * still failed with one after the SDK's retries, as AWS faults (`--aws-faults`, `--chaos`) make
 * one in a few hundred do, is tried again, as a person at the CLI would. A retry of an add that
 * took effect before its answer was lost finds the mailbox there: MailboxAlreadyWatchedError,
 * which counts as watched.
 */
const TRANSIENT_AWS_ERRORS: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
]);
const ADD_ATTEMPTS = 5;

/** Runs `add` until it succeeds or fails for a reason other than a transient AWS error (at most 5 times). */
export async function addRetryingTransient(
  add: () => Promise<AdminResponse>,
  pause: (ms: number) => Promise<unknown>,
): Promise<AdminResponse> {
  let response = await add();
  for (let attempt = 1; attempt < ADD_ATTEMPTS; attempt++) {
    if (response.ok || !TRANSIENT_AWS_ERRORS.has(response.error.name)) return response;
    await pause(100 * 2 ** attempt);
    response = await add();
  }
  return response;
}

/**
 * Waits until every mailbox is watched, or its first attempt failed (the lifecycle retries it on
 * its own; said once, as a warning). Says how far it has come when that changes.
 */
async function untilSetUp(
  mailboxes: readonly string[],
  records: () => Promise<SubscriptionRecord[]>,
  log: LocalSystemOptions['log'],
  progress: LocalSystemOptions['progress'],
  signal: AbortSignal | undefined,
): Promise<void> {
  const failed = new Set<string>();
  const watching = new Set(mailboxes);
  let said = '';
  let saidAt = 0;
  while (!signal?.aborted) {
    let watched = 0;
    let waiting = 0;
    for (const record of await records()) {
      if (!watching.has(record.mailbox)) continue;
      const setup = setupOf(record);
      if (setup.kind === 'watched') watched++;
      else if (setup.kind === 'failed' && !failed.has(record.mailbox)) {
        failed.add(record.mailbox);
        log?.({ level: 'warn', service: 'admin', message: setup.message, extra: {} });
      } else if (setup.kind === 'settingUp' && !failed.has(record.mailbox)) waiting++;
    }
    if (waiting === 0) return;
    const line = `${watched} of ${mailboxes.length} mailboxes watched (each: baseline, then Subscribe)${failed.size > 0 ? `, ${failed.size} being retried` : ''}`;
    // At most once a second: a thousand mailboxes would otherwise print a thousand lines.
    if (line !== said && Date.now() - saidAt >= 1000) {
      progress?.(line);
      said = line;
      saidAt = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
