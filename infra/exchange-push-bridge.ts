import { Construct } from 'constructs';

/**
 * The whole bridge as one reusable construct. Each concern (receiver, state, queues, lifecycle,
 * alarms) lands as its own construct under this one as the project grows.
 */
export class ExchangePushBridge extends Construct {}
