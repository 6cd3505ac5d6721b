import { DEFAULT_FLEET_CONFIG, DEFAULT_SCALING_CONFIG } from '@lcm/shared/fleet';
import { DEFAULT_LIFECYCLE_CONFIG } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SIM_OPTIONS, placementRetrySeconds, rateMinutes, simulate } from '../../bench/fleet/sim.ts';
import { SIM_DEFINITIONS, SIM_TEMPLATES, type Trace } from '../../bench/fleet/trace.ts';
import { FLEET_SCHEDULES } from '../../functions/catalogue.ts';

/**
 * Issue 10, item 7: the fleet simulator runs on production's timing. It must read the very
 * config objects production reads (no copies), and its behaviour must follow them.
 */

const oneSession = (): Trace => ({
  seed: 0,
  weeks: 1,
  epoch: '2026-01-05T00:00:00.000Z',
  templates: structuredClone(SIM_TEMPLATES),
  definitions: SIM_DEFINITIONS,
  reservations: [{ id: 's-1', definitionId: 'ccna-basics', bookedAt: -1440, start: 600, end: 660 }],
});

describe('fleet simulator timing', () => {
  it('uses production config objects, not copies of their values', () => {
    expect(DEFAULT_SIM_OPTIONS.lifecycle).toBe(DEFAULT_LIFECYCLE_CONFIG);
    expect(DEFAULT_SIM_OPTIONS.fleet).toBe(DEFAULT_FLEET_CONFIG);
    expect(DEFAULT_SIM_OPTIONS.config).toEqual(DEFAULT_SCALING_CONFIG);
    const rate = (name: string) => rateMinutes(FLEET_SCHEDULES.find((f) => f.name === name)!.schedule);
    expect(DEFAULT_SIM_OPTIONS.scaleUpEveryMinutes).toBe(rate('scale-up'));
    expect(DEFAULT_SIM_OPTIONS.scaleDownEveryMinutes).toBe(rate('scale-down'));
  });

  it('backs placement off as PlaceSession does: base doubling to the ceiling', () => {
    const lc = DEFAULT_LIFECYCLE_CONFIG;
    const delays = Array.from({ length: 8 }, (_, n) => placementRetrySeconds(n, lc));
    expect(delays[0]).toBe(lc.placementRetryBaseSeconds);
    expect(delays[1]).toBe(2 * lc.placementRetryBaseSeconds);
    expect(delays.at(-1)).toBe(lc.placementRetryMaxSeconds);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(placementRetrySeconds(2, { ...lc, placementRetryMaxSeconds: 45 })).toBe(45);
  });

  it('follows the lifecycle config it is given: the backoff and the instantiation lead change the outcome', () => {
    // Reactive launches only once placement fails at the window (start − 15 min); the host boots
    // in 15 min, so it is RUNNING at the start and the session waits for its next attempt.
    const prod = simulate(oneSession(), 'reactive');
    const eager = simulate(oneSession(), 'reactive', {
      lifecycle: { ...DEFAULT_LIFECYCLE_CONFIG, placementRetryMaxSeconds: 60 },
    });
    // Retrying at most every minute places it at the start (ready 5 min later); production's
    // 300-s ceiling leaves it waiting longer.
    expect(eager.maxLatenessMinutes).toBe(DEFAULT_SIM_OPTIONS.instantiateMinutes);
    expect(prod.maxLatenessMinutes).toBeGreaterThan(eager.maxLatenessMinutes);
    // LCM launches ahead: the session is READY by its start with production's 10-min instantiation
    // lead, and late when the lead is shorter than the instantiation itself.
    expect(simulate(oneSession(), 'lcm').onTimeShare).toBe(1);
    const short = simulate(oneSession(), 'lcm', {
      lifecycle: { ...DEFAULT_LIFECYCLE_CONFIG, instantiateLeadSeconds: 240 },
    });
    expect(short.maxLatenessMinutes).toBe(DEFAULT_SIM_OPTIONS.instantiateMinutes - 4);
  });
});
