import { NotFoundError, VersionConflictError } from '@lcm/shared/kernel';
import { backoffDelay, retryOnConflict } from '@lcm/shared/platform';
import { describe, expect, it } from 'vitest';

describe('retryOnConflict', () => {
  it('retries conflicts with full-jitter delays and returns the attempt count', async () => {
    const delays: number[] = [];
    let calls = 0;
    const out = await retryOnConflict(
      async () => {
        calls++;
        if (calls < 4) throw new VersionConflictError('Worker', 'w');
        return 'ok';
      },
      { sleep: async (ms) => void delays.push(ms), random: () => 0.999, baseDelayMs: 10, maxDelayMs: 50 },
    );
    expect(out).toEqual({ value: 'ok', attempts: 4 });
    expect(delays).toEqual([9, 19, 39]);
  });

  it('rethrows the last conflict after maxAttempts and other errors at once', async () => {
    let calls = 0;
    await expect(
      retryOnConflict(
        async () => {
          calls++;
          throw new VersionConflictError('Worker', 'w');
        },
        { maxAttempts: 5, sleep: async () => {} },
      ),
    ).rejects.toBeInstanceOf(VersionConflictError);
    expect(calls).toBe(5);
    calls = 0;
    await expect(
      retryOnConflict(async () => {
        calls++;
        throw new NotFoundError('Worker', 'w');
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(calls).toBe(1);
  });

  it('caps every delay', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const d = backoffDelay(attempt, { random: () => 0.9999, baseDelayMs: 10, maxDelayMs: 1000 });
      expect(d).toBeLessThan(1000);
      expect(d).toBeGreaterThanOrEqual(0);
    }
  });
});
