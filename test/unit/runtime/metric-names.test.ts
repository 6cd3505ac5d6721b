import {
  BUSINESS_METRICS,
  METRIC_DIMENSIONS,
  METRIC_NAMESPACE,
  METRICS_NAMESPACE,
} from '@lcm/shared/platform';
import { describe, expect, it } from 'vitest';

describe('business metric names (platform/runtime/metric-names.ts)', () => {
  const entries = Object.values(BUSINESS_METRICS);

  it('live in the runtime kit’s one namespace', () => {
    expect(METRIC_NAMESPACE).toBe(METRICS_NAMESPACE);
  });

  it('are distinct CloudWatch names a Metrics Insights query can use unquoted', () => {
    const names = entries.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[A-Z][A-Za-z0-9]{1,254}$/);
  });

  it('use only the declared dimensions, never `stage` twice, and say what a data point means', () => {
    const dimensions = Object.keys(METRIC_DIMENSIONS);
    for (const m of entries) {
      for (const d of m.dimensions) expect(dimensions, m.name).toContain(d);
      expect(m.dimensions, m.name).not.toContain('stage');
      expect(new Set(m.dimensions).size, m.name).toBe(m.dimensions.length);
      expect(m.meaning.length, m.name).toBeGreaterThan(10);
    }
  });
});
