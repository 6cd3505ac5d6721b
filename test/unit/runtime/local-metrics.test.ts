import { collectMetrics, startMetricsCollector } from '@lcm/sandbox/local-metrics';
import { publishMetrics, recordMetric } from '@lcm/shared/platform';
import { describe, expect, it } from 'vitest';
import { metricsStageForTests } from '../../support/emf.ts';

/**
 * The local stack's collector (packages/sandbox/src/local-metrics.ts) reads what Powertools
 * Metrics really prints: the EMF lines are taken off stdout and summed per metric and dimension
 * set with a short history; other output passes through.
 */

describe('local metrics collector', () => {
  metricsStageForTests('local');

  it('takes the EMF lines the handlers print off stdout; latest, sum, min, max and history per series', () => {
    const passed: string[] = [];
    const original = process.stdout.write;
    // What reaches the real stdout once the collector is in place.
    process.stdout.write = ((chunk: unknown) => {
      passed.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    const collector = startMetricsCollector({ historySize: 2 });
    try {
      recordMetric('bootSeconds', 90, { template: 'm5-metal' });
      recordMetric('bootSeconds', 30, { template: 'm5-metal' });
      recordMetric('bootSeconds', 60, { template: 'm5-metal' });
      recordMetric('sessionsBooked', 1, { definition: 'd1' });
      publishMetrics();
      process.stdout.write('not a metric\n');
    } finally {
      collector.stop();
      process.stdout.write = original;
    }
    expect(passed).toEqual(['not a metric\n']);
    const snapshot = collector.snapshot();
    expect(snapshot.documents).toBe(2);
    expect(snapshot.totals).toEqual({ WorkerBootSeconds: 180, SessionsBooked: 1 });
    const boot = snapshot.series.find((s) => s.name === 'WorkerBootSeconds')!;
    expect(boot).toMatchObject({
      namespace: 'LCM',
      unit: 'Seconds',
      dimensions: { service: 'lcm', stage: 'local', template: 'm5-metal' },
      latest: 60,
      count: 3,
      sum: 180,
      min: 30,
      max: 90,
    });
    expect(boot.history.map((h) => h.value)).toEqual([30, 60]);
  });

  it('ignores lines that are not EMF, even JSON ones', () => {
    const c = collectMetrics();
    expect(c.ingest('{"level":"INFO","message":"task completed"}')).toBe(false);
    expect(c.ingest('{"_aws":{"CloudWatchMetrics":"nope"}}')).toBe(false);
    expect(c.snapshot()).toMatchObject({ documents: 0, totals: {}, series: [] });
  });
});
