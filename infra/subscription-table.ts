import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/**
 * The bridge's state, in two tables:
 * - `table`: one small record per watched mailbox (subscription id, generation, watermark, last
 *   contact), written on every heartbeat and scanned by every sweep, so it holds nothing else
 *   (docs/sweep-cost.md: every byte in it is read once a minute);
 * - `syncStates`: the per-folder SyncState for catch-ups, large and rarely written.
 * On-demand, point-in-time recovery on, and kept when the stack is deleted: losing the first means
 * losing every watermark.
 */
export class SubscriptionTable extends Construct {
  readonly table: TableV2;
  readonly syncStates: TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const props = {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    } as const;
    this.table = new TableV2(this, 'Table', props);
    this.syncStates = new TableV2(this, 'SyncStates', props);
  }
}
