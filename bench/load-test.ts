// `npm run load-test -- [--items n] [--mailboxes n] [--window n] [--refill half|each]
//   [--processor-concurrency n] [--time-scale x] [--json file]`
// The seed's load test on this machine (issue 13; local/load-test.ts): calendar items created
// across the mailboxes with enrichment on, every one delivered with its item. Prints items/s,
// latency from the item's creation to the consumer (p50/p99), peak RSS and wall time, and the
// seed's own figure for reference (100,000 items across 80 mailboxes in "a little over 2 hours"
// on its 2010 servers: not a same-machine comparison). Exits 1 unless every item arrived.
// The whole run is one process holding the simulator's items, the emulators' tables and queues and
// every delivered event: 100,000 items need more than V8's default 4 GB heap, hence the npm
// script's --max-old-space-size.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runLoadTest } from '../local/load-test.ts';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '2000' },
    mailboxes: { type: 'string', default: '80' },
    window: { type: 'string' },
    'processor-concurrency': { type: 'string', default: '1' },
    refill: { type: 'string', default: 'half' },
    'time-scale': { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});
const whole = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(
      `--${name} ${JSON.stringify(value)} is not valid: expected a whole number of at least 1\n`,
    );
    process.exit(2);
  }
  return n;
};
const items = whole('items', values.items) ?? 2000;
const refill = values.refill;
if (refill !== 'half' && refill !== 'each') {
  process.stderr.write(`--refill ${JSON.stringify(refill)} is not valid: expected half or each\n`);
  process.exit(2);
}
const window = whole('window', values.window);
const result = await runLoadTest({
  items,
  mailboxes: whole('mailboxes', values.mailboxes) ?? 80,
  ...(window === undefined ? {} : { window }),
  refill,
  timeScale: Number(values['time-scale']),
  processorConcurrency: whole('processor-concurrency', values['processor-concurrency']) ?? 1,
  progress: (line) =>
    process.stderr.write(
      `${process.stderr.isTTY ? '\r\x1b[2K' : ''}${line}${process.stderr.isTTY ? '' : '\n'}`,
    ),
});
if (process.stderr.isTTY) process.stderr.write('\n');
const { report, ...summary } = result;
const seedSeconds = 2 * 3600;
const lines = [
  `items ${result.items} across ${result.mailboxes} mailboxes, enrichment on`,
  `delivered with their item ${result.deliveredWithItem}, missing ${result.missingItems}${Object.keys(result.enrichmentOutcomes).length ? ` (without item: ${JSON.stringify(result.enrichmentOutcomes)})` : ''}`,
  `report: settled ${report.settled}, missing changes ${report.missingChanges}, duplicate events ${report.duplicateEvents}, unhealed ${report.unhealed}`,
  `throughput ${result.itemsPerSecond} items/s over ${result.loadSeconds} s (${result.events} events delivered)`,
  `latency creation → consumer with item: p50 ${result.latencyMs.p50} ms, p90 ${result.latencyMs.p90} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms`,
  `peak RSS ${result.peakRssMB} MB (V8 heap used at most ${result.peakHeapUsedMB} MB)`,
  `wall ${result.wallSeconds} s (setup ${result.setupSeconds} s) = ${(result.wallSeconds / seedSeconds).toFixed(3)} x the seed's "a little over 2 hours" (7200 s; reference only, 2010 servers)`,
];
for (const line of lines) process.stdout.write(`${line}\n`);
if (values.json)
  writeFileSync(
    values.json,
    `${JSON.stringify({ ...summary, report: { ...report, missingExamples: report.missingExamples.slice(0, 5) } }, null, 2)}\n`,
  );
process.exit(
  result.missingItems === 0 && report.missingChanges === 0 && report.duplicateEvents === 0 ? 0 : 1,
);
