import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ExchangePushBridge } from './exchange-push-bridge.ts';

/** The deployable stack: a thin shell so the construct can also be embedded in a user's own app. */
export class ExchangePushBridgeStack extends Stack {
  readonly bridge: ExchangePushBridge;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    this.bridge = new ExchangePushBridge(this, 'Bridge');
  }
}
