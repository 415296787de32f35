/**
 * The whole system on one machine (what `npm start` runs), under the EWS simulator's and the Graph
 * stand-in's chaos for a few simulated hours, mailboxes on both sources: every change reaches
 * consumers, nothing twice, every lost subscription heals, every lost Graph notification is caught up.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphSimulatorInputError } from '../../graph-simulator/mailbox-store.ts';
import { CHAOS as GRAPH_CHAOS } from '../../graph-simulator/options.ts';
import type { RunReport } from '../../local/report.ts';
import { type LocalSystem, startLocalSystem } from '../../local/system.ts';
import { CHAOS_FAULTS } from '../../simulator/faults.ts';

const root = join(import.meta.dirname, '..', '..');

describe('the local run', () => {
  it('loses no change and heals every lost subscription through simulated hours of chaos, on EWS and on Graph', {
    timeout: 300_000,
  }, async () => {
    const checkpoints = { promoted: 0 };
    /** The Graph checkpoints (renewer/graph-checkpoint.ts): taken, promoted, gone subscriptions found. */
    const graphCheckpoints = { taken: 0, promoted: 0, trimmed: 0, refused: 0, subscriptionsGone: 0 };
    const system = await startLocalSystem({
      onRenewal: (outcome) => {
        if (outcome.kind === 'checkpointed') checkpoints.promoted += outcome.promoted;
        if (outcome.kind === 'graphCheckpointed') {
          if (outcome.taken > 0) graphCheckpoints.taken++;
          if (outcome.promoted > 0) graphCheckpoints.promoted++;
          graphCheckpoints.trimmed += outcome.trimmed;
          graphCheckpoints.subscriptionsGone += outcome.subscriptionsGone;
          if (outcome.refused !== null) graphCheckpoints.refused++;
        }
      },
      timeScale: 600,
      // user1 and user3 on EWS, user2 and user4 on Graph.
      mailboxes: 4,
      source: 'mixed',
      changeRate: 1,
      statusFrequency: 1,
      chaos: true,
      // Chaos, with silent losses more frequent than --chaos makes them so a short run sees several;
      // on Graph, removed subscriptions and missed notifications as often.
      faults: { ...CHAOS_FAULTS, subscriptionLossPerHour: 0.5 },
      // Delta links expire when unused for 150 simulated minutes (below), which a link a Graph
      // checkpoint keeps moving never is (interval 20 minutes + proof 51 minutes + the sweeps'
      // delays); without checkpoints a healthy mailbox's links would expire within the run.
      // The random expiry of every link of a mailbox stays off: after a 410 the catch-up reads the
      // folder in full, which reports no deletion, so an item consumers hold, deleted with its
      // notification lost, stays with them if the list no longer holds it (a known gap,
      // docs/graph-source.md). The 410 path itself is tested in test/integration/graph/.
      graphChaos: {
        ...GRAPH_CHAOS,
        subscriptionRemovedPerHour: 0.5,
        missedPerHour: 0.5,
        deltaTokenExpiryPerHour: 0,
      },
      graphDeltaTokenLifetimeMs: 150 * 60_000,
      // And faults of our own side: one AWS call of the functions in twenty fails (throttling, 500,
      // or a timeout after the call took effect), one in 400 even after the SDK's retry.
      awsFaultRate: 0.05,
      // Checkpoints every 20 simulated minutes rather than daily, so they run between the losses;
      // on Graph the stand-in retries a notification for 5 minutes rather than 4 hours (the
      // policy's graphRetryLimitMs is passed to it), so a Graph checkpoint is proven 2 x (10 + 5)
      // minutes + slack after its take. Each recreate (subscriptionRemoved, 0.5 an hour per
      // subscription here) discards a pending one: with 15 minutes (51 to prove) one run in four
      // had all its takes discarded before their proof.
      policy: { checkpointIntervalMs: 20 * 60_000, graphRetryLimitMs: 5 * 60_000 },
      // E2E_SEED=<n> replays the same run with other random choices.
      seed: Number(process.env.E2E_SEED ?? 42),
    });
    try {
      const started = system.clock.now();
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      // Besides whatever chaos does: one silent loss, one mailbox move and a mass loss, for certain.
      const [first, second] = system.simulator.mailboxAddresses;
      const victim = system.simulator
        .subscriptions({ mailbox: first ?? '' })
        .find((s) => s.state === 'active');
      if (victim) system.simulator.dropSubscription(victim.subscriptionId);
      system.simulator.moveMailbox(second ?? '');
      // On Graph, for certain: a removed subscription, and a message consumers were told of
      // deleted with its notification lost (`missed`): only the catch-up's check of the
      // pushed-item list can tell consumers (delta does not report it).
      const doomed = await loseGraphDelete(system);
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      // And a mass loss: every mailbox moved at once, all their subscriptions dead together.
      const massLoss = system.simulator.massLoss({ fraction: 1 });
      const [graphFirst] = system.graph?.mailboxAddresses ?? [];
      const removed = system.graph
        ?.subscriptions({ mailbox: graphFirst ?? '' })
        .find((s) => s.state === 'active');
      if (removed) system.graph?.removeSubscription(removed.id);
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      const simulatedHours = (system.clock.now() - started) / 3_600_000;
      // The drain as `npm start` does it: bounded by the staleness threshold + heal time, going on
      // while the queues still shrink (a busy machine processes the backlog slower), capped.
      const settled = await system.settle({ capMs: 150_000 });
      const report = system.report();
      expect(simulatedHours).toBeGreaterThan(2.5);
      const unsettledEvidence = join(tmpdir(), `epb-e2e-local-run-unsettled-${process.pid}.json`);
      if (!settled.settled) writeEvidence(unsettledEvidence, system, report);
      expect(settled.settled, `${JSON.stringify(report)}; the run's evidence: ${unsettledEvidence}`).toBe(
        true,
      );
      // At rest: nothing in flight, nothing awaited; what is not delivered now never will be.
      expect(report).toMatchObject({
        settled: true,
        awaitingChanges: 0,
        inFlight: { ingest: 0, renewals: 0, audit: 0 },
      });
      expect(report.generatedChanges).toBeGreaterThan(200);
      // Every change reflected by a delivered event. The only exception the report allows is an
      // item created and deleted while the mailbox had no subscription at all and could only be
      // resynced from SyncFolderItems: consumers never held it (see local/report.ts).
      const lost = report.missingChanges - report.unobservableChanges;
      // A loss is rare and load-dependent: keep the evidence (the simulator's ground truth, every
      // subscription, every delivered event) to tell a loss of the bridge from a miscount.
      const evidence = join(tmpdir(), `epb-e2e-local-run-${process.pid}.json`);
      if (lost !== 0) writeEvidence(evidence, system, report);
      expect(lost, `${JSON.stringify(report.missingExamples)}; the run's evidence: ${evidence}`).toBe(0);
      // Store-before-ack under AWS faults: the receiver answered 500 and Exchange retried, the
      // processor's failed records were retried; nothing lost (above), nothing published twice
      // that the event ids (the FIFO de-duplication ids) did not de-duplicate.
      expect(report.duplicateEvents).toBe(0);
      // Every service got faults, and every kind of fault struck. Not every pair for certain: the
      // processor's batches (PublishBatch, the pollers' batching window) make few SNS calls in a
      // run this short, and one in a hundred calls times out.
      const injected = (key: string) =>
        Object.entries(report.awsFaults.injected)
          .filter(([what]) => what.includes(key))
          .reduce((sum, [, n]) => sum + n, 0);
      for (const service of ['dynamodb', 'sqs', 'sns']) expect(injected(service), service).toBeGreaterThan(0);
      for (const kind of ['throttling', 'server', 'timeout']) expect(injected(kind), kind).toBeGreaterThan(0);
      expect(report.subscriptionsLost).toBeGreaterThanOrEqual(2);
      expect(report.subscriptionsRecovered).toBe(report.subscriptionsLost);
      expect(report.unhealed).toBe(0);
      // The mass loss hit every mailbox that had a subscription then, and every one of them healed.
      const heal = report.massLosses.find((loss) => loss.at === massLoss.at);
      expect(heal, JSON.stringify(report.massLosses)).toMatchObject({ mailboxes: 2 });
      expect(heal?.affected).toBeGreaterThanOrEqual(1);
      for (const loss of report.massLosses) expect(loss.healed).toBe(loss.affected);
      // All at once they queue for the same renewers, and the moves refuse Subscribe for a minute
      // while chaos throttles the catch-ups and AWS faults may cost a renewal message (requeued by
      // the sweeper after 15 minutes): a looser bound than a single loss's. 30 minutes failed once
      // on a loaded machine (2,143 s; at x600 that is 3.6 real seconds). Under lostAfterMs +
      // lostRetryMs (60 minutes): past it, not even the retry of a mailbox declared lost healed it.
      expect(report.massLossHealSeconds.max).toBeLessThan(60 * 60);
      // Ordinary heals (the mass loss's are counted apart, above): noticed within 2 x StatusFrequency
      // + slack and a sweep (4 minutes here), then as many retries as the faults force, at 30 s
      // doubling to 10 minutes; 5% of AWS calls failing makes three or four failed renewals in a
      // row common. Without the mass loss's heals a 15-minute bound still failed 2 runs in 3 (917 s,
      // 1,190 s; at x600 a real second is ten simulated minutes), and 30 minutes failed too (EWS
      // 2,183 s on an idle machine, 2,935 s on a loaded one: a renewal message an AWS fault cost is
      // queued again only after requeueAfterMs, 15 minutes). Under lostAfterMs + lostRetryMs (60
      // minutes), as for the mass loss: past it, not even the retry of a mailbox declared lost healed it.
      expect(
        report.maxHealSeconds,
        JSON.stringify({
          ews: report.bySource?.ews.healSeconds,
          graph: report.bySource?.graph?.healSeconds,
          graphLosses: report.bySource?.graph?.graphLosses,
        }),
      ).toBeLessThan(60 * 60);
      expect(system.delivered.some((e) => e.type === 'exchange-push-bridge.subscription.resynced')).toBe(
        true,
      );
      expect(system.delivered.some((e) => e.type === 'exchange-push-bridge.subscription.renewed')).toBe(true);
      expect(checkpoints.promoted, 'checkpoints brought SyncStates forward during the run').toBeGreaterThan(
        0,
      );
      // The Graph mailboxes on their own: every change arrived, every removed subscription was
      // replaced, every episode of lost notifications was caught up, the forced delete included.
      const graph = report.bySource?.graph;
      expect(graph, JSON.stringify(report)).toMatchObject({ mailboxes: 2, awaitingChanges: 0, unhealed: 0 });
      // Missing only what consumers never held (deleted, never named by an event), as for EWS.
      expect((graph?.missingChanges ?? 0) - (graph?.unobservableChanges ?? 0)).toBe(0);
      expect(graph?.generatedChanges).toBeGreaterThan(100);
      expect(graph?.graphLosses.subscriptionRemoved.count).toBeGreaterThanOrEqual(1);
      expect(graph?.graphLosses.subscriptionRemoved.healed).toBe(
        graph?.graphLosses.subscriptionRemoved.count,
      );
      expect(graph?.graphLosses.missed.count).toBeGreaterThanOrEqual(1);
      expect(graph?.graphLosses.missed.healed).toBe(graph?.graphLosses.missed.count);
      // Graph checkpoints were taken and proven, and kept every change above.
      expect(graphCheckpoints.promoted, JSON.stringify(graphCheckpoints)).toBeGreaterThan(0);
      console.log(
        `Graph checkpoints: ${JSON.stringify(graphCheckpoints)}; EWS: ${JSON.stringify(checkpoints)}`,
      );
      expect(
        system.delivered.some(
          (e) => e.type === 'exchange-push-bridge.resync.Delete' && itemIdOf(e) === doomed,
        ),
        `a resync Delete for ${doomed}`,
      ).toBe(true);
      expect(report.bySource?.ews).toMatchObject({ mailboxes: 2, unhealed: 0 });
      // Enrichment is on (the local run's default) under the same chaos, GetItem's ErrorServerBusy
      // included: every item notification the receiver took was read, and what was read is the
      // item the event names. Deleted since (notFound) or failed after retries is allowed; lost is not.
      // EWS mailboxes only: Graph events carry no enrichment (the processor reads over EWS only).
      const onEws = new Set(system.simulator.mailboxAddresses);
      const created = system.delivered.filter(
        (e) => e.data.eventType === 'CreatedEvent' && e.data.itemId && onEws.has(String(e.data.mailbox)),
      );
      expect(created.length).toBeGreaterThan(50);
      const outcomes = new Map<string, number>();
      for (const event of created) {
        const enrichment = event.data.enrichment;
        const outcome =
          typeof enrichment === 'object' && enrichment !== null
            ? String(Reflect.get(enrichment, 'outcome'))
            : '';
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (outcome !== 'item') continue;
        expect(event.data.item, event.id).toMatchObject({
          itemId: { id: Reflect.get(Object(event.data.itemId), 'id') },
        });
      }
      expect(
        [...outcomes.keys()].every((o) => ['item', 'notFound', 'failed'].includes(o)),
        String([...outcomes]),
      ).toBe(true);
      expect(outcomes.get('item') ?? 0).toBeGreaterThan(created.length / 2);
      expect(system.metrics.processor.get('EnrichmentCalls')).toBeGreaterThan(0);
    } finally {
      await system.stop();
    }
  });

  it('mailboxes on Graph only: every change arrives, by the same report', { timeout: 120_000 }, async () => {
    const system = await startLocalSystem({ timeScale: 600, mailboxes: 2, source: 'graph', changeRate: 1 });
    try {
      expect(system.graph?.mailboxAddresses).toEqual(['user1@contoso.test', 'user2@contoso.test']);
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      const settled = await system.settle({ capMs: 60_000 });
      const report = system.report();
      const evidence = join(tmpdir(), `epb-e2e-graph-only-${process.pid}.json`);
      const lost = report.missingChanges - report.unobservableChanges;
      if (!settled.settled || lost !== 0) writeEvidence(evidence, system, report);
      expect(settled.settled, `${JSON.stringify(report)}; evidence ${evidence}`).toBe(true);
      // An item created and deleted before its mailbox's subscriptions existed (during the setup)
      // was never held by consumers: the report's one allowance, as in the chaos run above.
      expect(lost, `${JSON.stringify(report.missingExamples)}; evidence ${evidence}`).toBe(0);
      expect(report).toMatchObject({ duplicateEvents: 0, unhealed: 0 });
      expect(report.bySource?.graph).toMatchObject({ mailboxes: 2, awaitingChanges: 0 });
      expect(report.bySource?.graph.missingChanges).toBe(report.bySource?.graph.unobservableChanges);
      expect(report.bySource?.graph.generatedChanges).toBeGreaterThan(50);
      expect(report.bySource?.ews).toMatchObject({ mailboxes: 0, generatedChanges: 0 });
      expect((await system.records()).map((r) => [r.mailbox, r.source, r.state])).toEqual([
        ['user1@contoso.test', 'graph', 'active'],
        ['user2@contoso.test', 'graph', 'active'],
      ]);
    } finally {
      await system.stop();
    }
  });

  it('npm start: writes the ready file, runs for --duration, stops cleanly and reports', {
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'epb-start-'));
    try {
      const readyFile = join(dir, 'ready.json');
      const reportFile = join(dir, 'report.json');
      const child = spawn(
        process.execPath,
        [
          join(root, 'local', 'start.ts'),
          '--duration',
          '6',
          '--mailboxes',
          '2',
          '--time-scale',
          '120',
          '--ready-file',
          readyFile,
          '--report',
          reportFile,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, output).toBe(0);
      const ready: unknown = JSON.parse(readFileSync(readyFile, 'utf8'));
      expect(ready).toMatchObject({
        receiverUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        sqsEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        consumerQueueUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/\d+\/.*Events.*\.fifo$/),
        simulatorUrl: expect.stringMatching(/^http:\/\//),
        dynamodbEndpoint: expect.stringMatching(/^http:\/\//),
      });
      const report: unknown = JSON.parse(readFileSync(reportFile, 'utf8'));
      // The default source is mixed: user1 on EWS, user2 on Graph, each judged by its ground truth.
      expect(report).toMatchObject({
        bySource: {
          ews: { mailboxes: 1, missingChanges: 0, awaitingChanges: 0, unhealed: 0 },
          graph: { mailboxes: 1, missingChanges: 0, awaitingChanges: 0, unhealed: 0 },
        },
      });
      expect(ready).toMatchObject({ graphUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
      expect(output).toMatch(/Graph mailboxes\s+1: \d+ changes, 0 missing/);
      expect(report).toMatchObject({
        settled: true,
        awaitingChanges: 0,
        inFlight: { ingest: 0, renewals: 0, audit: 0 },
        missingChanges: 0,
        duplicateEvents: 0,
        unhealed: 0,
        subscriptionsLost: 0,
      });
      expect(output).toMatch(/ready in [\d.]+ s/);
      // Lines written while starting carry the time too.
      expect(output).not.toContain('--:--:--');
      // What each loss count counts.
      expect(output).toMatch(/mailboxes the bridge declared lost \(renewals failing 30 min or 5 times\) 0/);
      expect(output).toMatch(
        /subscriptions Exchange lost \(dropped, expired, moved; each healed by a renewal\) 0/,
      );
      expect(output).toMatch(/draining until the run comes to rest \(at most \d+ s: /);
      expect(output).toMatch(/came to rest in \d+ s/);
      expect(output).toMatch(
        /run report\n\s+settled\s+yes\n\s+in flight\s+ingest 0 · renewals 0 · audit 0 · graph 0\n/,
      );
      expect(output).toMatch(/changes made by the simulator\s+\d+/);
      expect(output).toMatch(/user1@contoso\.test|events: \d+ accepted/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('npm start refuses bad flags with the usage', async () => {
    const child = spawn(process.execPath, [join(root, 'local', 'start.ts'), '--mailboxes', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /--mailboxes "0" is not valid: expected a whole number from 1 to 1000\n\nusage: npm start/,
    );
  });
});

/**
 * Creates a message in the first Graph mailbox, waits until consumers have its CreatedEvent, then
 * deletes it with the deletion's notification lost (`missed`). Returns its immutable id.
 */
async function loseGraphDelete(system: LocalSystem, attempt = 1): Promise<string> {
  const graph = system.graph;
  const [mailbox] = graph?.mailboxAddresses ?? [];
  if (graph === undefined || mailbox === undefined) throw new Error('no Graph mailbox in the run');
  const created = graph.makeChange({ mailbox, itemType: 'message', kind: 'created', folder: 'inbox' });
  for (let i = 0; i < 200 && !system.delivered.some((e) => itemIdOf(e) === created.immutableId); i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  // Chaos may have removed it just now: the bridge replaces it within simulated minutes.
  const active = () =>
    graph.subscriptions({ mailbox }).find((s) => s.state === 'active' && /messages$/.test(s.resource));
  for (let i = 0; i < 200 && active() === undefined; i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  const subscription = active();
  if (subscription === undefined) throw new Error(`${mailbox} has no active messages subscription for 10 s`);
  graph.missNotifications(subscription.id, 1);
  try {
    graph.makeChange({ mailbox, itemType: 'message', kind: 'deleted', itemId: created.immutableId });
  } catch (error) {
    // The stand-in's own changes (changeRate) deleted it while we waited (seed 1 did): another one.
    if (error instanceof GraphSimulatorInputError && error.notFound && attempt < 3)
      return loseGraphDelete(system, attempt + 1);
    throw error;
  }
  return created.immutableId;
}

function itemIdOf(event: LocalSystem['delivered'][number]): unknown {
  return Reflect.get(Object(event.data.itemId), 'id');
}

/** A loss is rare and load-dependent: the run's evidence (both ground truths, every subscription, every delivered event). */
function writeEvidence(file: string, system: LocalSystem, report: RunReport): void {
  writeFileSync(
    file,
    JSON.stringify({
      report,
      changes: system.simulator.changes(),
      subscriptions: system.simulator.subscriptions(),
      massLosses: system.simulator.massLosses(),
      graph:
        system.graph === undefined
          ? null
          : {
              changes: system.graph.changes(),
              subscriptions: system.graph.subscriptions(),
              losses: system.graph.losses(),
              deliveries: system.graph.deliveries(),
            },
      delivered: system.delivered,
    }),
  );
}
