/**
 * The CloudFormation template of the stack `cdk deploy` would create. The local run creates its
 * tables, queues and topics from it, so both always agree.
 *
 * Synthesized in a child process (local/synth-template.ts), not here: CDK synthesis leaves about
 * 430 MB of RSS behind that is never returned (issue 16's memory profile), most of an idle run's
 * memory. The result is cached under node_modules/.cache, keyed by a hash of what it depends on
 * (infra/, functions/, cdk.json, package-lock.json), so a second start skips the synthesis.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type CloudFormationTemplate, parseTemplate } from './provision.ts';

const root = join(import.meta.dirname, '..');
const cacheDir = join(root, 'node_modules', '.cache', 'exchange-push-bridge');

let cached: CloudFormationTemplate | undefined;

/** Synthesized (or read from the cache) once per process, then shared. */
export function synthesizeTemplate(): CloudFormationTemplate {
  cached ??= parseTemplate(loadOrSynthesize());
  return cached;
}

function loadOrSynthesize(): unknown {
  const file = join(cacheDir, `template-${sourceHash()}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // Not cached yet (or unreadable): synthesize.
  }
  const json = execFileSync(process.execPath, [join(import.meta.dirname, 'synth-template.ts')], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const template: unknown = JSON.parse(json);
  try {
    mkdirSync(cacheDir, { recursive: true });
    // Written aside and renamed, so a run started at the same time never reads half a file.
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, json);
    renameSync(partial, file);
  } catch {
    // A cache that cannot be written only costs the next start a synthesis.
  }
  return template;
}

/** A hash of every file the template depends on. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const files = [
    ...filesUnder(join(root, 'infra')),
    ...filesUnder(join(root, 'functions')),
    join(root, 'cdk.json'),
    join(root, 'package-lock.json'),
  ];
  for (const file of files) {
    hash.update(relative(root, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}
