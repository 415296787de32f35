import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExchangePushBridgeStack } from '../../infra/stack.ts';
import { context, synthesize } from './synth.ts';

let template: Template;
beforeAll(() => {
  ({ template } = synthesize());
});

describe('the deployed bridge', () => {
  it('passes the cdk-nag AWS Solutions checks, which do refuse a finding nobody acknowledged', () => {
    // synthesize() (beforeAll) threw if the bridge had an unacknowledged finding; prove the check
    // is live by adding what it must refuse: a queue with no dead-letter queue and no TLS policy.
    const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
    const stack = new ExchangePushBridgeStack(app, 'Nagged');
    new Queue(stack, 'Unguarded');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS[34]/);
  });

  it('keeps subscription state in an on-demand table with point-in-time recovery, retained on delete', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        Replicas: [
          Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
        ],
      },
    });
  });

  it('hands events to a FIFO ingest queue de-duplicated by id, with a FIFO dead-letter queue', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    const ingest = Object.values(queues).find((q) => q.Properties.RedrivePolicy !== undefined);
    expect(ingest?.Properties).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      SqsManagedSseEnabled: true,
      RedrivePolicy: { maxReceiveCount: 5 },
    });
  });

  it("exposes EWS's POST route, whose path carries mailbox key, generation and token, and Graph's two", () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 3);
    for (const RouteKey of [
      'POST /ews/{mailboxKey}/{generation}/{token}',
      'POST /graph/notify',
      'POST /graph/lifecycle',
    ]) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey, AuthorizationType: 'NONE' });
    }
    // Every route goes to the one receiver function.
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    const targets = new Set(
      Object.values(integrations).map((i) => JSON.stringify(i.Properties.IntegrationUri)),
    );
    expect(targets.size).toBe(1);
  });

  it('throttles the callback API and logs access without the path (it holds the token)', () => {
    const stages = template.findResources('AWS::ApiGatewayV2::Stage');
    const [stage] = Object.values(stages);
    expect(stage?.Properties.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: 200,
      ThrottlingBurstLimit: 400,
    });
    const format = String(stage?.Properties.AccessLogSettings.Format);
    expect(format).toContain('$context.routeKey');
    expect(format).not.toMatch(/\$context\.(path|resourcePath)|rawPath/);
  });

  it('runs the receiver on Node.js 24, arm64, with its configuration in the environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^exchange-push-bridge receiver'),
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: Match.anyValue(),
          INGEST_QUEUE_URL: Match.anyValue(),
          CALLBACK_KEY_SECRET_ARN: Match.anyValue(),
        }),
      },
    });
  });

  it('fans events out through an SNS FIFO topic to a FIFO Events queue with raw delivery and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      FifoTopic: true,
      ContentBasedDeduplication: false,
      // Per-mailbox throughput end to end: a mass catch-up is not held to one topic's quota.
      FifoThroughputScope: 'MessageGroup',
      KmsMasterKeyId: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs', RawMessageDelivery: true });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      // Bounded, so a burst of events cannot take the account's concurrency from the receiver.
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    const fifo = Object.values(template.findResources('AWS::SQS::Queue')).filter(
      (q) => q.Properties.FifoQueue === true,
    );
    expect(fifo).toHaveLength(4);
    const consumed = fifo.filter((q) => q.Properties.RedrivePolicy !== undefined);
    expect(consumed).toHaveLength(2);
    for (const queue of consumed)
      expect(queue.Properties).toMatchObject({
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
      });
  });

  it("names FIFO queues within SQS's 80 characters, even in a stack with a long name", () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new ExchangePushBridgeStack(app, `A${'VeryLongStackName'.repeat(8)}`);
    const names = Object.values(Template.fromStack(stack).findResources('AWS::SQS::Queue'))
      .filter((q) => q.Properties.FifoQueue === true)
      .map((q) => stack.resolve(q.Properties.QueueName));
    expect(names).toHaveLength(4);
    for (const name of names) {
      expect(name).toMatch(/^[A-Za-z0-9_-]+\.fifo$/);
      expect(name.length).toBeLessThanOrEqual(80);
    }
    expect(new Set(names).size).toBe(4);
  });

  it('exposes the admin function only to IAM callers: no function URL, no resource-based permission', () => {
    // No resource-based permission lets anything but IAM principals invoke it (no API route, no URL).
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    expect(permissions.every((p) => p.Properties.Principal === 'apigateway.amazonaws.com')).toBe(true);
    template.resourceCountIs('AWS::Lambda::Url', 0);
  });

  it('creates the connections secret empty, so no credential is ever in the template', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('Exchange connections'),
      SecretString: '{}',
    });
  });

  it('keeps logs for a bounded time', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });
});
