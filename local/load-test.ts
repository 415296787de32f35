/**
 * The seed's load test, on the local run (issue 13): calendar items created across many
 * mailboxes with enrichment on, until every one has reached the consumer as an event that
 * carries the item. The seed created 100,000 items across 80 mailboxes in "a little over 2
 * hours"; `npm run load-test -- --items 100000` runs that, the e2e test 2,000 of them.
 *
 * Items are created at the rate the bridge takes them: at most `window` are in flight (created,
 * not yet delivered with their item) at once, refilled half a window at a time, so the latency
 * measured is the pipeline's under a full load, not the age of an unbounded backlog. The judgement is the simulator's ground truth
 * (local/report.ts) plus a stricter check of our own: every created item's CreatedEvent carries
 * `data.item`.
 */
import { performance } from 'node:perf_hooks';
import type { ChangeRecord } from '../simulator/mailbox-store.ts';
import type { DeliveredEvent } from './audit.ts';
import type { RunReport } from './report.ts';
import { type LocalSystem, startLocalSystem } from './system.ts';

export interface LoadTestOptions {
  /** Calendar items to create, spread evenly over the mailboxes. */
  readonly items: number;
  /** @default 80 (the seed's) */
  readonly mailboxes?: number;
  /** Most items in flight at once. @default 25 per mailbox */
  readonly window?: number;
  /**
   * When to create more: `half` once half the window is delivered (fill it again at once), `each`
   * as soon as any item is delivered (a trickle: most pushes then carry one item). @default 'half'
   */
  readonly refill?: 'half' | 'each';
  /** Share of the items created as recurring series (the rest: single meetings). @default 0.2 */
  readonly recurringShare?: number;
  /** Processor batches at once (LocalSystemOptions.processorConcurrency). @default 1 */
  readonly processorConcurrency?: number;
  /** @default 1 (simulated time runs at real speed: latencies are real milliseconds) */
  readonly timeScale?: number;
  /** The drain's cap at the end, real ms. @default 5 min */
  readonly settleCapMs?: number;
  readonly seed?: number;
  /** Told how far it has come, about once a second. */
  readonly progress?: (line: string) => void;
}

export interface LoadTestResult {
  readonly items: number;
  readonly mailboxes: number;
  /** Items whose CreatedEvent reached the consumer with `data.item`. */
  readonly deliveredWithItem: number;
  /** Items created for which no such event arrived (the test's own check: 0). */
  readonly missingItems: number;
  /** Of the delivered CreatedEvents, those whose enrichment was not `item`, by outcome. */
  readonly enrichmentOutcomes: Readonly<Record<string, number>>;
  /** Real seconds: starting the system and watching the mailboxes. */
  readonly setupSeconds: number;
  /** Real seconds from the first item created to the last delivered with its item. */
  readonly loadSeconds: number;
  /** Real seconds from the start to the end of the drain. */
  readonly wallSeconds: number;
  readonly itemsPerSecond: number;
  /** Events the consumer received during the load (item and folder events). */
  readonly events: number;
  /** Real ms from the item's creation in Exchange to its CreatedEvent (with the item) at the consumer. */
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  /** Largest resident set size of this process seen (sampled every second), MB. */
  readonly peakRssMB: number;
  /** Largest V8 heap in use seen, MB (the rest of the RSS is buffers, code and what V8 keeps). */
  readonly peakHeapUsedMB: number;
  readonly settled: boolean;
  /** The run judged against the simulator's ground truth (missingChanges, duplicateEvents…). */
  readonly report: RunReport;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestResult> {
  const mailboxCount = options.mailboxes ?? 80;
  const window = options.window ?? 25 * mailboxCount;
  const recurringShare = options.recurringShare ?? 0.2;
  const timeScale = options.timeScale ?? 1;
  const started = performance.now();
  let peakRss = process.memoryUsage().rss;
  let peakHeap = process.memoryUsage().heapUsed;
  const rssTimer = setInterval(() => {
    const memory = process.memoryUsage();
    peakRss = Math.max(peakRss, memory.rss);
    peakHeap = Math.max(peakHeap, memory.heapUsed);
  }, 1000);
  rssTimer.unref();
  const system = await startLocalSystem({
    mailboxes: mailboxCount,
    timeScale,
    // Only the items this test makes: no automatic activity, no faults.
    changeRate: 0,
    enrich: 'default',
    statusFrequency: 1,
    seed: options.seed ?? 1,
    processorConcurrency: options.processorConcurrency ?? 1,
  });
  try {
    const setupSeconds = (performance.now() - started) / 1000;
    const loadStart = performance.now();
    const tracker = new CreatedItems(system);
    const addresses = system.simulator.mailboxAddresses;
    let created = 0;
    let lastSaid = 0;
    while (tracker.delivered < options.items) {
      tracker.read();
      // Refilled in halves by default: a user's burst of changes, which Exchange pushes several at
      // a time. Item by item (`each`), most pushes carry one item: that measures the cost per push.
      const refill = (options.refill ?? 'half') === 'each' || created - tracker.delivered <= window / 2;
      while (refill && created < options.items && created - tracker.delivered < window) {
        const mailbox = addresses[created % addresses.length] ?? '';
        const change = system.simulator.makeChange({
          mailbox,
          kind: 'create',
          folder: 'calendar',
          // Deterministic mix: every 1/share-th item is a series.
          calendarActivity:
            recurringShare > 0 && created % Math.round(1 / recurringShare) === 0
              ? 'recurringSeries'
              : 'singleMeeting',
        });
        tracker.expect(change);
        created++;
      }
      if (performance.now() - lastSaid >= 1000) {
        lastSaid = performance.now();
        const seconds = (lastSaid - loadStart) / 1000;
        options.progress?.(
          `${tracker.delivered} of ${options.items} items delivered with their item (${created} created, ${(tracker.delivered / Math.max(seconds, 0.001)).toFixed(0)} items/s)`,
        );
      }
      // Stalled for good (nothing delivered in a long while) is the drain's to judge.
      if (tracker.idleMs() > 120_000) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const eventsDuringLoad = system.delivered.length;
    const settled = await system.settle({ capMs: options.settleCapMs ?? 5 * 60_000 });
    tracker.read();
    const report = system.report();
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const latencies = tracker.latenciesMs(timeScale).sort((a, b) => a - b);
    return {
      items: options.items,
      mailboxes: mailboxCount,
      deliveredWithItem: tracker.delivered,
      missingItems: created - tracker.delivered,
      enrichmentOutcomes: tracker.outcomes,
      setupSeconds: round(setupSeconds),
      loadSeconds: round(loadSeconds),
      wallSeconds: round((performance.now() - started) / 1000),
      itemsPerSecond: round(tracker.delivered / loadSeconds),
      events: eventsDuringLoad,
      latencyMs: {
        p50: round(percentile(latencies, 50)),
        p90: round(percentile(latencies, 90)),
        p99: round(percentile(latencies, 99)),
        max: round(latencies.at(-1) ?? 0),
      },
      peakRssMB: Math.round(peakRss / 2 ** 20),
      peakHeapUsedMB: Math.round(peakHeap / 2 ** 20),
      settled: settled.settled,
      report,
    };
  } finally {
    clearInterval(rssTimer);
    await system.stop();
  }
}

/**
 * The items created and not yet seen with their item at the consumer, read off the run's audit
 * consumer as it grows.
 */
class CreatedItems {
  readonly #system: LocalSystem;
  /** Item id → when it was created (simulated ms). */
  readonly #awaited = new Map<string, number>();
  readonly #latencies: number[] = [];
  readonly outcomes: Record<string, number> = {};
  #read = 0;
  #lastProgress = performance.now();
  delivered = 0;

  constructor(system: LocalSystem) {
    this.#system = system;
  }

  expect(change: ChangeRecord): void {
    this.#awaited.set(change.itemId, change.at);
  }

  read(): void {
    const events = this.#system.delivered;
    for (; this.#read < events.length; this.#read++) {
      const event = events[this.#read];
      if (event !== undefined) this.#take(event);
    }
  }

  idleMs(): number {
    return this.#awaited.size === 0 ? 0 : performance.now() - this.#lastProgress;
  }

  latenciesMs(timeScale: number): number[] {
    return this.#latencies.map((simulatedMs) => simulatedMs / timeScale);
  }

  #take(event: DeliveredEvent): void {
    if (event.data.eventType !== 'CreatedEvent') return;
    const itemId = event.data.itemId;
    const id = typeof itemId === 'object' && itemId !== null ? Reflect.get(itemId, 'id') : undefined;
    if (typeof id !== 'string') return;
    const createdAt = this.#awaited.get(id);
    if (createdAt === undefined) return;
    const enrichment = event.data.enrichment;
    const outcome =
      typeof enrichment === 'object' && enrichment !== null
        ? String(Reflect.get(enrichment, 'outcome'))
        : 'none';
    if (outcome !== 'item' || typeof event.data.item !== 'object' || event.data.item === null) {
      this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
      return;
    }
    this.#awaited.delete(id);
    this.#latencies.push(event.receivedAt - createdAt);
    this.delivered++;
    this.#lastProgress = performance.now();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
