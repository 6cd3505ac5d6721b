import { describe, expect, it } from 'vitest';
import { singleTemplateBound } from '../../bench/fleet/lower-bound.ts';
import { type PolicyResult, simulate } from '../../bench/fleet/sim.ts';
import {
  generateTrace,
  type Reservation,
  SIM_DEFINITIONS,
  SIM_TEMPLATES,
  type Trace,
} from '../../bench/fleet/trace.ts';
import { template } from './builders.ts';

/** Keeps the fleet simulator (bench/fleet, `npm run bench:fleet`) working on tiny traces. */

const tinyTrace = (reservations: Reservation[]): Trace => ({
  seed: 0,
  weeks: 1,
  epoch: '2026-01-05T00:00:00.000Z',
  templates: structuredClone(SIM_TEMPLATES),
  definitions: SIM_DEFINITIONS,
  reservations,
});

/** One class of 20 booked a day ahead for 10:00–12:00 on day one. */
const cohort = (): Reservation[] =>
  Array.from({ length: 20 }, (_, i) => ({
    id: `s-${i}`,
    definitionId: 'ccnp-enterprise',
    bookedAt: -1440,
    start: 600,
    end: 720,
    cohort: 'c-1',
  }));

const withoutWallTime = (r: PolicyResult) => ({ ...r, wallMs: 0, wallMsPerSimulatedWeek: 0 });

describe('fleet simulator', () => {
  it('has LCM launch ahead so a booked class is READY on time, where reactive is late', () => {
    const trace = tinyTrace(cohort());
    const lcm = simulate(trace, 'lcm');
    expect(lcm.sessions).toBe(20);
    expect(lcm.onTimeShare).toBe(1);
    expect(lcm.maxLatenessMinutes).toBe(0);
    expect(lcm.launches).toBeGreaterThan(0);
    // Every host launched for the class is drained again once it has ended.
    expect(lcm.drains).toBe(lcm.launches);

    // Reactive launches only after the first failed placement, when production's placement
    // window opens (15 min before the start); the host boots in 15 min, RUNNING at the start;
    // PlaceSession's retry delay (placementRetryDelaySeconds: once the instantiation is due, a
    // quarter of the lateness accrued, 30 s to 300 s) tries next about 2 min after the start, and
    // the lab instantiates in 5, so the class is 7 min late.
    const reactive = simulate(trace, 'reactive');
    expect(reactive.onTimeShare).toBe(0);
    expect(reactive.p50LatenessMinutes).toBe(7);
    expect(reactive.maxLatenessMinutes).toBe(7);

    // One host per session: 20 launches, all on time (booked long before).
    const single = simulate(trace, 'one-per-session');
    expect(single.launches).toBe(20);
    expect(single.onTimeShare).toBe(1);
    expect(single.cost).toBeGreaterThan(lcm.cost);
  });

  it('runs one-per-session, reactive and LCM over a small generated trace', () => {
    const trace = smallTrace();
    const results = ORIGINAL.map((p) => simulate(trace, p));
    for (const r of results) checkInvariants(r, trace);
    const [single, reactive, lcm] = results as [PolicyResult, PolicyResult, PolicyResult];
    expect(lcm.onTimeShare).toBeGreaterThan(reactive.onTimeShare);
    expect(lcm.cost).toBeLessThan(single.cost);
  });

  it('is deterministic: the same trace and options give the same result', () => {
    const trace = smallTrace();
    expect(withoutWallTime(simulate(trace, 'lcm'))).toEqual(withoutWallTime(simulate(trace, 'lcm')));
  });

  it('runs the headroom and scheduled baselines over the same trace', () => {
    const trace = smallTrace();
    const headroom = simulate(trace, 'reactive-headroom', { headroomHosts: 2 });
    const scheduled = simulate(trace, 'scheduled');
    for (const r of [headroom, scheduled]) checkInvariants(r, trace);
    // Spare hosts make reactive placements on time more often than reactive alone.
    expect(headroom.onTimeShare).toBeGreaterThan(simulate(trace, 'reactive').onTimeShare);
    expect(scheduled.launches).toBeGreaterThan(0);
  });
});

const ORIGINAL = ['one-per-session', 'reactive', 'lcm'] as const;
const smallTrace = (): Trace =>
  generateTrace({ seed: 42, weeks: 1, cohortsPerWeekday: [1, 2], individualsPerWeekday: [10, 20] });

function checkInvariants(r: PolicyResult, trace: Trace): void {
  {
    expect(r.sessions).toBe(trace.reservations.length);
    expect(r.late).toBeLessThanOrEqual(r.sessions);
    expect(Math.round(r.onTimeShare * r.sessions) + r.late).toBe(r.sessions);
    expect(r.failed).toBeLessThanOrEqual(r.late);
    expect(r.cost).toBeGreaterThan(0);
    expect(r.singleTemplateBoundCost).toBeGreaterThan(0);
    expect(r.costRatioSingleTemplate).toBeCloseTo(r.cost / r.singleTemplateBoundCost, 9);
    const b = r.costBreakdown;
    expect(b.booting + b.idle + b.busy + b.draining).toBeCloseTo(r.runningCost, 6);
  }
}

describe('fleet simulator, generated trace', () => {
  it('generates reproducible traces with cohorts of 20–40 and 1–4 h sessions', () => {
    const a = generateTrace({ seed: 9, weeks: 1 });
    expect(generateTrace({ seed: 9, weeks: 1 })).toEqual(a);
    expect(generateTrace({ seed: 10, weeks: 1 }).reservations).not.toEqual(a.reservations);
    const sizes = new Map<string, number>();
    for (const r of a.reservations) {
      expect(r.end - r.start).toBeGreaterThanOrEqual(60);
      expect(r.end - r.start).toBeLessThanOrEqual(240);
      expect(r.start - r.bookedAt).toBeGreaterThanOrEqual(15);
      if (r.cohort) sizes.set(r.cohort, (sizes.get(r.cohort) ?? 0) + 1);
    }
    expect(sizes.size).toBeGreaterThan(0);
    for (const n of sizes.values()) {
      expect(n).toBeGreaterThanOrEqual(20);
      expect(n).toBeLessThanOrEqual(40);
    }
  });
});

describe('fleet single-template yardstick', () => {
  it('rounds each instant up to whole hosts of the best capacity-per-dollar template', () => {
    const good = template({
      name: 'good',
      capacity: { cpuCores: 10, memoryGb: 100, storageGb: 100, maxNodes: 10 },
      costPerHourUsd: 2,
    });
    const poor = template({
      name: 'poor',
      capacity: { cpuCores: 10, memoryGb: 50, storageGb: 100, maxNodes: 10 },
      costPerHourUsd: 1.5,
    });
    const need = { cpuCores: 1, memoryGb: 60, storageGb: 0, maxNodes: 0 };
    // 0–30 min: 60 GB → 1 host; 30–60: 120 GB → 2 hosts; 60–90: 60 GB → 1 host (memory dominates).
    const lb = singleTemplateBound(
      [
        { from: 0, to: 60, need },
        { from: 30, to: 90, need },
      ],
      [poor, good],
    );
    expect(lb.bestTemplate.memoryGb).toBe('good');
    expect(lb.cost).toBeCloseTo(2 * 0.5 + 4 * 0.5 + 2 * 0.5, 9);
    expect(lb.hostHours).toBeCloseTo(2, 9);
  });
});
