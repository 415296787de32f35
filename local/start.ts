// `npm start`: the whole system on one machine (local/system.ts), with a live view of it. Ctrl-C
// stops it cleanly: the simulator's changes and faults stop, the run comes to rest, and the
// report says whether every change reached consumers and every lost subscription healed.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createScaledClock } from '../functions/core/clock.ts';
import type { SubscriptionRecord } from '../functions/domain/subscription.ts';
import { fold, logLine } from './log-line.ts';
import type { LocalLogEntry } from './options.ts';
import type { RunReport } from './report.ts';
import { type LocalSystem, startLocalSystem } from './system.ts';

const USAGE = `usage: npm start -- [options]

  --mailboxes <n>        simulated mailboxes, each watched by the bridge         (default 5)
  --duration <seconds>   stop after this many real seconds                        (default: until Ctrl-C)
  --time-scale <x>       simulated seconds per real second                        (default 60)
  --change-rate <n>      changes per simulated minute per mailbox                 (default 1)
  --source <s>           ews, graph or mixed: the mailboxes on the EWS simulator, on the
                         Graph stand-in, or every other one on Graph            (default mixed)
  --status-frequency <m> StatusFrequency of the subscriptions, minutes            (default 1)
  --chaos                turn on every fault of the EWS simulator and every chaos knob of
                         the Graph stand-in, and AWS faults at 0.02
  --enrich <mode>        GetItem enrichment: none, default or full               (default: default)
  --aws-faults <rate>    probability that a function's AWS call fails (throttling,
                         500, timeout after it took effect)          (default 0; 0.02 with --chaos)
  --port <p>             port of the receiver and the admin endpoint              (default: a free one)
  --seed <n>             the simulator's random seed                              (default 1)
  --data-dir <dir>       keep DynamoDB and SQS state there across runs            (default: in memory)
  --ready-file <file>    when everything is up, write its URLs there as JSON
  --report <file>        at exit, write the run's report there as JSON
`;

class UsageError extends Error {}

interface Flags {
  mailboxes: number;
  duration: number | undefined;
  timeScale: number;
  changeRate: number;
  source: 'ews' | 'graph' | 'mixed';
  statusFrequency: number;
  chaos: boolean;
  enrich: 'none' | 'default' | 'full';
  awsFaults: number | undefined;
  port: number;
  seed: number;
  dataDir: string | undefined;
  readyFile: string | undefined;
  reportFile: string | undefined;
}

function parseFlags(argv: string[]): Flags {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      mailboxes: { type: 'string' },
      duration: { type: 'string' },
      'time-scale': { type: 'string' },
      'change-rate': { type: 'string' },
      source: { type: 'string', default: 'mixed' },
      'status-frequency': { type: 'string' },
      chaos: { type: 'boolean', default: false },
      enrich: { type: 'string', default: 'default' },
      'aws-faults': { type: 'string' },
      port: { type: 'string' },
      seed: { type: 'string' },
      'data-dir': { type: 'string' },
      'ready-file': { type: 'string' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const number = (
    flag: string,
    raw: string | undefined,
    fallback: number,
    check: (n: number) => boolean,
    what: string,
  ) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || !check(value))
      throw new UsageError(`--${flag} ${JSON.stringify(raw)} is not valid: expected ${what}`);
    return value;
  };
  const whole = (n: number) => Number.isInteger(n);
  return {
    mailboxes: number(
      'mailboxes',
      values.mailboxes,
      5,
      (n) => whole(n) && n >= 1 && n <= 1000,
      'a whole number from 1 to 1000',
    ),
    duration:
      values.duration === undefined
        ? undefined
        : number('duration', values.duration, 0, (n) => n > 0, 'a number of seconds above 0'),
    timeScale: number(
      'time-scale',
      values['time-scale'],
      60,
      (n) => n > 0 && n <= 3600,
      'a number above 0, at most 3600',
    ),
    changeRate: number('change-rate', values['change-rate'], 1, (n) => n >= 0, 'a number of at least 0'),
    source:
      values.source === 'ews' || values.source === 'graph' || values.source === 'mixed'
        ? values.source
        : (() => {
            throw new UsageError(
              `--source ${JSON.stringify(values.source)} is not valid: expected ews, graph or mixed`,
            );
          })(),
    statusFrequency: number(
      'status-frequency',
      values['status-frequency'],
      1,
      (n) => whole(n) && n >= 1 && n <= 1440,
      'a whole number of minutes from 1 to 1440',
    ),
    chaos: values.chaos,
    enrich:
      values.enrich === 'none' || values.enrich === 'default' || values.enrich === 'full'
        ? values.enrich
        : (() => {
            throw new UsageError(
              `--enrich ${JSON.stringify(values.enrich)} is not valid: expected none, default or full`,
            );
          })(),
    awsFaults:
      values['aws-faults'] === undefined
        ? undefined
        : number('aws-faults', values['aws-faults'], 0, (n) => n >= 0 && n <= 1, 'a probability from 0 to 1'),
    port: number(
      'port',
      values.port,
      0,
      (n) => whole(n) && n >= 0 && n <= 65535,
      'a whole number from 0 to 65535',
    ),
    seed: number('seed', values.seed, 1, whole, 'a whole number'),
    dataDir: values['data-dir'],
    readyFile: values['ready-file'],
    reportFile: values.report,
  };
}

let flags: Flags;
try {
  flags = parseFlags(process.argv.slice(2));
} catch (e) {
  process.stderr.write(
    `${e instanceof UsageError ? (e.message ? `${e.message}\n\n` : '') : `${String(e)}\n\n`}${USAGE}`,
  );
  process.exit(e instanceof UsageError && e.message === '' ? 0 : 2);
}

const live = process.stdout.isTTY === true;
const recent: string[] = [];
const note = (line: string) => {
  if (live) {
    recent.push(line);
    if (recent.length > 6) recent.shift();
  } else {
    process.stdout.write(`${line}\n`);
  }
};
const onLog = (entry: LocalLogEntry) => {
  if (entry.level !== 'warn' && entry.level !== 'error') return;
  note(logLine(entry, time()));
};

// Made here rather than by the system, so lines written while it starts have their time too.
const clock = createScaledClock({ timeScale: flags.timeScale });
const time = () => new Date(clock.now()).toISOString().slice(11, 19);
let system: LocalSystem | undefined;

process.stdout.write(
  `exchange-push-bridge: starting the local run (${flags.mailboxes} mailboxes, source ${flags.source}, time x${flags.timeScale}${flags.chaos ? ', chaos' : ''})…\n`,
);
const startedAt = Date.now();
// Ctrl-C while the mailboxes are set up (a thousand take a minute or more) ends the setup and
// goes on to the drain and the report, on the mailboxes added so far.
const setup = new AbortController();
let stopRequested: string | undefined;
let onStopRequest = (reason: string) => {
  stopRequested ??= reason;
  setup.abort();
};
let interrupts = 0;
const onSignal = (signal: string) => {
  interrupts++;
  if (interrupts > 1) {
    process.stderr.write('stopping now, without the report\n');
    process.exit(130);
  }
  onStopRequest(signal);
};
process.on('SIGINT', () => onSignal('Ctrl-C'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
try {
  system = await startLocalSystem({
    addMailboxes: false,
    clock,
    mailboxes: flags.mailboxes,
    changeRate: flags.changeRate,
    source: flags.source,
    statusFrequency: flags.statusFrequency,
    chaos: flags.chaos,
    enrich: flags.enrich,
    ...(flags.awsFaults === undefined ? {} : { awsFaultRate: flags.awsFaults }),
    port: flags.port,
    seed: flags.seed,
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
    log: onLog,
    progress: (line) => process.stdout.write(`  ${line}\n`),
    onRenewal: (outcome) => {
      if (outcome.kind === 'subscribed')
        note(
          `${time()} [renewer] subscription ${outcome.how === 'resumed' ? 'renewed (resumed from the watermark)' : outcome.how === 'fresh' ? `replaced and caught up (${outcome.resyncPublished} resync events)` : 'created'}${outcome.recovered ? ', recovered' : ''}`,
        );
      if (outcome.kind === 'graphCheckpointed' && (outcome.promoted > 0 || outcome.subscriptionsGone > 0))
        note(
          `${time()} [renewer] Graph checkpoint: ${outcome.promoted} delta link(s) brought forward, ${outcome.trimmed} pushed item(s) no longer listed${outcome.subscriptionsGone > 0 ? `, ${outcome.subscriptionsGone} lost subscription(s) found and recreated` : ''}`,
        );
    },
  });
  if (stopRequested === undefined) await system.addMailboxes({ signal: setup.signal });
} catch (e) {
  process.stderr.write(`the local run could not start: ${e instanceof Error ? e.message : String(e)}\n`);
  await system?.stop();
  process.exit(1);
}
const running = system;

const ready = {
  receiverUrl: running.receiverUrl,
  sqsEndpoint: running.emulators.sqsEndpoint,
  consumerQueueUrl: running.consumerQueueUrl,
  simulatorUrl: running.simulator.url,
  ...(running.graph === undefined ? {} : { graphUrl: running.graph.url }),
  dynamodbEndpoint: running.emulators.dynamodbEndpoint,
  adminUrl: running.adminUrl,
};
if (flags.readyFile) writeFileSync(flags.readyFile, `${JSON.stringify(ready, null, 2)}\n`);
process.stdout.write(
  [
    `ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
    `  receiver (callback URLs)  ${ready.receiverUrl}/ews/…`,
    `  EWS simulator             ${ready.simulatorUrl}  (ground truth: ${ready.simulatorUrl}/_sim/changes)`,
    ...(running.graph === undefined
      ? []
      : [
          `  Graph stand-in            ${running.graph.url}  (ground truth: ${running.graph.controlUrl}/changes; its mailboxes use connection local-graph)`,
        ]),
    `  SQS/SNS endpoint          ${ready.sqsEndpoint}`,
    `  DynamoDB endpoint         ${ready.dynamodbEndpoint}`,
    `  events queue (consumers)  ${ready.consumerQueueUrl}`,
    `  admin endpoint            ${ready.adminUrl}  (npm run mailboxes -- list --endpoint ${ready.adminUrl})`,
    `Ctrl-C to stop${flags.duration ? ` (or after ${flags.duration} s)` : ''}.`,
    '',
  ].join('\n'),
);

// ---- the view ---------------------------------------------------------------------------------

let rendered = 0;
let lastCount = { events: 0, at: Date.now() };
let rate = 0;
let viewing: Promise<void> | undefined;

function render(): Promise<void> {
  viewing ??= draw().finally(() => {
    viewing = undefined;
  });
  return viewing;
}

async function draw(): Promise<void> {
  const records = await running.records();
  const depths = await running.queueDepths();
  const now = running.clock.now();
  const accepted = running.metrics.receiver.get('EventsAccepted');
  const elapsed = (Date.now() - lastCount.at) / 1000;
  if (elapsed >= 1) {
    rate = (accepted - lastCount.events) / elapsed;
    lastCount = { events: accepted, at: Date.now() };
  }
  const lines = view(records, depths, now);
  if (live) {
    // Redraw in place: up over the rows drawn last time, then clear to the end of the screen.
    // A line wider than the terminal would take more rows than counted, so each is folded.
    const rows = lines.flatMap((line) => fold(line, process.stdout.columns ?? 120));
    process.stdout.write(`${rendered > 0 ? `\x1b[${rendered}A` : ''}\x1b[0J${rows.join('\n')}\n`);
    rendered = rows.length;
  } else {
    process.stdout.write(`${lines.slice(1, 6).join(' | ')}\n`);
  }
}

function view(records: readonly SubscriptionRecord[], depths: Record<string, number>, now: number): string[] {
  const r = running.metrics.receiver;
  const n = running.metrics.renewer;
  const subs = running.simulator.subscriptions();
  const lost = subs.filter(
    (s) => s.state === 'lost' || s.state === 'expired' || s.state === 'deleted',
  ).length;
  const rows = records.map((record) => {
    const since =
      record.lastContactAt === undefined
        ? 'never'
        : `${Math.round((now - record.lastContactAt) / 1000)} s ago`;
    const flagsText = [
      record.recovery ? `recovering (${record.recovery})` : '',
      record.syncWork ? `sync: ${record.syncWork}` : '',
      record.lastError ? shorten(record.lastError, 50) : '',
    ]
      .filter(Boolean)
      .join(', ');
    // Graph sends no heartbeat: a quiet Graph mailbox has no last push to show.
    const graph = record.source === 'graph';
    return [
      record.mailbox,
      graph ? 'graph' : 'ews',
      record.state,
      String(record.generation),
      graph && record.lastContactAt === undefined ? '-' : since,
      flagsText,
    ];
  });
  const header = ['MAILBOX', 'SOURCE', 'STATE', 'GEN', 'LAST PUSH', 'NOTES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const table = [header, ...rows].map((row) =>
    row
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  const dlq =
    (depths.QueuesIngestDeadLetters ?? 0) +
    (depths.FanoutEventsDeadLetters ?? 0) +
    (depths.LifecycleRenewalsDeadLetters ?? 0);
  return [
    `── exchange-push-bridge, local run ── simulated ${new Date(now).toISOString().replace('T', ' ').slice(0, 19)} (x${running.clock.timeScale}) ── Ctrl-C to stop`,
    `events: ${r.get('EventsAccepted')} accepted (${rate.toFixed(1)}/s), ${running.delivered.length} delivered · notifications ${r.get('Notifications')} · heartbeats ${r.get('Heartbeats')} · duplicates ${r.get('Duplicates')} · gaps ${r.get('Gaps')} · unsubscribes ${r.get('UnsubscribesAnswered')}`,
    `renewals: ${n.get('RenewalsSucceeded')} done, ${n.get('RenewalsFailed')} failed, ${n.get('RenewalsThrottled')} throttled · mailboxes the bridge declared lost (renewals failing 30 min or 5 times) ${n.get('SubscriptionsLost')}, recovered since ${n.get('SubscriptionsRecovered')} · resync events ${n.get('ResyncEvents')}`,
    `simulator: ${running.simulator.changes().length} changes · subscriptions Exchange lost (dropped, expired, moved; each healed by a renewal) ${lost}${massLossText()}${flags.chaos ? ' · chaos on' : ''}`,
    ...(running.graph === undefined ? [] : [graphLine(running.graph)]),
    keepUpLine(),
    `queues: ingest ${depths.QueuesIngest ?? 0} · events ${depths.FanoutEvents ?? 0} (for your consumer) · renewals ${depths.LifecycleRenewals ?? 0} · dead letters ${dlq}`,
    '',
    ...table,
    ...(live && recent.length > 0 ? ['', ...recent] : []),
  ];
}

function graphLine(graph: NonNullable<LocalSystem['graph']>): string {
  const subs = graph.subscriptions();
  const ended = (state: string) => subs.filter((s) => s.state === state).length;
  const missed = graph
    .losses()
    .filter((l) => l.channel === 'change' && l.reason !== 'subscriptionEnded').length;
  return `graph: ${graph.changes().length} changes · subscriptions active ${ended('active')}, removed by Graph ${ended('removed')}, expired ${ended('expired')} · notifications lost (each announced by missed) ${missed}`;
}

function massLossText(): string {
  const losses = running.simulator.massLosses();
  const last = losses.at(-1);
  return last === undefined
    ? ''
    : ` · mass losses ${losses.length} (the last at ${new Date(last.at).toISOString().slice(11, 19)}: ${last.mailboxes.length} mailboxes moved at once)`;
}

function keepUpLine(): string {
  const reading = running.keepUp();
  if (reading === undefined) return 'load: measuring…';
  const line = `load: push answers p95 ${Math.round(reading.pushP95Ms)} ms of a ${Math.round(reading.pushTimeoutMs)} ms push timeout · ingest backlog ${reading.ingestBacklog}`;
  return reading.warning === undefined ? `${line} · keeping up` : `${line}\n!! ${reading.warning}`;
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const viewTimer = setInterval(() => void render().catch(() => {}), live ? 1000 : 10_000);

// ---- stopping ---------------------------------------------------------------------------------

let stopping = false;
async function finish(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(viewTimer);
  const boundMs = running.drainBoundMs();
  process.stdout.write(
    `\n${reason}: stopping the simulator's changes and faults and draining until the run comes to rest ` +
      `(at most ${seconds(boundMs)}: ${flags.statusFrequency * 2} simulated minutes of staleness threshold + ` +
      `a sweep + time to heal, at x${running.clock.timeScale}; longer while the queues still shrink or Graph still owes notifications, never past ${seconds(DRAIN_CAP_MS)})…\n`,
  );
  let lastProgress = 0;
  const settled = await running.settle({
    capMs: DRAIN_CAP_MS,
    onProgress: ({ waitedMs, boundMs: bound, state, awaitingChanges }) => {
      if (waitedMs - lastProgress < (live ? 1000 : 5000) && waitedMs > 0) return;
      lastProgress = waitedMs;
      const line = `  draining ${seconds(waitedMs)} of at most ${seconds(bound)}: in flight ${inFlightText(state.inFlight)} · mailboxes at work ${state.busyMailboxes.size} · changes awaited ${awaitingChanges}`;
      process.stdout.write(live ? `\r\x1b[2K${line}` : `${line}\n`);
    },
  });
  if (live) process.stdout.write('\n');
  process.stdout.write(
    settled.settled
      ? `  came to rest in ${seconds(settled.waitedMs)}\n`
      : `  did not come to rest within ${seconds(settled.waitedMs)}\n`,
  );
  const report: RunReport = running.report();
  // Written before stopping: the run's result does not depend on stopping well.
  if (flags.reportFile) writeFileSync(flags.reportFile, `${JSON.stringify(report, null, 2)}\n`);
  // A view being drawn still reads the emulators; they stop only after it.
  await viewing?.catch(() => {});
  await running.stop();
  process.stdout.write(summary(report));
  process.exitCode =
    report.settled && report.missingChanges - report.unobservableChanges === 0 && report.unhealed === 0
      ? 0
      : 1;
}

/** The drain never takes longer than this, however far behind the run is. */
const DRAIN_CAP_MS = 10 * 60_000;

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function inFlightText(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .map(([queue, n]) => `${queue} ${n}`)
    .join(' · ');
}

function summary(report: RunReport): string {
  const deadLetters = Object.values(report.deadLetters).reduce((sum, n) => sum + n, 0);
  const lines = [
    '',
    'run report',
    `  settled                         ${report.settled ? 'yes' : 'no: in-flight work below is awaited, not missing'}`,
    `  in flight                       ${inFlightText(report.inFlight) || 'unknown'}${deadLetters > 0 ? ` · dead letters ${inFlightText(report.deadLetters)}` : ''}`,
    `  changes made by the simulator   ${report.generatedChanges}`,
    `  events delivered to consumers   ${report.deliveredEvents}`,
    `  changes still awaited           ${report.awaitingChanges}${report.awaitingChanges > 0 ? ' (can still arrive: not counted as missing)' : ''}`,
    `  missing changes (cannot arrive) ${report.missingChanges}${report.unobservableChanges > 0 ? ` (${report.unobservableChanges} of them unobservable: created and deleted while no subscription existed, then resynced)` : ''}`,
    `  duplicate events                ${report.duplicateEvents}`,
    `  subscriptions lost by Exchange  ${report.subscriptionsLost}`,
    `  … of them healed                ${report.subscriptionsRecovered}`,
    `  mailboxes unhealed              ${report.unhealed}`,
    `  heal time (ordinary losses)     p50 ${report.healSeconds.p50} · p95 ${report.healSeconds.p95} · max ${report.maxHealSeconds} simulated seconds`,
  ];
  if (report.massLosses.length > 0) {
    const m = report.massLossHealSeconds;
    lines.push(
      `  mass losses                     ${report.massLosses.length}: heal time p50 ${m.p50} · p95 ${m.p95} · max ${m.max} simulated seconds, over every mailbox they hit`,
    );
    for (const loss of report.massLosses)
      lines.push(
        `    at ${new Date(loss.at).toISOString().slice(11, 19)}: ${loss.mailboxes} mailboxes moved, ${loss.affected} lost their subscriptions, ${loss.healed} healed · p50 ${loss.healSeconds.p50} · p95 ${loss.healSeconds.p95} · ${loss.healed === loss.affected ? `all healed in ${loss.healSeconds.max} s` : `${loss.affected - loss.healed} not healed (the longest heal so far ${loss.healSeconds.max} s)`}`,
      );
  }
  if (report.keepUp !== undefined) {
    const k = report.keepUp;
    lines.push(
      `  kept up                         ${k.warnings === 0 ? 'yes' : `no: behind in ${k.warnings} readings (about one a second)`} · worst push answer p95 ${k.worstPushP95Ms} of ${k.pushTimeoutMs} ms · push timeouts ${k.pushTimeouts} · largest ingest backlog ${k.maxIngestBacklog}`,
    );
    if (k.firstWarning !== undefined) lines.push(`    first: ${k.firstWarning}`);
  }
  const injected = Object.entries(report.awsFaults.injected);
  if (injected.length > 0)
    lines.push(
      `  AWS faults injected             ${injected.map(([what, n]) => `${what} ${n}`).join(' · ')} (of ${report.awsFaults.calls} calls)`,
    );
  if (report.bySource !== undefined) {
    const { ews, graph } = report.bySource;
    for (const [name, f] of [
      ['EWS', ews],
      ['Graph', graph],
    ] as const)
      lines.push(
        `  ${`${name} mailboxes`.padEnd(32)}${f.mailboxes}: ${f.generatedChanges} changes, ${f.missingChanges} missing, ${f.awaitingChanges} awaited · ${f.subscriptionsLost} subscriptions lost, ${f.subscriptionsRecovered} healed (max ${f.healSeconds.max} s), ${f.unhealed} unhealed`,
      );
    const {
      subscriptionRemoved: removed,
      missed,
      lifecycleNotificationsLost,
      unhealedResources,
    } = graph.graphLosses;
    lines.push(
      `  Graph losses                    subscriptionRemoved ${removed.count}, healed ${removed.healed} (p50 ${removed.healSeconds.p50} · max ${removed.healSeconds.max} s) · missed ${missed.count}, caught up ${missed.healed} (p50 ${missed.healSeconds.p50} · max ${missed.healSeconds.max} s)`,
    );
    const lostLifecycle = Object.entries(lifecycleNotificationsLost);
    if (lostLifecycle.length > 0)
      lines.push(
        `    lifecycle notifications Graph gave up on: ${lostLifecycle.map(([what, n]) => `${what} ${n}`).join(' · ')}`,
      );
    for (const resource of unhealedResources) lines.push(`    unhealed: ${resource}`);
  }
  for (const change of report.missingExamples) {
    lines.push(
      `  missing (${change.source}${change.unobservable ? ', unobservable' : ''}): ${change.kind} of ${change.itemType} ${change.itemId.slice(0, 24)}… in ${change.mailbox}/${change.folder} at ${new Date(change.at).toISOString()} · last event for it: ${change.lastEvent === null ? 'none' : `${change.lastEvent.type.replace(/^exchange-push-bridge\./, '')} at ${change.lastEvent.time}`}${change.notification === undefined ? '' : ` · its notification: ${change.notification}`}`,
    );
  }
  return `${lines.join('\n')}\n${flags.reportFile ? `written to ${flags.reportFile}\n` : ''}`;
}

onStopRequest = (reason) => void finish(reason);
if (stopRequested !== undefined) await finish(`${stopRequested} during setup`);
else {
  if (flags.duration !== undefined)
    setTimeout(() => void finish(`${flags.duration} s are up`), flags.duration * 1000).unref();
  await render();
}
