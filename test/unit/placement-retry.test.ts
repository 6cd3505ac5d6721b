import { DEFAULT_LIFECYCLE_CONFIG, LATE_RETRY_SHARE, placementRetryDelaySeconds } from '@lcm/shared/sessions';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** Issue 10 (on time): PlaceSession's retry delay never carries an attempt past the instantiation. */

const cfg = DEFAULT_LIFECYCLE_CONFIG; // base 30 s, ceiling 300 s, instantiation 600 s before the start
const START = Date.parse('2026-01-05T10:00:00.000Z');
const slot = { startMs: START, endMs: START + 2 * 3_600_000 };
const due = START - cfg.instantiateLeadSeconds * 1000;
const at = (secondsFromDue: number) => due + secondsFromDue * 1000;

describe('placementRetryDelaySeconds', () => {
  it('backs off from the base to the ceiling while the instantiation is far', () => {
    const early = at(-3600);
    expect([0, 1, 2, 3, 4, 5, 9].map((n) => placementRetryDelaySeconds(n, early, slot, cfg))).toEqual([
      30, 60, 120, 240, 300, 300, 300,
    ]);
  });

  it('never waits past the instant the lab is due to be instantiated', () => {
    // 100 s before it, after 4 failures (240 s of backoff): the next attempt is at the due time.
    expect(placementRetryDelaySeconds(4, at(-100), slot, cfg)).toBe(100);
    expect(placementRetryDelaySeconds(0, at(-10), slot, cfg)).toBe(10);
  });

  it('once due, waits a quarter of the lateness accrued: at least the base, at most the ceiling', () => {
    expect(placementRetryDelaySeconds(9, at(0), slot, cfg)).toBe(30);
    expect(placementRetryDelaySeconds(9, at(60), slot, cfg)).toBe(30);
    expect(placementRetryDelaySeconds(9, at(600), slot, cfg)).toBe(150);
    expect(placementRetryDelaySeconds(9, at(3600), slot, cfg)).toBe(300);
    // The backoff still bounds it: after one failure the delay is at most 60 s.
    expect(placementRetryDelaySeconds(1, at(3600), slot, cfg)).toBe(60);
  });

  it('never past the timeslot end, and at least 1 s', () => {
    expect(placementRetryDelaySeconds(9, slot.endMs - 5_000, slot, cfg)).toBe(5);
    expect(placementRetryDelaySeconds(9, slot.endMs + 5_000, slot, cfg)).toBe(1);
  });

  it('property: within [1, ceiling], never past the due time while early, never more than the backoff', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: -86_400, max: 86_400 }),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 1, max: 900 }),
        (failures, fromDue, base, extra) => {
          const c = { ...cfg, placementRetryBaseSeconds: base, placementRetryMaxSeconds: base + extra };
          const now = at(fromDue);
          const d = placementRetryDelaySeconds(failures, now, slot, c);
          expect(d).toBeGreaterThanOrEqual(1);
          expect(d).toBeLessThanOrEqual(Math.min(base + extra, base * 2 ** Math.min(failures, 20)));
          if (now < due) expect(now + d * 1000).toBeLessThanOrEqual(due + 999);
          else if (now < slot.endMs - 300_000)
            expect(d).toBeLessThanOrEqual(Math.max(base, Math.ceil((LATE_RETRY_SHARE * (now - due)) / 1000)));
        },
      ),
    );
  });
});
