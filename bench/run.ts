// `npm run bench`: every benchmark, printed and written as JSON to bench/results/latest.json (and a
// timestamped copy). Timing benchmarks report ratios against a baseline measured in the same run;
// measurements (sweep-cost: DynamoDB request units, which are deterministic) report their numbers
// under `measurements`, keyed by benchmark name.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { formatSizes, measureBundles } from './bundles.ts';
import { formatCost, measureCost } from './cost.ts';
import { benchDecode } from './decode.ts';
import { benchEdge } from './edge.ts';
import { benchEnrichment, formatEnrichment } from './enrichment.ts';
import { benchGraphReceiver } from './graph-receiver.ts';
import { type Comparison, formatComparison } from './harness.ts';
import { benchLocalClients } from './local-clients.ts';
import { benchReceiver } from './receiver.ts';
import { benchSweepCost, formatSweepCost } from './sweep-cost.ts';

interface BenchOutput {
  readonly comparisons: readonly Comparison[];
  /** Numbers that are not timings: printed as `lines`, stored as `data`. */
  readonly measurement?: { readonly lines: readonly string[]; readonly data: unknown };
}

const benchmarks: Array<[string, (progress: (line: string) => void) => Promise<BenchOutput>]> = [
  ['decode', async (progress) => ({ comparisons: await benchDecode(progress) })],
  ['receiver', async (progress) => ({ comparisons: await benchReceiver(progress) })],
  ['graph-receiver', async (progress) => ({ comparisons: await benchGraphReceiver(progress) })],
  ['edge', async (progress) => ({ comparisons: await benchEdge(progress) })],
  ['local-clients', async (progress) => ({ comparisons: await benchLocalClients(progress) })],
  [
    'enrichment',
    async (progress) => {
      const report = await benchEnrichment(progress);
      return {
        comparisons: report.comparisons,
        measurement: { lines: formatEnrichment(report), data: report },
      };
    },
  ],
  [
    'bundles',
    async (progress) => {
      const report = await measureBundles(progress);
      return {
        comparisons: report.comparisons,
        measurement: { lines: formatSizes(report.sizes), data: report.sizes },
      };
    },
  ],
  [
    'cost',
    async () => {
      const report = await measureCost();
      return { comparisons: [], measurement: { lines: formatCost(report), data: report } };
    },
  ],
  [
    'sweep-cost',
    async (progress) => {
      const report = await benchSweepCost(progress, (line) => {
        if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
        process.stderr.write(`${line}\n`);
      });
      return { comparisons: [], measurement: { lines: formatSweepCost(report), data: report } };
    },
  ],
];
// `npm run bench -- receiver` runs only the benchmarks named.
const only = process.argv.slice(2);
const selected = only.length === 0 ? benchmarks : benchmarks.filter(([name]) => only.includes(name));
if (selected.length === 0) {
  process.stderr.write(
    `no benchmark named ${only.join(', ')}; available: ${benchmarks.map(([n]) => n).join(', ')}\n`,
  );
  process.exit(2);
}

const progress = (line: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}`);
};

const all: Comparison[] = [];
const measurements: Record<string, unknown> = {};
for (const [name, run] of selected) {
  process.stderr.write(`running ${name}...\n`);
  const started = performance.now();
  const output = await run(progress);
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  for (const result of output.comparisons) {
    process.stdout.write(`${formatComparison(result)}\n`);
    all.push(result);
  }
  if (output.measurement !== undefined) {
    for (const line of output.measurement.lines) process.stdout.write(`${line}\n`);
    measurements[name] = output.measurement.data;
  }
  process.stderr.write(`${name} took ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

const report = {
  generatedAt: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  note: 'Ratios are candidate/baseline medians over interleaved rounds in one run; absolute times are for reference only.',
  results: all,
  ...(Object.keys(measurements).length === 0 ? {} : { measurements }),
};
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const json = `${JSON.stringify(report, null, 2)}\n`;
writeFileSync(join(dir, 'latest.json'), json);
writeFileSync(join(dir, `${report.generatedAt.replace(/[:.]/g, '-')}.json`), json);
process.stdout.write(`written to bench/results/latest.json\n`);
process.exitCode = all.every((r) => r.withinTarget) ? 0 : 1;
