import { DEFAULT_SCALING_CONFIG, lookAheadMinutes, planScaleDown, planScaleUp } from '@lcm/shared/fleet';
import { ValidationError } from '@lcm/shared/kernel';
import { describe, expect, it } from 'vitest';
import { template } from './builders.ts';

/** Issue 10, item 5 (scaler side): the look-ahead uses each template's observed boot duration. */

const NOW = '2025-06-01T12:00:00.000Z';
const at = (minutes: number): string => new Date(Date.parse(NOW) + minutes * 60_000).toISOString();
const BIG = template({ name: 'big', bootMinutes: 15 });
const config = { ...DEFAULT_SCALING_CONFIG, lookAheadMarginMinutes: 10 };
const session = (startIn: number) => ({
  id: 's-1',
  status: 'PENDING' as const,
  timeslot: { start: at(startIn), end: at(startIn + 60) },
  requirements: { cpuCores: 4, memoryGb: 16, storageGb: 20, nodeCount: 4 },
  licenseAffinity: [],
  podType: 'CML_ON_AWS' as const,
});

describe('observed boot durations', () => {
  it('widens the window and launches earlier when boots are slower than the template says', () => {
    const input = { now: NOW, sessions: [session(30)], workers: [], templates: [BIG], config };
    // Template figure: 15 + 10 = 25 min; the session starts in 30, so nothing yet.
    const prior = planScaleUp(input);
    expect(prior.summary.windowMinutes).toBe(25);
    expect(prior.actions).toEqual([]);
    // Observed p95 of 25 min: window 35, the session is in it and the launch is due now.
    const observed = planScaleUp({ ...input, bootSeconds: { big: 25 * 60 } });
    expect(observed.summary.windowMinutes).toBe(35);
    expect(observed.actions).toEqual([expect.objectContaining({ kind: 'LAUNCH', templateName: 'big' })]);
    expect(lookAheadMinutes([BIG], config, { big: 25 * 60 })).toBe(35);
    // Faster boots than the figure defer the launch further.
    expect(planScaleUp({ ...input, sessions: [session(20)], bootSeconds: { big: 8 * 60 } }).actions).toEqual(
      [],
    );
  });

  it('keeps the template figure for templates without an observation, and the down planner looks as far', () => {
    expect(lookAheadMinutes([BIG], config, { other: 3600 })).toBe(25);
    const down = planScaleDown({
      now: NOW,
      sessions: [],
      workers: [],
      templates: [BIG],
      config,
      bootSeconds: { big: 1800 },
    });
    expect(down.summary.windowMinutes).toBe(40);
  });

  it('names a bad observation', () => {
    const run = () =>
      planScaleUp({
        now: NOW,
        sessions: [],
        workers: [],
        templates: [BIG],
        config,
        bootSeconds: { big: -1 },
      });
    expect(run).toThrow(ValidationError);
    expect(run).toThrow(/bootSeconds\.big/);
  });
});
