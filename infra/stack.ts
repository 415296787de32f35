import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ExchangePushBridge, type ExchangePushBridgeProps } from './exchange-push-bridge.ts';

/**
 * The deployable stack: a thin shell so the construct can also be embedded in a user's own app.
 * Settings come from CDK context, e.g. `npx cdk deploy -c alarmEmail=ops@example.com`.
 */
export class ExchangePushBridgeStack extends Stack {
  readonly bridge: ExchangePushBridge;

  constructor(scope: Construct, id: string, props: StackProps & { bridge?: ExchangePushBridgeProps } = {}) {
    super(scope, id, props);
    this.bridge = new ExchangePushBridge(this, 'Bridge', {
      ...bridgePropsFromContext(this),
      ...props.bridge,
    });
  }
}

class InvalidContextError extends Error {
  override readonly name = 'InvalidContextError';
}

/** The construct's props a user can set with `-c name=value` (or in cdk.json's context). */
function bridgePropsFromContext(scope: Construct): ExchangePushBridgeProps {
  const text = (name: string): string | undefined => {
    const value: unknown = scope.node.tryGetContext(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number')
      throw new InvalidContextError(`context ${name} must be a string or number`);
    return String(value);
  };
  const integer = (name: string): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed) || parsed < 0)
      throw new InvalidContextError(`context ${name}=${JSON.stringify(value)} must be a whole number`);
    return parsed;
  };
  const props: Record<string, unknown> = {
    alarmEmail: text('alarmEmail'),
    staleThreshold: integer('staleThreshold'),
    renewalConcurrency: integer('renewalConcurrency'),
    processorConcurrency: integer('processorConcurrency'),
    lostAfterAttempts: integer('lostAfterAttempts'),
    lostAfterMinutes: integer('lostAfterMinutes'),
    checkpointIntervalHours: integer('checkpointIntervalHours'),
    callbackRateLimit: integer('callbackRateLimit'),
    callbackBurstLimit: integer('callbackBurstLimit'),
  };
  const defined: ExchangePushBridgeProps = {};
  for (const [key, value] of Object.entries(props))
    if (value !== undefined) Object.assign(defined, { [key]: value });
  return defined;
}
