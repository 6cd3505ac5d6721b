import { describe, expect, it } from 'vitest';
import { CONTROL_SECONDS, walkInsOf } from '../../bench/fleet/pools.ts';
import { generateWorld } from '../../bench/fleet/world.ts';

/** The fleet benchmark's walk-ins with and without hot-start pools (bench/fleet/pools.ts). */

describe('walk-ins with and without pools', () => {
  const world = generateWorld({ seed: 1, weeks: 1 });
  const [without, withPools] = walkInsOf(world, 2);

  it('serves the same walk-ins; only the pooled run claims, and a claim is READY after the control path alone', () => {
    expect(without!.walkIns).toBeGreaterThan(0);
    expect(withPools!.walkIns).toBe(without!.walkIns);
    expect(without!.fromPool).toBe(0);
    expect(withPools!.fromPool).toBeGreaterThan(0);
    expect(withPools!.fromPool).toBeLessThanOrEqual(withPools!.forNow);
    expect(withPools!.medianReadySecondsForNow).toBe(CONTROL_SECONDS);
    expect(without!.medianReadySecondsForNow).toBeGreaterThan(CONTROL_SECONDS);
    expect(withPools!.p95ReadySeconds).toBeLessThanOrEqual(without!.p95ReadySeconds);
  });

  it('the pools cost something, the run without them nothing, and deeper pools cost more', () => {
    expect(without!.poolCostUsd).toBe(0);
    expect(withPools!.poolCostUsd).toBeGreaterThan(0);
    const deeper = walkInsOf(world, 4)[1]!;
    expect(deeper.poolCostUsd).toBeGreaterThan(withPools!.poolCostUsd);
    // A week of at least `depth` labs per definition with walk-ins.
    expect(withPools!.poolLabHours).toBeGreaterThanOrEqual(2 * 24 * 7 - 1e-6);
  });
});
