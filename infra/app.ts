// The CDK app `cdk deploy` runs. It holds one stack around the reusable ExchangePushBridge
// construct and turns on the cdk-nag AWS Solutions checks, so a finding fails synth (and CI)
// unless it is acknowledged with a written reason next to the resource it concerns.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExchangePushBridgeStack } from './stack.ts';

const app = new App();
new ExchangePushBridgeStack(app, 'ExchangePushBridge', {
  description: 'exchange-push-bridge: EWS push notifications to SQS, with subscriptions kept alive',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
