// `npm test`: the one command that proves the project is healthy. It runs the formatter/linter,
// the type checker and every vitest suite, then prints the plain "N passed, N failed" line CI reads
// (CI does not parse vitest's own summary).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);
const resultsFile = join(root, '.vitest-results.json');

function step(title: string, command: string, args: string[]): boolean {
  process.stdout.write(`\n== ${title}: ${[command.replace(`${root}/`, ''), ...args].join(' ')}\n`);
  const run = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (run.error) {
    process.stdout.write(`   could not start ${command}: ${run.error.message}\n`);
    return false;
  }
  return run.status === 0;
}

const passedArgs = process.argv.slice(2);
const lintOk = step('format and lint', bin('biome'), ['check', '.']);
const typesOk = step('type check', bin('tsc'), ['--noEmit', '-p', '.']);

rmSync(resultsFile, { force: true });
const testsOk = step('tests', bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${resultsFile}`,
  ...passedArgs,
]);

// Read the JSON report field by field rather than trusting its shape.
function count(report: unknown, key: string): number {
  if (typeof report !== 'object' || report === null || !(key in report)) return 0;
  const value: unknown = Reflect.get(report, key);
  return typeof value === 'number' ? value : 0;
}

// A failed lint or type check counts as a failure in the line CI reads, not only in the exit code.
const stepFailures = (lintOk ? 0 : 1) + (typesOk ? 0 : 1);
let summary = `0 passed, ${1 + stepFailures} failed (vitest wrote no results)`;
if (existsSync(resultsFile)) {
  const report: unknown = JSON.parse(readFileSync(resultsFile, 'utf8'));
  const skipped = count(report, 'numPendingTests') + count(report, 'numTodoTests');
  const failed = count(report, 'numFailedTests') + stepFailures;
  summary = `${count(report, 'numPassedTests')} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}
if (!lintOk)
  process.stdout.write('format/lint failed: run `npm run format` to fix formatting, then fix what remains\n');
if (!typesOk) process.stdout.write('type check failed (see tsc output above)\n');
process.stdout.write(`${summary}\n`);
process.exit(lintOk && typesOk && testsOk ? 0 : 1);
