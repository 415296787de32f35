/**
 * The CloudFormation template of the stack `cdk deploy` would create, synthesized in this process
 * (without bundling the functions: the local run imports their code directly). The local run
 * creates its tables, queues and topics from it, so both always agree.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ExchangePushBridgeStack } from '../infra/stack.ts';
import { type CloudFormationTemplate, parseTemplate } from './provision.ts';

let cached: CloudFormationTemplate | undefined;

/** Synthesized once per process (a second or two of CDK work), then shared. */
export function synthesizeTemplate(): CloudFormationTemplate {
  cached ??= synthesize();
  return cached;
}

function synthesize(): CloudFormationTemplate {
  const cdkJson: unknown = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'cdk.json'), 'utf8'));
  const context =
    typeof cdkJson === 'object' &&
    cdkJson !== null &&
    'context' in cdkJson &&
    typeof cdkJson.context === 'object'
      ? cdkJson.context
      : {};
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  return parseTemplate(Template.fromStack(new ExchangePushBridgeStack(app, 'Local')).toJSON());
}
