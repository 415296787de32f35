// `npm run bench`: every benchmark, each reported as a ratio against a baseline measured in the
// same run, printed and written as JSON to bench/results/latest.json (and a timestamped copy).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { benchDecode } from './decode.ts';
import { type Comparison, formatComparison } from './harness.ts';
import { benchReceiver } from './receiver.ts';

const benchmarks: Array<[string, (progress: (line: string) => void) => Promise<Comparison[]>]> = [
  ['decode', benchDecode],
  ['receiver', benchReceiver],
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
for (const [name, run] of selected) {
  process.stderr.write(`running ${name}...\n`);
  const results = await run(progress);
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  for (const result of results) {
    process.stdout.write(`${formatComparison(result)}\n`);
    all.push(result);
  }
}

const report = {
  generatedAt: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  note: 'Ratios are candidate/baseline medians over interleaved rounds in one run; absolute times are for reference only.',
  results: all,
};
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const json = `${JSON.stringify(report, null, 2)}\n`;
writeFileSync(join(dir, 'latest.json'), json);
writeFileSync(join(dir, `${report.generatedAt.replace(/[:.]/g, '-')}.json`), json);
process.stdout.write(`written to bench/results/latest.json\n`);
process.exitCode = all.every((r) => r.withinTarget) ? 0 : 1;
