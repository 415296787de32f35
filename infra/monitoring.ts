import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Namespace of the metrics the functions publish (Powertools, embedded metric format). */
export const METRICS_NAMESPACE = 'ExchangePushBridge';

export interface MonitoringProps {
  /** Every function of the bridge, by the name alarms and the dashboard show. */
  readonly functions: Readonly<Record<string, IFunction>>;
  readonly sweeper: IFunction;
  /** Dead-letter queues, by name: any message in one means something needs a look. */
  readonly deadLetterQueues: Readonly<Record<string, Queue>>;
  readonly ingestQueue: Queue;
  readonly renewalsQueue: Queue;
  /** The consumers' queue: events left in it expire unseen after its retention period. */
  readonly eventsQueue: Queue;
  /**
   * How old the oldest unread message in the `Events` queue may get before alarming (the queue
   * keeps messages 14 days, then drops them).
   * @default Duration.days(1)
   */
  readonly eventsBacklogAge?: Duration;
  readonly api: HttpApi;
  /**
   * An e-mail address subscribed to the alarms topic (it must confirm the subscription).
   * @default - none; subscribe to the `AlarmTopicArn` output yourself
   */
  readonly alarmEmail?: string;
  /**
   * Stale subscriptions tolerated before alarming (for 15 minutes in a row).
   * @default 0
   */
  readonly staleThreshold?: number;
  /**
   * Failed renewal attempts in 15 minutes before alarming.
   * @default 3
   */
  readonly renewalFailureThreshold?: number;
}

/**
 * What tells people the bridge needs them: CloudWatch alarms, all sent to one SNS topic (and OK
 * when they clear), and one dashboard. The runbook (docs/runbook.md) says, for each alarm, what it means
 * and what to do; each alarm's description points there.
 */
export class Monitoring extends Construct {
  readonly alarmTopic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      enforceSSL: true,
      displayName: 'exchange-push-bridge alarms',
    });
    Validations.of(this.alarmTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key; the messages carry alarm names and metric values only, no mailbox data.',
    });
    // A topic policy replaces SNS's default one, and enforceSSL's holds only a Deny: without this
    // statement no alarm could publish. Only alarms of this account, in this region.
    const stack = Stack.of(this);
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (props.alarmEmail !== undefined)
      this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.alarmTopic);

    const bridgeMetric = (
      service: string,
      metricName: string,
      statistic: string,
      period = Duration.minutes(5),
    ) =>
      new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service }, statistic, period });
    const alarm = (
      name: string,
      runbook: string,
      metric: IMetric,
      threshold: number,
      options: {
        evaluationPeriods?: number;
        comparison?: ComparisonOperator;
        missing?: TreatMissingData;
        /** Also tell the topic when the metric stops arriving (INSUFFICIENT_DATA). */
        noDataAction?: boolean;
      } = {},
    ) => {
      const created = new Alarm(this, name, {
        alarmDescription: `exchange-push-bridge: ${runbook} Runbook: docs/runbook.md, ${name}.`,
        metric,
        threshold,
        evaluationPeriods: options.evaluationPeriods ?? 1,
        comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: options.missing ?? TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      if (options.noDataAction) created.addInsufficientDataAction(action);
      this.alarms.push(created);
      return created;
    };

    alarm(
      'SubscriptionLost',
      'at least one mailbox has had no working subscription for a while; its changes wait in Exchange.',
      bridgeMetric('sweeper', 'LostSubscriptions', 'Maximum'),
      1,
    );
    alarm(
      'SubscriptionsNeedAttention',
      'a renewal keeps failing for a reason only a person can fix (credentials, rights, subscription limit, EWS disabled).',
      bridgeMetric('sweeper', 'SubscriptionsNeedingAttention', 'Maximum'),
      1,
    );
    alarm(
      'StaleSubscriptions',
      'subscriptions have been silent for more than twice their StatusFrequency for 15 minutes.',
      bridgeMetric('sweeper', 'StaleSubscriptions', 'Minimum'),
      (props.staleThreshold ?? 0) + 1,
      { evaluationPeriods: 3 },
    );
    alarm(
      'RenewalFailures',
      'renewals are failing.',
      bridgeMetric('renewer', 'RenewalsFailed', 'Sum', Duration.minutes(15)),
      props.renewalFailureThreshold ?? 3,
    );
    alarm(
      'EnrichmentFailures',
      'events are being published without their items (access refused, unknown connection, Exchange throttling past the wait budget or unreachable); consumers still get every event.',
      bridgeMetric('processor', 'EnrichmentFailed', 'Sum', Duration.minutes(15)),
      10,
    );
    // Microsoft Graph mailboxes (docs/graph-source.md): their failures are the renewer's and the
    // receiver's like EWS ones (RenewalFailures, ReceiverErrors cover them too); these say what
    // only Graph can go wrong with, so the runbook row can say what to do.
    alarm(
      'GraphLifecycleFailures',
      'Graph lifecycle jobs (baseline, create, renew, catch-up, delete) are failing for Graph mailboxes.',
      bridgeMetric('renewer', 'GraphRenewalsFailed', 'Sum', Duration.minutes(15)),
      props.renewalFailureThreshold ?? 3,
    );
    alarm(
      'GraphValidationFailures',
      "Graph could not validate the receiver's notification or lifecycle URL, so no Graph subscription can be created or replaced.",
      bridgeMetric('renewer', 'GraphValidationFailures', 'Sum', Duration.minutes(15)),
      1,
    );
    alarm(
      'GraphSubscriptionsExpiring',
      'a Graph subscription is a day or less from expiring: its renewals have not worked for 2.5 days; when it expires, Graph stops notifying until the lifecycle creates a new one and catches up.',
      bridgeMetric('sweeper', 'GraphSubscriptionsExpiring', 'Maximum'),
      1,
    );
    alarm(
      'GraphClientStateRejections',
      'notifications reached the Graph routes with a clientState that does not verify (a forgery, or subscriptions made with another deployment key); they were refused without a read.',
      bridgeMetric('receiver', 'GraphClientStateRejections', 'Sum', Duration.minutes(15)),
      10,
    );
    alarm(
      'GraphNotificationsRefused',
      'a verified Graph notification named another user than its mailbox (a replayed clientState, or a subscription made for the wrong user); it was not published.',
      bridgeMetric('receiver', 'GraphNotificationsRefused', 'Sum', Duration.minutes(15)),
      1,
    );
    alarm(
      'ReceiverErrors',
      'the receiver answered Exchange with HTTP 500 (our failure: DynamoDB, SQS, a bug); Exchange retries, but not forever.',
      bridgeMetric('receiver', 'Errors', 'Sum'),
      1,
    );
    // Lambda publishes Invocations only for periods with invocations, so "not running" is missing
    // data. Treated as breaching, every fresh deploy would page before the first sweep; treated
    // as missing, the alarm starts in INSUFFICIENT_DATA (no action: creation is not a change),
    // turns OK with the first sweep, and goes back to INSUFFICIENT_DATA, which is notified, when
    // sweeps stop.
    alarm(
      'SweeperNotRunning',
      'the sweeper has not run for 10 minutes (this alarm reports it as INSUFFICIENT_DATA): lost subscriptions are not being noticed.',
      props.sweeper.metricInvocations({ period: Duration.minutes(10), statistic: 'Sum' }),
      1,
      {
        comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
        missing: TreatMissingData.MISSING,
        noDataAction: true,
      },
    );
    alarm(
      'IngestBacklog',
      'events wait in the ingest queue for more than 5 minutes: the processor is failing or too slow.',
      props.ingestQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      300,
    );
    const eventsBacklogAge = props.eventsBacklogAge ?? Duration.days(1);
    alarm(
      'EventsBacklog',
      `the oldest event in the Events queue is more than ${eventsBacklogAge.toHumanString()} old: the consumer is not reading (events expire after 14 days).`,
      props.eventsQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      eventsBacklogAge.toSeconds(),
    );
    alarm(
      'CallbackApiServerErrors',
      'the callback API answered Exchange with 5xx (the receiver failing, throttled or timing out); Exchange retries, but not forever.',
      props.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      1,
    );
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      alarm(
        `${name}DeadLetters`,
        `messages reached the ${name} dead-letter queue after repeated failures.`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        1,
      );
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(
        `${name}FunctionErrors`,
        `the ${name} function failed (errors or timeouts).`,
        fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        1,
      );
      alarm(
        `${name}FunctionThrottles`,
        `the ${name} function was throttled (the account's or its own concurrency limit).`,
        fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
        1,
      );
    }

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    const sum = (service: string, names: string[]) => names.map((n) => bridgeMetric(service, n, 'Sum'));
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# exchange-push-bridge\nSubscriptions, notifications, renewals and queues. Alarms are explained in docs/runbook.md.',
        width: 24,
        height: 2,
      }),
      new SingleValueWidget({
        title: 'Subscriptions now',
        metrics: [
          'ActiveSubscriptions',
          'StaleSubscriptions',
          'RenewingSubscriptions',
          'LostSubscriptions',
          'SubscriptionsNeedingAttention',
        ].map((n) => bridgeMetric('sweeper', n, 'Maximum')),
        width: 24,
      }),
      new GraphWidget({
        title: 'Notifications (receiver)',
        left: sum('receiver', [
          'Notifications',
          'Heartbeats',
          'NotificationsAccepted',
          'Duplicates',
          'Gaps',
          'ErrorPushes',
          'UnsubscribesAnswered',
        ]),
        right: sum('receiver', ['EventsAccepted']),
        width: 12,
      }),
      new GraphWidget({
        title: 'Receiver failures and rejections',
        left: [
          bridgeMetric('receiver', 'Errors', 'Sum'),
          props.api.metricServerError({ period: Duration.minutes(5) }),
          props.api.metricClientError({ period: Duration.minutes(5) }),
        ],
        right: [props.api.metricLatency({ period: Duration.minutes(5), statistic: 'p99' })],
        width: 12,
      }),
      new GraphWidget({
        title: 'Renewals',
        left: sum('renewer', [
          'RenewalsSucceeded',
          'RenewalsFailed',
          'RenewalsThrottled',
          'SubscriptionsLost',
          'SubscriptionsRecovered',
          'RenewalsNeedingAttention',
        ]),
        right: [
          bridgeMetric('renewer', 'ResyncEvents', 'Sum'),
          bridgeMetric('sweeper', 'RenewalsEnqueued', 'Sum'),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Queues',
        left: [
          props.ingestQueue.metricApproximateNumberOfMessagesVisible({ label: 'ingest visible' }),
          props.renewalsQueue.metricApproximateNumberOfMessagesVisible({ label: 'renewals visible' }),
          ...Object.entries(props.deadLetterQueues).map(([name, q]) =>
            q.metricApproximateNumberOfMessagesVisible({ label: `${name} DLQ` }),
          ),
        ],
        right: [props.ingestQueue.metricApproximateAgeOfOldestMessage({ label: 'ingest oldest (s)' })],
        width: 12,
      }),
      new GraphWidget({
        title: 'Function errors',
        left: Object.entries(props.functions).map(([name, fn]) =>
          fn.metricErrors({ label: name, period: Duration.minutes(5) }),
        ),
        width: 12,
      }),
      new GraphWidget({
        title: 'Function duration p99 (ms)',
        left: Object.entries(props.functions).map(([name, fn]) =>
          fn.metricDuration({ label: name, statistic: 'p99', period: Duration.minutes(5) }),
        ),
        width: 12,
      }),
      // Enrichment (README "Enrichment"): GetItem calls and the items they read; retries are
      // throttling or passing errors waited out; failed events went out without their item (the
      // EnrichmentFailures alarm), not-found ones were deleted or moved since; a broken publish
      // order means a mailbox's events went out of order after a partial failure.
      new GraphWidget({
        title: 'Enrichment (processor)',
        left: sum('processor', ['EnrichmentCalls', 'EnrichmentItemsRead', 'EnrichmentRetries']),
        right: sum('processor', ['EnrichmentFailed', 'EnrichmentItemNotFound', 'PublishOrderBroken']),
        width: 12,
      }),
      // Microsoft Graph mailboxes: what the receiver took and refused, what the lifecycle did, and
      // how many mailboxes are watched through Graph with how many subscriptions near expiry.
      new GraphWidget({
        title: 'Graph notifications (receiver)',
        left: sum('receiver', [
          'GraphNotificationBatches',
          'GraphNotificationsAccepted',
          'GraphLifecycleNotifications',
          'GraphSupersededNotifications',
          'GraphNotificationsDropped',
          'GraphValidations',
        ]),
        right: sum('receiver', ['GraphClientStateRejections', 'GraphNotificationsRefused']),
        width: 12,
      }),
      new GraphWidget({
        title: 'Graph lifecycle (renewer, sweeper)',
        left: sum('renewer', [
          'GraphJobsDone',
          'GraphSubscriptionsCreated',
          'GraphSubscriptionsRenewed',
          'GraphCatchUps',
          'GraphRenewalsFailed',
          'GraphValidationFailures',
        ]),
        right: ['GraphMailboxes', 'GraphSubscriptionsExpiring'].map((n) =>
          bridgeMetric('sweeper', n, 'Maximum'),
        ),
        width: 12,
      }),
      new GraphWidget({
        title: 'Events per second',
        left: [
          new MathExpression({
            expression: 'accepted / PERIOD(accepted)',
            usingMetrics: { accepted: bridgeMetric('receiver', 'EventsAccepted', 'Sum') },
            label: 'events/s',
          }),
        ],
        width: 12,
      }),
    );
  }
}
