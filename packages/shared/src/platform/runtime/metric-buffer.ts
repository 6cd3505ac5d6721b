import type { BusinessMetricKey, METRIC_DIMENSIONS } from './metric-names.ts';

/**
 * The process's buffer of recorded business-metric data points, and its flush: the light half of
 * business-metrics.ts. The handler wrappers (stepHandler, apiHandler, publishMetricsAfter) import
 * only this, so a bundle whose code never records a metric does not contain Powertools Metrics:
 * `recordMetric` (business-metrics.ts) hands the publisher over with its first point.
 */

/** Dimension names (a point's `stage` is set when published, whatever it gives). */
export type MetricDimensionName = keyof typeof METRIC_DIMENSIONS;

export interface MetricPoint {
  readonly key: BusinessMetricKey;
  readonly value: number;
  /** Values of the metric's declared dimensions (metric-names.ts); others are ignored. */
  readonly dimensions?: Partial<Record<MetricDimensionName, string>>;
}

export type PointsPublisher = (points: readonly MetricPoint[]) => void;

const pending: MetricPoint[] = [];
let publisher: PointsPublisher | undefined;

/** Adds a point to the buffer; `publish` is what flushMetrics will print it with. */
export function bufferMetric(point: MetricPoint, publish: PointsPublisher): void {
  publisher ??= publish;
  pending.push(point);
}

/** Publishes what was recorded since the last flush (nothing to do when nothing was). Never throws. */
export function flushMetrics(): void {
  if (pending.length === 0 || !publisher) return;
  const points = pending.splice(0, pending.length);
  try {
    publisher(points);
  } catch {
    // A metric must not fail the work it describes.
  }
}

/** Drops what was recorded and not published. */
export function discardMetrics(): void {
  pending.length = 0;
}

/** The data points recorded and not yet published (tests). */
export function pendingMetrics(): readonly MetricPoint[] {
  return [...pending];
}

/**
 * Middy middleware flushing the recorded points when the handler returned. Not on error: a stream
 * batch that throws is retried whole, and its points are recorded again then.
 */
export function publishMetricsAfter(): { after: () => void; onError: () => void } {
  return { after: flushMetrics, onError: discardMetrics };
}
