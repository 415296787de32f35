/**
 * What handlers log and count, as ports: in Lambda they are Powertools' Logger and Metrics
 * (JSON logs, CloudWatch embedded metric format); in the local run they feed the terminal view;
 * in tests they stay quiet. Handlers depend only on these shapes.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';

export interface LogSink {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface MetricsRecorder {
  /** Adds `value` (default 1) to a count, optionally under one extra dimension. */
  count(name: string, value?: number, dimension?: { name: string; value: string }): void;
  /** Sends what was counted since the last flush (once per invocation). */
  flush(): void;
}

/** Metrics through Powertools: EMF on stdout, which Lambda turns into CloudWatch metrics. */
export function powertoolsMetrics(metrics: Metrics): MetricsRecorder {
  return {
    count(name, value = 1, dimension) {
      if (dimension === undefined) {
        metrics.addMetric(name, MetricUnit.Count, value);
        return;
      }
      const single = metrics.singleMetric();
      single.addDimension(dimension.name, dimension.value);
      single.addMetric(name, MetricUnit.Count, value);
    },
    // A forged request or a quiet batch counts only single metrics (already written) or nothing;
    // publishing then would log Powertools' "No application metrics to publish" every time.
    flush: () => {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    },
  };
}

/** Counts kept in memory: the local run's view reads them; tests can assert on them. */
export class MemoryMetrics implements MetricsRecorder {
  readonly totals = new Map<string, number>();
  count(name: string, value = 1, dimension?: { name: string; value: string }): void {
    const key = dimension === undefined ? name : `${name}{${dimension.name}=${dimension.value}}`;
    this.totals.set(key, (this.totals.get(key) ?? 0) + value);
  }
  flush(): void {}
  get(name: string): number {
    return this.totals.get(name) ?? 0;
  }
}

export const silentLog: LogSink = { debug() {}, info() {}, warn() {}, error() {} };
