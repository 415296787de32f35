/**
 * Finds Microsoft's EWS schemas and the validate-body.sh script next to them, so tests can check
 * every SOAP message the bridge sends. They are not part of the repository: the tests look in
 * `../shared/ews-schema` (or `EWS_SCHEMA_DIR`) and, when the schemas or xmllint are missing, the
 * checks report themselves skipped with the reason.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '..', '..');

export type SchemaTooling =
  | { available: true; dir: string; script: string }
  | { available: false; reason: string };

function locate(): SchemaTooling {
  const dir = process.env.EWS_SCHEMA_DIR ?? resolve(repoRoot, '..', 'shared', 'ews-schema');
  const script = join(dir, 'validate-body.sh');
  for (const file of ['messages.xsd', 'types.xsd', 'validate-body.sh']) {
    if (!existsSync(join(dir, file))) {
      return {
        available: false,
        reason: `EWS schema file ${join(dir, file)} not found (set EWS_SCHEMA_DIR; see docs/development.md)`,
      };
    }
  }
  if (spawnSync('xmllint', ['--version']).error) {
    return { available: false, reason: 'xmllint not installed (Debian: apt-get install -y libxml2-utils)' };
  }
  return { available: true, dir, script };
}

export const ewsSchema: SchemaTooling = locate();

/** `it` for a schema check: runs when the tooling is there, otherwise is reported skipped with why. */
export function itWithSchema(name: string, fn: () => Promise<void> | void): void {
  if (ewsSchema.available) it(name, fn);
  else it.skipIf(true)(`${name} [skipped: ${ewsSchema.reason}]`, fn);
}

export interface SchemaVerdict {
  /** validate-body.sh exit code: 0 valid, 1 schema-invalid, 2 unusable envelope, 3 schemas broken. */
  readonly exitCode: number;
  readonly output: string;
}

let running = 0;
const waiting: Array<() => void> = [];
// Each run compiles the schemas (~0.3 s of CPU); two at a time keeps a 2-core machine responsive.
const MAX_PARALLEL = 2;

/** Validates the Body payload of a SOAP envelope against messages.xsd / types.xsd. */
export async function validateEnvelope(envelope: string): Promise<SchemaVerdict> {
  if (!ewsSchema.available) throw new Error(`EWS schema checks unavailable: ${ewsSchema.reason}`);
  const { script } = ewsSchema;
  if (running >= MAX_PARALLEL) await new Promise<void>((wake) => waiting.push(wake));
  running++;
  const dir = mkdtempSync(join(tmpdir(), 'epb-schema-'));
  try {
    const file = join(dir, 'envelope.xml');
    writeFileSync(file, envelope);
    return await new Promise<SchemaVerdict>((done) => {
      execFile('bash', [script, file], (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 2;
        done({ exitCode: code, output: `${stdout}${stderr}`.trim() });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    running--;
    waiting.shift()?.();
  }
}
