import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExchangePushBridgeStack } from '../../infra/stack.ts';
import { synthesize } from './synth.ts';

let template: Template;
beforeAll(() => {
  ({ template } = synthesize());
});

function fnLogicalId(descriptionPrefix: string): string {
  const found = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([, r]) =>
    String(r.Properties.Description).startsWith(descriptionPrefix),
  );
  expect(found).toHaveLength(1);
  return found[0]?.[0] ?? '';
}

describe('keeping subscriptions alive', () => {
  it('runs the sweeper every minute through EventBridge Scheduler, once the role may invoke it', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [fnLogicalId('exchange-push-bridge sweeper'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0 },
      }),
    });
    const [schedule] = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    const policies = Object.keys(template.findResources('AWS::IAM::Policy'));
    const rolePolicy = policies.filter((id) => id.startsWith('BridgeLifecycleSchedulerRoleDefaultPolicy'));
    expect(rolePolicy).toHaveLength(1);
    expect(schedule?.DependsOn).toEqual(expect.arrayContaining(rolePolicy));
  });

  it('feeds the renewer from a renewals queue with a dead-letter queue, bounded concurrency and partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnLogicalId('exchange-push-bridge renewer') },
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    const queues = Object.values(template.findResources('AWS::SQS::Queue'));
    const renewals = queues.find(
      (q) => q.Properties.FifoQueue === undefined && q.Properties.RedrivePolicy !== undefined,
    );
    // Standard queue: per-message delays (waiting out ErrorServerBusy), visibility 6x the timeout.
    expect(renewals?.Properties).toMatchObject({
      VisibilityTimeout: 1800,
      RedrivePolicy: { maxReceiveCount: 5 },
    });
  });

  it('takes its tuning from CDK context', () => {
    const app = new App({
      context: {
        'aws:cdk:bundling-stacks': [],
        renewalConcurrency: '8',
        lostAfterAttempts: 3,
        checkpointIntervalHours: 6,
        alarmEmail: 'ops@example.com',
      },
    });
    const custom = Template.fromStack(new ExchangePushBridgeStack(app, 'Custom'));
    custom.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 8 },
    });
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^exchange-push-bridge renewer'),
      Environment: {
        Variables: Match.objectLike({ LOST_AFTER_ATTEMPTS: '3', CHECKPOINT_INTERVAL_MINUTES: '360' }),
      },
    });
    custom.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    expect(() =>
      Template.fromStack(
        new ExchangePushBridgeStack(
          new App({ context: { lostAfterAttempts: 'many', 'aws:cdk:bundling-stacks': [] } }),
          'Bad',
        ),
      ),
    ).toThrow(/context lostAfterAttempts="many" must be a whole number/);
    expect(() =>
      Template.fromStack(
        new ExchangePushBridgeStack(
          new App({ context: { checkpointIntervalHours: 0, 'aws:cdk:bundling-stacks': [] } }),
          'Bad',
        ),
      ),
    ).toThrow(/checkpointIntervalHours=0 must be a whole number of hours, at least 1/);
  });
});

describe('alarms', () => {
  const alarmsByName = () => {
    const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm'));
    return new Map(
      alarms.map(([id, a]) => [
        id.replace(/^BridgeMonitoring/, '').replace(/[0-9A-F]{8}$/, ''),
        a.Properties,
      ]),
    );
  };

  it('alarm on every condition the runbook covers, each telling the one alarm topic when it fires and clears', () => {
    const alarms = alarmsByName();
    expect([...alarms.keys()].sort()).toEqual(
      [
        'AdminFunctionErrors',
        'AdminFunctionThrottles',
        'CallbackApiServerErrors',
        'EventsBacklog',
        'EventsDeadLetters',
        'IngestBacklog',
        'IngestDeadLetters',
        'ProcessorFunctionErrors',
        'ProcessorFunctionThrottles',
        'EnrichmentFailures',
        'GraphClientStateRejections',
        'GraphLifecycleFailures',
        'GraphNotificationsRefused',
        'GraphSubscriptionsExpiring',
        'GraphValidationFailures',
        'ReceiverErrors',
        'ReceiverFunctionErrors',
        'ReceiverFunctionThrottles',
        'RenewalFailures',
        'RenewalsDeadLetters',
        'RenewerFunctionErrors',
        'RenewerFunctionThrottles',
        'StaleSubscriptions',
        'SubscriptionLost',
        'SubscriptionsNeedAttention',
        'SweeperFunctionErrors',
        'SweeperFunctionThrottles',
        'SweeperNotRunning',
      ].sort(),
    );
    const topic = Object.keys(template.findResources('AWS::SNS::Topic')).find((id) =>
      id.includes('AlarmTopic'),
    );
    for (const properties of alarms.values()) {
      expect(properties.AlarmActions).toEqual([{ Ref: topic }]);
      expect(properties.OKActions).toEqual([{ Ref: topic }]);
      expect(properties.AlarmDescription).toMatch(/Runbook: docs\/runbook\.md, \w+\./);
    }
  });

  it('has a row in the runbook for every alarm', () => {
    const runbook = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'runbook.md'), 'utf8');
    // A row's first column names its alarms in backticks; `<Function>` stands for any function.
    const patterns = runbook
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)])
      .map((m) => new RegExp(`^${(m[1] ?? '').replace('<Function>', '[A-Z][a-z]+')}$`));
    expect(patterns.length).toBeGreaterThan(0);
    const missing = [...alarmsByName().keys()].filter((name) => !patterns.some((p) => p.test(name)));
    expect(missing).toEqual([]);
  });

  it('fires on any lost subscription, on stale ones only after three periods, and when the sweeper stops', () => {
    const alarms = alarmsByName();
    expect(alarms.get('SubscriptionLost')).toMatchObject({
      Namespace: 'ExchangePushBridge',
      MetricName: 'LostSubscriptions',
      Dimensions: [{ Name: 'service', Value: 'sweeper' }],
      Threshold: 1,
      EvaluationPeriods: 1,
    });
    expect(alarms.get('StaleSubscriptions')).toMatchObject({
      MetricName: 'StaleSubscriptions',
      EvaluationPeriods: 3,
      Threshold: 1,
    });
    // Not breaching on missing data (a fresh deploy has none), but told when data stops.
    const topic = Object.keys(template.findResources('AWS::SNS::Topic')).find((id) =>
      id.includes('AlarmTopic'),
    );
    expect(alarms.get('SweeperNotRunning')).toMatchObject({
      MetricName: 'Invocations',
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'missing',
      InsufficientDataActions: [{ Ref: topic }],
    });
    expect(alarms.get('RenewalsDeadLetters')).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
    });
  });

  it('alarms on what only Graph mailboxes can get wrong, on the metrics the functions send', () => {
    const alarms = alarmsByName();
    const on = (service: string) => [{ Name: 'service', Value: service }];
    expect(alarms.get('GraphLifecycleFailures')).toMatchObject({
      MetricName: 'GraphRenewalsFailed',
      Dimensions: on('renewer'),
      Statistic: 'Sum',
      Period: 900,
      Threshold: 3,
    });
    // One is enough: until validation works, no Graph subscription can be made at all.
    expect(alarms.get('GraphValidationFailures')).toMatchObject({
      MetricName: 'GraphValidationFailures',
      Dimensions: on('renewer'),
      Threshold: 1,
    });
    // The sweeper's gauge every minute: any subscription a day from expiring.
    expect(alarms.get('GraphSubscriptionsExpiring')).toMatchObject({
      MetricName: 'GraphSubscriptionsExpiring',
      Dimensions: on('sweeper'),
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    // A stray forgery is noise; a stream of them (or an old deployment's subscriptions) is not.
    expect(alarms.get('GraphClientStateRejections')).toMatchObject({
      MetricName: 'GraphClientStateRejections',
      Dimensions: on('receiver'),
      Period: 900,
      Threshold: 10,
    });
    expect(alarms.get('GraphNotificationsRefused')).toMatchObject({
      MetricName: 'GraphNotificationsRefused',
      Dimensions: on('receiver'),
      Threshold: 1,
    });
    for (const name of [
      'GraphLifecycleFailures',
      'GraphValidationFailures',
      'GraphSubscriptionsExpiring',
      'GraphClientStateRejections',
      'GraphNotificationsRefused',
    ])
      expect(alarms.get(name)?.TreatMissingData, name).toBe('notBreaching');
  });

  it('has one dashboard', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it("graphs the processor's enrichment metrics on the dashboard, in one widget", () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    // The body is an Fn::Join of strings and references; the metric names are in the strings.
    const parts: unknown[] = dashboard?.Properties?.DashboardBody?.['Fn::Join']?.[1] ?? [];
    const body = parts.filter((p): p is string => typeof p === 'string').join('');
    const widget = body.split('{"type":').find((w) => w.includes('"title":"Enrichment (processor)"'));
    expect(widget, 'an "Enrichment (processor)" metric widget').toBeDefined();
    for (const name of [
      'EnrichmentCalls',
      'EnrichmentItemsRead',
      'EnrichmentRetries',
      'EnrichmentFailed',
      'EnrichmentItemNotFound',
      'PublishOrderBroken',
    ])
      expect(widget, name).toContain(`"${name}","service","processor"`);
  });

  it("graphs the Graph source's metrics on the dashboard: the receiver's, the renewer's and the sweeper's", () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const parts: unknown[] = dashboard?.Properties?.DashboardBody?.['Fn::Join']?.[1] ?? [];
    const body = parts.filter((p): p is string => typeof p === 'string').join('');
    const widget = (title: string) => body.split('{"type":').find((w) => w.includes(`"title":"${title}"`));
    const receiver = widget('Graph notifications (receiver)');
    for (const name of [
      'GraphNotificationBatches',
      'GraphNotificationsAccepted',
      'GraphLifecycleNotifications',
      'GraphSupersededNotifications',
      'GraphNotificationsDropped',
      'GraphValidations',
      'GraphClientStateRejections',
      'GraphNotificationsRefused',
    ])
      expect(receiver, name).toContain(`"${name}","service","receiver"`);
    const lifecycle = widget('Graph lifecycle (renewer, sweeper)');
    for (const name of [
      'GraphJobsDone',
      'GraphSubscriptionsCreated',
      'GraphSubscriptionsRenewed',
      'GraphCatchUps',
      'GraphRenewalsFailed',
      'GraphValidationFailures',
    ])
      expect(lifecycle, name).toContain(`"${name}","service","renewer"`);
    for (const name of ['GraphMailboxes', 'GraphSubscriptionsExpiring'])
      expect(lifecycle, name).toContain(`"${name}","service","sweeper"`);
  });
});
