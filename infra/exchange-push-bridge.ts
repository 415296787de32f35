import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { Admin } from './admin.ts';
import { EventFanout } from './event-fanout.ts';
import { EventQueues } from './event-queues.ts';
import { Receiver } from './receiver.ts';
import { SubscriptionTable } from './subscription-table.ts';

export interface ExchangePushBridgeProps {
  /**
   * How long the functions' and the API's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Steady-state requests per second the callback API accepts.
   * @default 200
   */
  readonly callbackRateLimit?: number;
  /**
   * Requests the callback API accepts in a burst.
   * @default 400
   */
  readonly callbackBurstLimit?: number;
}

/**
 * The whole bridge as one reusable construct: state, queues, the notification endpoint (and,
 * as the project grows, the lifecycle and alarms), each a construct of its own.
 */
export class ExchangePushBridge extends Construct {
  readonly state: SubscriptionTable;
  readonly queues: EventQueues;
  readonly receiver: Receiver;
  readonly fanout: EventFanout;
  readonly admin: Admin;

  constructor(scope: Construct, id: string, props: ExchangePushBridgeProps = {}) {
    super(scope, id);
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    this.state = new SubscriptionTable(this, 'State');
    this.queues = new EventQueues(this, 'Queues');
    this.fanout = new EventFanout(this, 'Fanout', { ingest: this.queues.ingest, logRetention });
    this.receiver = new Receiver(this, 'Receiver', {
      table: this.state.table,
      ingestQueue: this.queues.ingest,
      logRetention,
      ...(props.callbackRateLimit === undefined ? {} : { rateLimit: props.callbackRateLimit }),
      ...(props.callbackBurstLimit === undefined ? {} : { burstLimit: props.callbackBurstLimit }),
    });
    this.admin = new Admin(this, 'Admin', {
      table: this.state.table,
      callbackKey: this.receiver.callbackKey,
      callbackBaseUrl: this.receiver.callbackBaseUrl,
      logRetention,
    });
  }
}
