// Synthesizes the stack's CloudFormation template and writes it to stdout as JSON: run as a child
// process by local/template.ts, so the CDK's memory (about 430 MB of RSS that synthesis never
// gives back, issue 16) goes away with the child instead of staying in the local run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ExchangePushBridgeStack } from '../infra/stack.ts';

const cdkJson: unknown = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'cdk.json'), 'utf8'));
const context =
  typeof cdkJson === 'object' &&
  cdkJson !== null &&
  'context' in cdkJson &&
  typeof cdkJson.context === 'object'
    ? cdkJson.context
    : {};
// Without bundling the functions: the local run imports their code directly.
const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
process.stdout.write(JSON.stringify(Template.fromStack(new ExchangePushBridgeStack(app, 'Local')).toJSON()));
