import { bufferMetric, flushMetrics, type MetricDimensionName, type MetricPoint } from './metric-buffer.ts';
import { BUSINESS_METRICS, type BusinessMetricKey, METRIC_DIMENSIONS } from './metric-names.ts';
import { metrics } from './metrics.ts';
import { metricsStage } from './service.ts';

/**
 * Emitting the business metrics (metric-names.ts) through the runtime kit's one `metrics`.
 *
 * Code that observes a business fact calls `recordMetric` (or `recordMetrics` with what a pure
 * rule returned); the data points wait in this process's buffer (metric-buffer.ts) until the
 * handler's one wrapper flushes them: `stepHandler` (every workflow task and schedule),
 * `apiHandler` (every API group) and `publishMetricsAfter` (the outbox stream consumer). Publishing writes one EMF
 * document per dimension set to stdout with Powertools (`service`, `stage` and exactly the
 * metric's declared dimensions, so each data point has one dimension set, as the alarms'
 * Metrics Insights sums require); values of one metric in one document are an EMF value array,
 * each counted as a sample.
 *
 * Publishing at the end of the invocation, not when recorded, is what keeps the outbox's counts
 * to its delivery semantics: an invocation that crashes or times out prints nothing and its
 * retried batch counts once. (Local stack only: handlers run concurrently in one process and
 * share the buffer, so one invocation may print another's points; totals are unchanged.)
 */

export type { MetricDimensionName, MetricPoint } from './metric-buffer.ts';

/** Value of a declared dimension the recorder did not know. */
export const UNKNOWN_DIMENSION = 'unknown';

/** The `stage` the default dimensions hold (set again only when LCM_STAGE changed). */
let stageSet: string | undefined;

/** Records one data point of a business metric, published with the handler's next flush. */
export function recordMetric(
  key: BusinessMetricKey,
  value = 1,
  dimensions?: Partial<Record<MetricDimensionName, string>>,
): void {
  if (!Number.isFinite(value)) return;
  bufferMetric(dimensions ? { key, value, dimensions } : { key, value }, publishPoints);
}

export function recordMetrics(points: readonly MetricPoint[]): void {
  for (const p of points) recordMetric(p.key, p.value, p.dimensions);
}

/** Publishes what was recorded now (tests, scripts); the handler wrappers call flushMetrics. */
export function publishMetrics(): void {
  flushMetrics();
}

/** Exactly the metric's declared dimensions, each with a value (metric-names.ts contract). */
export function dimensionsOf(point: MetricPoint): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of BUSINESS_METRICS[point.key].dimensions) {
    const v = point.dimensions?.[d];
    out[METRIC_DIMENSIONS[d]] = v && v.length > 0 ? v.slice(0, 250) : UNKNOWN_DIMENSION;
  }
  return out;
}

/**
 * Prints data points: one EMF line per dimension set, `stage` (LCM_STAGE) on
 * every one. Also flushes anything stored on `metrics` directly. Never throws: a metric must not
 * fail the work it describes.
 */
function publishPoints(points: readonly MetricPoint[]): void {
  try {
    const stage = metricsStage();
    if (stage !== stageSet) {
      metrics.setDefaultDimensions({ [METRIC_DIMENSIONS.stage]: stage });
      stageSet = stage;
    }
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    const groups = new Map<string, { dimensions: Record<string, string>; points: MetricPoint[] }>();
    for (const p of points) {
      const dimensions = dimensionsOf(p);
      const id = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
      const group = groups.get(id) ?? { dimensions, points: [] };
      group.points.push(p);
      groups.set(id, group);
    }
    // Synchronous from here to the last publish: no other invocation's code runs in between.
    for (const { dimensions, points: ps } of groups.values()) {
      if (Object.keys(dimensions).length > 0) metrics.addDimensions(dimensions);
      for (const p of ps) {
        const m = BUSINESS_METRICS[p.key];
        metrics.addMetric(m.name, m.unit as Parameters<typeof metrics.addMetric>[1], p.value);
      }
      metrics.publishStoredMetrics();
    }
  } catch {
    metrics.clearMetrics();
    metrics.clearDimensions();
  }
}
