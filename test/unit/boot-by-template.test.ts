import { observedBootSecondsByTemplate } from '@lcm/shared/fleet';
import type { BootRecord } from '@lcm/shared/kernel';
import { describe, expect, it } from 'vitest';
import { template } from './builders.ts';

/** Issue 10, item 5: what the scalers pass the planners as bootSeconds. */

const boot = (templateName: string, seconds: number, i: number, kind: BootRecord['kind'] = 'LAUNCH') =>
  ({
    kind,
    templateName,
    seconds,
    launchedAt: new Date(Date.UTC(2026, 0, 5, 7, i)).toISOString(),
    readyAt: new Date(Date.UTC(2026, 0, 5, 8, i)).toISOString(),
  }) satisfies BootRecord;

describe('observedBootSecondsByTemplate', () => {
  it('each template: p95 of its recorded launches over all workers, its figure as the prior', () => {
    const big = template({ name: 'big', bootMinutes: 15 });
    const small = template({ name: 'small', bootMinutes: 10 });
    const workers = [
      { boots: [boot('big', 1200, 1), boot('big', 1500, 3), boot('big', 60, 4, 'START')] },
      { boots: [boot('big', 1000, 2)] },
      {},
    ];
    expect(observedBootSecondsByTemplate(workers, [big, small])).toEqual({ big: 1500, small: 600 });
  });
});
