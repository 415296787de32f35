/**
 * What Lambda gives every function's wiring (each folder's wiring.ts) besides its AWS clients:
 * the system clock, Powertools' Logger (the edge adds the Lambda context to it) and, for the
 * functions that count, Powertools' Metrics in the bridge's namespace.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { type Clock, systemClock } from './clock.ts';
import { type MetricsRecorder, powertoolsMetrics } from './telemetry.ts';

export function lambdaHost(serviceName: string): { readonly clock: Clock; readonly logger: Logger } {
  return { clock: systemClock, logger: new Logger({ serviceName }) };
}

export function lambdaMetrics(serviceName: string): MetricsRecorder {
  return powertoolsMetrics(new Metrics({ namespace: 'ExchangePushBridge', serviceName }));
}
