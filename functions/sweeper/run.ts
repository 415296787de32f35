/**
 * The sweeper as a scheduled function: one sweep, its findings as metrics (alarmed on) and one
 * log line; the edge chain (core/edge.ts) flushes them.
 */
import { type EdgeHandler, edge } from '../core/edge.ts';
import type { LogSink, MetricsRecorder } from '../core/telemetry.ts';
import { type SweepDeps, type SweepSummary, sweep } from './sweep.ts';

/** Scheduled: the schedule's event says nothing the sweep needs. */
export type SweepHandler = EdgeHandler<void, SweepSummary>;

export function createSweepHandler(
  deps: SweepDeps & { logger: LogSink; metrics: MetricsRecorder },
): SweepHandler {
  const useCase = async () => {
    const summary = await sweep(deps);
    const gauge = (name: string, value: number) => deps.metrics.count(name, value);
    gauge('StaleSubscriptions', summary.stale);
    gauge('LostSubscriptions', summary.lost);
    gauge('RenewingSubscriptions', summary.renewing);
    gauge('ActiveSubscriptions', summary.active);
    gauge('SubscriptionsNeedingAttention', summary.needingAttention);
    gauge('RenewalsEnqueued', summary.enqueued);
    gauge('SweptRecords', summary.scanned);
    gauge('GraphMailboxes', summary.graphMailboxes);
    gauge('GraphSubscriptionsExpiring', summary.graphExpiring);
    // Routine, whatever it found: stale and lost subscriptions are metrics, alarmed on there.
    deps.logger.info('sweep done', { ...summary });
    return summary;
  };
  return edge<void, SweepSummary>(useCase, { logger: deps.logger, metrics: deps.metrics });
}
