/** Synthesizes the stack as `cdk synth` does (cdk.json context, cdk-nag on), minus asset bundling. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExchangePushBridgeStack } from '../../infra/stack.ts';

const cdkJson: unknown = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'cdk.json'), 'utf8'));
/** The context `cdk synth` takes from cdk.json (feature flags). */
export const context: Record<string, unknown> =
  typeof cdkJson === 'object' &&
  cdkJson !== null &&
  'context' in cdkJson &&
  typeof cdkJson.context === 'object'
    ? { ...cdkJson.context }
    : {};

export function synthesize(): { stack: ExchangePushBridgeStack; template: Template } {
  // Bundling is skipped here (esbuild runs in `cdk synth` in CI); the template is the same.
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new ExchangePushBridgeStack(app, 'Test');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth(); // throws when a cdk-nag finding is not acknowledged
  return { stack, template: Template.fromStack(stack) };
}
