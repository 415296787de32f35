import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ExchangePushBridgeStack } from '../../infra/stack.ts';

describe('CDK app', () => {
  it('synthesizes with the cdk-nag AWS Solutions checks on', () => {
    const app = new App();
    new ExchangePushBridgeStack(app, 'Test');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
