/**
 * What each function costs Lambda at a cold start: the size of the bundle `cdk synth` builds and
 * the time a fresh Node process takes to import it, against a bare handler that only constructs
 * the same SDK clients (bundled with the same esbuild settings), in the same run. The difference
 * is what the bridge's own code and libraries (Powertools, the XML parser, the domain) add.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { FunctionAccess } from '../functions/core/access.ts';
import { BUNDLE_SETTINGS } from '../infra/bridge-function.ts';
import { type Bundle, synthesizeBundles } from '../test/support/bundles.ts';
import { ACCESS_BY_FUNCTION } from '../test/support/function-access.ts';
import { type Comparison, compareSamples, type Effort } from './harness.ts';

/** The SDK client(s) a handler constructs for each service its access names. */
const CLIENTS: Readonly<Record<string, readonly string[]>> = {
  dynamodb: [
    "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
    "import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
    'clients.push(DynamoDBDocumentClient.from(new DynamoDBClient({})));',
  ],
  sqs: ["import { SQSClient } from '@aws-sdk/client-sqs';", 'clients.push(new SQSClient({}));'],
  sns: ["import { SNSClient } from '@aws-sdk/client-sns';", 'clients.push(new SNSClient({}));'],
  secretsmanager: [
    "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';",
    'clients.push(new SecretsManagerClient({}));',
  ],
};

export interface BundleSize {
  readonly function: string;
  readonly bytes: number;
  readonly bareBytes: number;
  readonly ratio: number;
}

/** A handler that does nothing but construct the SDK clients `access` implies. */
async function bareBundle(name: string, access: FunctionAccess, dir: string): Promise<string> {
  const services = [
    ...new Set(Object.values(access).flatMap((actions) => actions.map((a) => a.split(':')[0] ?? ''))),
  ];
  const lines = services.flatMap((service) => CLIENTS[service] ?? []);
  const contents = [
    ...lines.filter((l) => l.startsWith('import')),
    'const clients = [];',
    ...lines.filter((l) => !l.startsWith('import')),
    'export const handler = async () => clients.length;',
  ].join('\n');
  const outfile = join(dir, `bare-${name}`, 'index.mjs');
  mkdirSync(join(dir, `bare-${name}`), { recursive: true });
  await build({
    stdin: { contents, resolveDir: join(import.meta.dirname, '..'), loader: 'js' },
    bundle: true,
    format: 'esm',
    ...BUNDLE_SETTINGS,
    mainFields: [...BUNDLE_SETTINGS.mainFields],
    banner: { js: BUNDLE_SETTINGS.banner },
    sourcemap: true,
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

/** Configuration the handlers read at load (none of it is contacted during an import). */
function loadEnvironment(access: FunctionAccess): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    NODE_OPTIONS: '--enable-source-maps',
    POWERTOOLS_METRICS_NAMESPACE: 'ExchangePushBridge',
    CALLBACK_BASE_URL: 'https://abc123.execute-api.us-east-1.amazonaws.com',
  };
  for (const variable of Object.keys(access)) {
    env[variable] = variable.endsWith('_URL')
      ? `https://sqs.us-east-1.amazonaws.com/000000000000/${variable.toLowerCase()}`
      : variable.endsWith('_ARN')
        ? `arn:aws:secretsmanager:us-east-1:000000000000:secret:${variable.toLowerCase()}`
        : variable.toLowerCase();
  }
  return env;
}

const IMPORT_TIMER =
  "const t = performance.now(); await import(process.env.BENCH_MODULE); process.stdout.write('@@ms ' + (performance.now() - t) + '\\n');";

/** Microseconds a fresh Node process takes to import `file` (its own start-up not counted). */
function coldImportMicros(file: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', IMPORT_TIMER],
      { env: { ...env, BENCH_MODULE: pathToFileURL(file).href }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const ms = /@@ms ([\d.]+)/.exec(stdout)?.[1];
        if (error || ms === undefined)
          reject(new Error(`importing ${file} failed: ${error?.message ?? ''}\n${stderr}`));
        else resolve(Number(ms) * 1000);
      },
    );
  });
}

export interface BundleReport {
  readonly comparisons: Comparison[];
  readonly sizes: BundleSize[];
}

/** Measures bundles already synthesized (the bundle tests share theirs), or synthesizes them. */
export async function measureBundles(
  progress: (line: string) => void,
  effort: Effort = 'full',
  synthesized?: readonly Bundle[],
): Promise<BundleReport> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  try {
    progress('synthesizing with bundling…');
    const bundles = synthesized ?? synthesizeBundles(join(dir, 'cdk.out')).bundles;
    const comparisons: Comparison[] = [];
    const sizes: BundleSize[] = [];
    for (const bundle of bundles) {
      const access = ACCESS_BY_FUNCTION[bundle.name];
      if (access === undefined) throw new Error(`no environment.ts known for the ${bundle.name} bundle`);
      const bare = await bareBundle(bundle.name, access, dir);
      const bareBytes = statSync(bare).size;
      sizes.push({ function: bundle.name, bytes: bundle.bytes, bareBytes, ratio: bundle.bytes / bareBytes });
      const env = loadEnvironment(access);
      comparisons.push(
        await compareSamples({
          name: `${bundle.name} bundle, cold import`,
          baseline: 'a bare handler constructing the same SDK clients',
          target: null,
          baselineSample: () => coldImportMicros(bare, env),
          candidateSample: () => coldImportMicros(join(bundle.dir, 'index.mjs'), env),
          rounds: effort === 'smoke' ? 1 : 15,
          iterationsPerRound: 1,
          onProgress: (round, rounds) => progress(`${bundle.name}: round ${round}/${rounds}`),
        }),
      );
    }
    return { comparisons, sizes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatSizes(sizes: readonly BundleSize[]): string[] {
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  return sizes.map(
    (s) =>
      `${s.function} bundle: ${kib(s.bytes)}, ${s.ratio.toFixed(2)}x a bare handler with its SDK clients (${kib(s.bareBytes)})`,
  );
}
