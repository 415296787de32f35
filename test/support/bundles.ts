/**
 * The Lambda bundles exactly as `cdk synth` builds them (esbuild, minified, with the AWS SDK),
 * found through the template's asset metadata: what `cdk deploy` uploads. Synthesis with bundling
 * takes a while, so callers do it once and share the result.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { ExchangePushBridgeStack } from '../../infra/stack.ts';
import { isRecord } from '../infra/policies.ts';
import { context } from '../infra/synth.ts';

export interface Bundle {
  /** The word after "exchange-push-bridge" in the function's description: receiver, processor, … */
  readonly name: string;
  readonly functionId: string;
  /** The asset directory holding index.mjs. */
  readonly dir: string;
  /** Size of index.mjs in bytes (source maps not counted: Lambda loads them only on errors). */
  readonly bytes: number;
}

export interface BundledSynth {
  readonly template: unknown;
  readonly bundles: readonly Bundle[];
}

export function synthesizeBundles(outdir: string): BundledSynth {
  // The CLI turns asset metadata on; the template then names each function's asset directory.
  const app = new App({ outdir, context: { ...context, 'aws:cdk:enable-asset-metadata': true } });
  new ExchangePushBridgeStack(app, 'Bundled');
  const template: unknown = app.synth().getStackByName('Bundled').template;
  const resources = isRecord(template) && isRecord(template.Resources) ? template.Resources : {};
  const bundles: Bundle[] = [];
  for (const [functionId, resource] of Object.entries(resources)) {
    if (!isRecord(resource) || resource.Type !== 'AWS::Lambda::Function') continue;
    const description = isRecord(resource.Properties) ? String(resource.Properties.Description) : '';
    const assetPath = isRecord(resource.Metadata) ? resource.Metadata['aws:asset:path'] : undefined;
    const name = /^exchange-push-bridge (\w+)/.exec(description)?.[1];
    if (typeof assetPath !== 'string' || name === undefined)
      throw new Error(`function ${functionId} has no bundled asset or no recognizable description`);
    const dir = join(outdir, assetPath);
    bundles.push({ name, functionId, dir, bytes: statSync(join(dir, 'index.mjs')).size });
  }
  return { template, bundles };
}
