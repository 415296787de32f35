/**
 * The event source mappings and the schedule, as Lambda would run them: pollers feeding the
 * processor (ingest queue), the renewer (renewals queue, a few at once) and the run's audit
 * consumer, and the sweeper every simulated minute, one sweep at a time.
 */
import type { Clock } from '../functions/core/clock.ts';
import type { Emulators } from './emulators.ts';
import type { LocalSystemOptions } from './options.ts';
import type { Shutdown } from './shutdown.ts';
import { type SqsBatchHandler, SqsPoller } from './sqs-poller.ts';

interface Queue {
  readonly url: string;
  readonly arn: string;
}

export function startPollers(args: {
  readonly emulators: Emulators;
  readonly options: LocalSystemOptions;
  readonly shutdown: Shutdown;
  readonly processor: { readonly queue: Queue; readonly handler: SqsBatchHandler };
  readonly renewer: { readonly queue: Queue; readonly handler: SqsBatchHandler };
  readonly audit: { readonly queue: Queue; readonly handler: SqsBatchHandler };
}): Pollers {
  const { emulators, options, shutdown } = args;
  const poll = (
    name: string,
    queue: Queue,
    handler: SqsBatchHandler,
    batchSize: number,
    retryAfterSeconds: number,
    batchWindowMs: number,
  ) => {
    const poller = new SqsPoller(emulators.sqs, handler, {
      queueUrl: queue.url,
      queueArn: queue.arn,
      batchSize,
      waitSeconds: 1,
      retryAfterSeconds,
      batchWindowMs: window ? batchWindowMs : 0,
      onBatch: ({ error }) => {
        if (error !== undefined)
          options.log?.({
            level: 'error',
            service: name,
            message: 'batch failed',
            extra: { error: String(error) },
          });
      },
    });
    poller.start();
    shutdown.add(() => poller.stop());
    return poller;
  };
  // Batching windows (real ms; see SqsPoller): short for the processor, whose delay events see;
  // longer for the audit consumer. Waited only once a receive finds the queue empty: waiting after
  // every short receive slowed a 3-mailbox drain from 5 s to 118 s, since FIFO receives come back
  // short even with a backlog (issue 16). None for the renewer: its jobs are few, mostly delayed
  // messages that become visible one by one, and each window would add up to 200 real ms (2
  // simulated minutes at x600) to every step of a heal.
  const window = options.pollerBatchWindows ?? true;
  // Several pollers, as Lambda runs several processors (the event source's maximum concurrency):
  // the FIFO queue hands each message group to one of them at a time, so order per mailbox holds.
  for (let i = 0; i < Math.max(1, options.processorConcurrency ?? 1); i++)
    poll('processor', args.processor.queue, args.processor.handler, 10, 2, 100);
  for (let i = 0; i < Math.max(1, options.renewalConcurrency ?? 3); i++)
    poll('renewer', args.renewer.queue, args.renewer.handler, 5, 5, 0);
  poll('audit', args.audit.queue, args.audit.handler, 10, 1, 200);
  return {
    addRenewers(count) {
      const extra = Array.from({ length: Math.max(0, count) }, () =>
        poll('renewer', args.renewer.queue, args.renewer.handler, 5, 5, 0),
      );
      return async () => {
        await Promise.all(extra.map((poller) => poller.stop({ finishReceive: true })));
      };
    },
  };
}

export interface Pollers {
  /**
   * Runs `count` more renewals at once until the returned function is called (and has let the
   * batches under way finish): for setting up many mailboxes, whose baselines and first
   * subscriptions are all due at once (Lambda would scale the renewer out the same way).
   */
  addRenewers(count: number): () => Promise<void>;
}

/** The sweeper every simulated minute, as the EventBridge schedule runs it. */
export function scheduleSweeps(
  sweeper: () => Promise<unknown>,
  clock: Clock,
  log: LocalSystemOptions['log'],
  shutdown: Shutdown,
): void {
  let sweeping: Promise<void> | undefined;
  let cancelSweep: () => void = () => {};
  const scheduleSweep = () => {
    cancelSweep = clock.setTimer(60_000, () => {
      scheduleSweep();
      if (sweeping) return; // one sweep at a time, as the function's reserved concurrency of 1
      sweeping = sweeper()
        .then(
          () => {},
          (error: unknown) =>
            log?.({
              level: 'error',
              service: 'sweeper',
              message: 'sweep failed',
              extra: { error: String(error) },
            }),
        )
        .finally(() => {
          sweeping = undefined;
        });
    });
  };
  scheduleSweep();
  shutdown.add(async () => {
    cancelSweep();
    await sweeping;
  });
}
