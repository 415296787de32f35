/**
 * What every host (Lambda's handler.ts, the local run, a test) gives a function's wiring besides
 * its AWS clients and secrets: the time, and where logs and counts go. The rest (which adapters,
 * on which resources, with which settings) the wiring chooses once, from the environment.
 */
import type { Clock } from './clock.ts';
import type { LogSink, MetricsRecorder } from './telemetry.ts';

export interface FunctionHost {
  readonly clock: Clock;
  readonly logger: LogSink;
  readonly metrics: MetricsRecorder;
}

/** A function's environment as Lambda's process.env or a host's record gives it. */
export type EnvironmentRecord = Readonly<Record<string, string | undefined>>;
