// `node bench/load.ts [--mailboxes n] [--time-scale x] [--status-frequency m] [--change-rate n]
//   [--seconds s] [--warmup s] [--chaos] [--cpu-prof file] [--no-settle] [--no-batch-window]`
// Issue 16: the local run under load, measured in-process over a steady-state window (after the
// mailboxes are set up): CPU per push and per event, event-loop delay, the simulator's push
// latency against its push timeout, the simulator's timer lag, the ingest queue's depth, memory.
// The emulators' process's CPU is counted apart (otherProcesses*, first); LOAD_EXTRA_PIDS=pid,pid:
// also the CPU of those processes; LOAD_VARIANT:
// a label echoed in the output. (Issue 16.) With --heap-prof <file>, a sampling heap profile of what
// was allocated in the window and is still alive at its end (what grows), for DevTools or
// bench/heap-summary.ts; memory then also shows the emulators' process. With --cpu-prof, a CPU profile of the window only (node:inspector), for bench/profile-summary.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { startLocalSystem } from '../local/system.ts';

/** CPU seconds (user + system) a process has used so far, from /proc. */
const procCpu = (pid: number) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
};
const otherPids = () =>
  [
    system.emulators.pid,
    ...(process.env.LOAD_EXTRA_PIDS ?? '').split(',').filter(Boolean).map(Number),
  ].filter((p): p is number => typeof p === 'number' && p > 0);

const { values } = parseArgs({
  options: {
    mailboxes: { type: 'string', default: '200' },
    'time-scale': { type: 'string', default: '48' },
    'status-frequency': { type: 'string', default: '5' },
    'change-rate': { type: 'string', default: '0.07' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    chaos: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'heap-prof': { type: 'string' },
    'no-settle': { type: 'boolean', default: false },
    flood: { type: 'string' },
    'no-batch-window': { type: 'boolean', default: false },
  },
});
const mailboxes = Number(values.mailboxes);
const timeScale = Number(values['time-scale']);
const statusFrequency = Number(values['status-frequency']);
const changeRate = Number(values['change-rate']);
const seconds = Number(values.seconds);

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const logs = { warn: 0, error: 0 };
const startedAt = performance.now();
const system = await startLocalSystem({
  mailboxes,
  timeScale,
  statusFrequency,
  changeRate,
  chaos: values.chaos,
  pollerBatchWindows: !values['no-batch-window'],
  log: (entry) => {
    if (entry.level === 'warn' || entry.level === 'error') logs[entry.level]++;
  },
});
const setupSeconds = (performance.now() - startedAt) / 1000;
await new Promise((r) => setTimeout(r, Number(values.warmup) * 1000));

const r = system.metrics.receiver;
const counters = () => ({
  accepted: r.get('EventsAccepted'),
  notifications: r.get('Notifications'),
  heartbeats: r.get('Heartbeats'),
  delivered: system.delivered.length,
});
// Every AWS SDK call the run makes in the window, by service and operation, with its time from
// the call to its answer (queueing in the event loop included).
const ops = new Map<string, { n: number; ms: number[] }>();
let counting = false;
// Every client set: the functions' (receiver, processor, renewer, sweeper: their own set, which
// the AWS faults hook) as well as the run's own (pollers, provisioning, reads). Hooking only the
// run's own, as this did at first, left out every call the functions make.
for (const [service, client] of system.emulators
  .clientSets()
  .flatMap((set) => [
    ['dynamodb', set.dynamodb] as const,
    ['sqs', set.sqs] as const,
    ['sns', set.sns] as const,
  ])) {
  // biome-ignore lint/suspicious/noExplicitAny: the three clients' stacks differ only in types
  (client.middlewareStack as any).add(
    (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const start = performance.now();
      try {
        return await next(args);
      } finally {
        if (counting) {
          const key = `${service}:${context.commandName ?? '?'}`;
          const entry = ops.get(key) ?? { n: 0, ms: [] };
          entry.n++;
          entry.ms.push(performance.now() - start);
          ops.set(key, entry);
        }
      }
    },
    { step: 'initialize', name: 'loadBenchCounter' },
  );
}
const floodSession = new Session();
if (values.flood && values['cpu-prof']) {
  floodSession.connect();
  await floodSession.post('Profiler.enable');
  await floodSession.post('Profiler.setSamplingInterval', { interval: 500 });
  await floodSession.post('Profiler.start');
}
if (values.flood) {
  // The event pipeline alone: N events put on the ingest queue at once (50 mailboxes' groups), the
  // time until the audit consumer has them all: processor poll, publish, fan-out, audit poll.
  const n = Number(values.flood);
  const ingestUrl = [...system.resources.queues.values()].find(
    (q) => q.url.includes('QueuesIngest') && !q.url.includes('Dead'),
  )?.url;
  if (!ingestUrl) throw new Error('no ingest queue');
  const keys = Array.from({ length: 50 }, (_, i) => `k${String(i).padStart(21, '0')}`);
  const body = (i: number) =>
    JSON.stringify({
      specversion: '1.0',
      id: `flood-${Date.now()}-${i}`,
      type: 'exchange-push-bridge.item.created',
      source: `/exchange-push-bridge/mailboxes/${keys[i % keys.length]}`,
      time: new Date().toISOString(),
      data: { mailboxKey: keys[i % keys.length], itemId: `item-${i}` },
    });
  counting = true;
  const start = system.delivered.length;
  const t = performance.now();
  const c = process.cpuUsage();
  const others0 = otherPids().map(procCpu);
  for (let i = 0; i < n; i += 10) {
    await system.emulators.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: ingestUrl,
        Entries: Array.from({ length: Math.min(10, n - i) }, (_, j) => ({
          Id: `m${j}`,
          MessageBody: body(i + j),
          MessageGroupId: keys[(i + j) % keys.length],
          MessageDeduplicationId: `flood-${i + j}-${Date.now()}`,
        })),
      }),
    );
  }
  while (system.delivered.length - start < n && performance.now() - t < 180_000) {
    await new Promise((res) => setTimeout(res, 20));
  }
  const secs = (performance.now() - t) / 1000;
  if (values['cpu-prof']) {
    const { profile } = await floodSession.post('Profiler.stop');
    writeFileSync(values['cpu-prof'], JSON.stringify(profile));
  }
  const used = process.cpuUsage(c);
  const others = otherPids().map((p, i) => procCpu(p) - (others0[i] ?? 0));
  process.stdout.write(
    `${JSON.stringify({ flood: n, delivered: system.delivered.length - start, seconds: round(secs, 2), eventsPerSecond: round((system.delivered.length - start) / secs), mainCpuMsPerEvent: round((used.user + used.system) / 1000 / n, 2), otherProcessCpuMsPerEvent: others.map((o) => round((o * 1000) / n, 2)), variant: process.env.LOAD_VARIANT })}\n`,
  );
  process.stdout.write(
    `${JSON.stringify(Object.fromEntries([...ops].map(([k, v]) => [k, { perSecond: round(v.n / secs), p50ms: round(pct(v.ms, 50)), p99ms: round(pct(v.ms, 99)) }])))}\n`,
  );
  await system.stop();
  process.exit(0);
}
const session = new Session();
if (values['cpu-prof']) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
}
if (values['heap-prof']) {
  if (!values['cpu-prof']) session.connect();
  // Every 64 KB allocated on average: cheap enough for minutes of a busy run.
  await session.post('HeapProfiler.startSampling', { samplingInterval: 65_536 });
}
/** Resident memory of another process (the emulators'), MB. */
const procRssMB = (pid: number | undefined) => {
  if (pid === undefined) return undefined;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
    return line ? Math.round(Number(line[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
};
const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();
counting = true;
const before = counters();
const cpu0 = process.cpuUsage();
const others0 = otherPids().map(procCpu);
const t0 = performance.now();
const sim0 = system.clock.now();
const samples: {
  t: number;
  ingest: number;
  events: number;
  rssMB: number;
  heapMB: number;
  emulatorsRssMB: number | undefined;
}[] = [];
for (let i = 0; i < seconds; i++) {
  await new Promise((res) => setTimeout(res, 1000));
  const depths = await system.queueDepths();
  const m = process.memoryUsage();
  samples.push({
    t: i + 1,
    ingest: depths.QueuesIngest ?? 0,
    events: depths.FanoutEvents ?? 0,
    rssMB: Math.round(m.rss / 2 ** 20),
    heapMB: Math.round(m.heapUsed / 2 ** 20),
    emulatorsRssMB: procRssMB(system.emulators.pid),
  });
}
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const othersCpu = otherPids().map((p, i) => procCpu(p) - (others0[i] ?? 0));
const sim1 = system.clock.now();
eld.disable();
counting = false;
const after = counters();
if (values['cpu-prof']) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(values['cpu-prof'], JSON.stringify(profile));
}
if (values['heap-prof']) {
  const { profile } = await session.post('HeapProfiler.stopSampling');
  writeFileSync(values['heap-prof'], JSON.stringify(profile));
}
if (values['cpu-prof'] || values['heap-prof']) session.disconnect();

const inWindow = system.simulator.deliveries().filter((d) => d.startedAt >= sim0 && d.startedAt < sim1);
const realMs = (simMs: number) => simMs / timeScale;
const latency = inWindow
  .filter((d) => d.outcome !== 'skipped')
  .map((d) => realMs(d.finishedAt - d.startedAt));
const lag = inWindow.filter((d) => d.attempt === 0).map((d) => realMs(d.startedAt - d.scheduledAt));
const outcomes: Record<string, number> = {};
for (const d of inWindow) outcomes[String(d.outcome)] = (outcomes[String(d.outcome)] ?? 0) + 1;
const byKind: Record<string, number> = {};
for (const d of inWindow) byKind[d.kind] = (byKind[d.kind] ?? 0) + 1;
const subs = system.simulator.subscriptions();
const subStates: Record<string, number> = {};
for (const s of subs) subStates[s.state] = (subStates[s.state] ?? 0) + 1;
const cpuMs = (cpu.user + cpu.system) / 1000;
const pushes = inWindow.length;
const events = after.accepted - before.accepted;
const result = {
  config: { mailboxes, timeScale, statusFrequency, changeRate, chaos: values.chaos, seconds },
  variant: process.env.LOAD_VARIANT,
  setupSeconds: round(setupSeconds),
  expectedHeartbeatsPerSecond: round((mailboxes * timeScale) / (60 * statusFrequency)),
  expectedChangesPerSecond: round((mailboxes * changeRate * timeScale) / 60),
  rates: {
    pushesPerSecond: round(pushes / wall),
    pushesByKind: byKind,
    outcomes,
    eventsAcceptedPerSecond: round(events / wall),
    eventsDeliveredPerSecond: round((after.delivered - before.delivered) / wall),
    notificationsPerSecond: round((after.notifications - before.notifications) / wall),
    heartbeatsPerSecond: round((after.heartbeats - before.heartbeats) / wall),
  },
  cpu: {
    utilisation: round(cpuMs / (wall * 1000), 2),
    msPerPush: round(cpuMs / Math.max(1, pushes), 2),
    msPerAcceptedEvent: round(cpuMs / Math.max(1, events), 2),
    otherProcessesUtilisation: othersCpu.map((o) => round(o / wall, 2)),
    otherProcessesMsPerPush: othersCpu.map((o) => round((o * 1000) / Math.max(1, pushes), 2)),
  },
  eventLoopDelayMs: {
    p50: round(eld.percentile(50) / 1e6),
    p99: round(eld.percentile(99) / 1e6),
    max: round(eld.max / 1e6),
  },
  pushLatencyRealMs: {
    p50: round(pct(latency, 50)),
    p95: round(pct(latency, 95)),
    p99: round(pct(latency, 99)),
    max: round(Math.max(0, ...latency)),
    timeoutRealMs: round(Math.max(10_000, 1000 * timeScale) / timeScale),
  },
  pushStartLagRealMs: { p50: round(pct(lag, 50)), p99: round(pct(lag, 99)), max: round(Math.max(0, ...lag)) },
  ingestDepth: samples.map((s) => s.ingest),
  eventsQueueDepthEnd: samples.at(-1)?.events,
  memoryMB: {
    rssEnd: samples.at(-1)?.rssMB,
    heapEnd: samples.at(-1)?.heapMB,
    emulatorsRssEnd: samples.at(-1)?.emulatorsRssMB,
    // Growth over the window, MB per real minute (first to last sample).
    perMinute: (() => {
      const first = samples[0];
      const last = samples.at(-1);
      if (first === undefined || last === undefined || last.t === first.t) return undefined;
      const rate = (a: number | undefined, b: number | undefined) =>
        a === undefined || b === undefined ? undefined : round(((b - a) * 60) / (last.t - first.t));
      return {
        rss: rate(first.rssMB, last.rssMB),
        heap: rate(first.heapMB, last.heapMB),
        emulatorsRss: rate(first.emulatorsRssMB, last.emulatorsRssMB),
      };
    })(),
  },
  memorySamples: samples
    .filter((_, i) => i % 15 === 0 || i === samples.length - 1)
    .map((s) => ({ t: s.t, rssMB: s.rssMB, heapMB: s.heapMB, emulatorsRssMB: s.emulatorsRssMB })),
  sdkCallsPerSecond: Object.fromEntries(
    [...ops]
      .sort((a, b) => b[1].n - a[1].n)
      .map(([k, v]) => [
        k,
        { perSecond: round(v.n / wall), p50ms: round(pct(v.ms, 50)), p99ms: round(pct(v.ms, 99)) },
      ]),
  ),
  subscriptionStates: subStates,
  logs,
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
if (!values['no-settle']) {
  const settled = await system.settle(30_000);
  const report = system.report();
  process.stdout.write(
    `${JSON.stringify({ settled, missing: report.missingChanges - report.unobservableChanges, unhealed: report.unhealed, lost: report.subscriptionsLost })}\n`,
  );
}
await system.stop();
