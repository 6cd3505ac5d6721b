import { describe, expect, it } from 'vitest';
import { simulate } from '../../bench/fleet/sim.ts';
import { CML_SHAPES } from '../../bench/fleet/templates.ts';
import {
  generateWorld,
  launchOutcome,
  utcOffsetMinutes,
  WORLD_SEEDS,
  type World,
  worldDemandIntervals,
} from '../../bench/fleet/world.ts';

/** The fleet benchmark's realistic world (bench/fleet/world.ts): seeded, deterministic, as parametrised. */

const share = (n: number, of: number): number => n / of;

describe('realistic world', () => {
  const worlds = WORLD_SEEDS.map((seed) => generateWorld({ seed, weeks: 1 }));

  it('is deterministic per seed over ten seeds, and seeds differ', () => {
    expect(WORLD_SEEDS.length).toBeGreaterThanOrEqual(10);
    expect(generateWorld({ seed: 3, weeks: 1 })).toEqual(worlds[2]);
    const firsts = new Set(worlds.map((w) => JSON.stringify(w.reservations.slice(0, 5))));
    expect(firsts.size).toBe(worlds.length);
  });

  it('has the stated shares of cancellations, no-shows and early finishes (all ten seeds pooled)', () => {
    const all = worlds.flatMap((w) => w.reservations);
    const cancelled = all.filter((r) => r.cancelledAt !== undefined);
    expect(share(cancelled.length, all.length)).toBeCloseTo(0.1, 1);
    for (const r of cancelled) {
      expect(r.cancelledAt!).toBeGreaterThan(r.bookedAt);
      expect(r.cancelledAt!).toBeLessThan(r.start);
    }
    const lastHour = cancelled.filter((r) => r.start - r.cancelledAt! <= 60).length;
    expect(share(lastHour, cancelled.length)).toBeGreaterThan(0.3);
    expect(share(lastHour, cancelled.length)).toBeLessThan(0.6);
    const standing = all.filter((r) => r.cancelledAt === undefined);
    expect(share(standing.filter((r) => r.noShow).length, standing.length)).toBeCloseTo(0.05, 1);
    const shows = standing.filter((r) => !r.noShow);
    const early = shows.filter((r) => r.actualEnd < r.end);
    expect(share(early.length, shows.length)).toBeGreaterThan(0.3);
    expect(share(early.length, shows.length)).toBeLessThan(0.37);
    for (const r of early) {
      const cut = (r.end - r.actualEnd) / (r.end - r.start);
      expect(cut).toBeGreaterThanOrEqual(0.09);
      expect(cut).toBeLessThanOrEqual(0.41);
    }
    for (const r of all) if (r.noShow || r.cancelledAt !== undefined) expect(r.actualEnd).toBe(r.end);
  });

  it('has cohorts, walk-in bursts booked 5–30 min ahead, and two time zones', () => {
    const w = worlds[0]!;
    const cohorts = new Map<string, Set<string>>();
    for (const r of w.reservations.filter((r) => r.kind === 'cohort')) {
      const key = r.cohort!;
      if (!cohorts.has(key)) cohorts.set(key, new Set());
      cohorts.get(key)!.add(`${r.definitionId}@${r.start}`);
    }
    expect(cohorts.size).toBeGreaterThanOrEqual(20); // 4–8 per weekday
    for (const starts of cohorts.values()) expect(starts.size).toBe(1); // one definition, one start
    const walkIns = w.reservations.filter((r) => r.kind === 'walk-in');
    expect(walkIns.length).toBeGreaterThan(0);
    for (const r of walkIns) {
      expect(r.start - r.bookedAt).toBeGreaterThanOrEqual(5);
      expect(r.start - r.bookedAt).toBeLessThanOrEqual(30);
    }
    // Individual starts follow local working hours: 08:00–18:00 Paris (UTC+1 in January) and
    // New York (UTC−5).
    const utcHours = (region: string): number[] =>
      w.reservations
        .filter((r) => r.kind === 'individual' && r.region === region)
        .map((r) => (((r.start % 1440) + 1440) % 1440) / 60);
    expect(Math.min(...utcHours('emea'))).toBeGreaterThanOrEqual(7);
    expect(Math.max(...utcHours('emea'))).toBeLessThanOrEqual(17);
    expect(Math.min(...utcHours('amer'))).toBeGreaterThanOrEqual(13);
    expect(Math.max(...utcHours('amer'))).toBeLessThanOrEqual(23);
    expect(utcOffsetMinutes('Europe/Paris', Date.parse('2026-01-05T12:00:00Z'))).toBe(60);
    expect(utcOffsetMinutes('America/New_York', Date.parse('2026-07-06T12:00:00Z'))).toBe(-240);
  });

  it('draws each launch from a stream keyed by its index: lognormal boots and 5 % failures', () => {
    const w = worlds[0]!;
    const outcomes = Array.from({ length: 4000 }, (_, i) => launchOutcome(w, i, 'cml-m8i-32', 0));
    expect(launchOutcome(w, 17, 'cml-m8i-32', 0)).toEqual(outcomes[17]);
    // Another template, another minute: the same draw (outside the capacity episode).
    expect(launchOutcome(w, 17, 'cml-r7i-metal', 5000)).toEqual(outcomes[17]);
    const boots = outcomes.map((o) => o.bootMinutes).sort((a, b) => a - b);
    expect(boots[2000]).toBeGreaterThanOrEqual(14);
    expect(boots[2000]).toBeLessThanOrEqual(16);
    expect(boots[3800]).toBeGreaterThanOrEqual(23);
    expect(boots[3800]).toBeLessThanOrEqual(28);
    const failed = outcomes.filter((o) => o.result === 'boot-failed').length;
    expect(share(failed, outcomes.length)).toBeCloseTo(0.05, 1);
  });

  it('fails launches of one template during its InsufficientCapacity episode only', () => {
    const w = worlds[1]!;
    const e = w.episode;
    expect(e.to - e.from).toBeGreaterThanOrEqual(180);
    expect(e.to - e.from).toBeLessThanOrEqual(360);
    expect(launchOutcome(w, 0, e.templateName, e.from).result).toBe('insufficient-capacity');
    expect(launchOutcome(w, 0, e.templateName, e.to - 1).result).toBe('insufficient-capacity');
    expect(launchOutcome(w, 0, e.templateName, e.to).result).not.toBe('insufficient-capacity');
    expect(launchOutcome(w, 0, 'cml-m8i-32', e.from).result).not.toBe('insufficient-capacity');
  });

  it('gives the bounds only what an on-time policy must hold', () => {
    const w: World = generateWorld({ seed: 1, weeks: 1 });
    const intervals = worldDemandIntervals(w, 5, 5);
    const cancelledEarly = w.reservations.filter(
      (r) => r.cancelledAt !== undefined && r.cancelledAt <= r.start - 5,
    );
    expect(intervals.length).toBe(w.reservations.length - cancelledEarly.length);
    const noShow = w.reservations.find((r) => r.noShow)!;
    expect(intervals).toContainEqual(
      expect.objectContaining({ from: noShow.start - 5, to: noShow.start + 5 }),
    );
  });

  it('uses CML-capable templates only, and the simulator still runs on it', () => {
    for (const s of CML_SHAPES) {
      const t = s.template.instanceType;
      if (s.virtualisation === 'metal') expect(t).toMatch(/\.metal/);
      else expect(t).toMatch(/^(c8i|m8i|r8i)(-flex)?\./);
    }
    const w = generateWorld({
      seed: 5,
      weeks: 1,
      individualsPerWeekday: [20, 30],
      cohortsPerWeekday: [1, 1],
    });
    const r = simulate(w, 'lcm');
    expect(r.sessions).toBe(w.reservations.length);
    expect(r.cost).toBeGreaterThan(0);
  });
});
