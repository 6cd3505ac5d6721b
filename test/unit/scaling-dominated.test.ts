import {
  DEFAULT_SCALING_CONFIG,
  planScaleUp,
  type ScaleUpAction,
  type ScalingSession,
  type ScalingTemplate,
} from '@lcm/shared/fleet';
import type { ResourceRequirements } from '@lcm/shared/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { template } from './builders.ts';

/** Issue 10, item 6: the scale-up planner never launches a dominated template. */

const NOW = '2025-06-01T12:00:00.000Z';
const at = (minutes: number): string => new Date(Date.parse(NOW) + minutes * 60_000).toISOString();

// The fleet benchmark's old trio: m5zn.metal-like "mid" costs more than two "small" hosts that hold
// twice its capacity, and "big" has the most capacity per dollar.
const SMALL = template({
  name: 'small',
  capacity: { cpuCores: 32, memoryGb: 128, storageGb: 600, maxNodes: 80 },
  costPerHourUsd: 1.6128,
});
const MID = template({
  name: 'mid',
  capacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 120 },
  costPerHourUsd: 3.9641,
});
const BIG = template({
  name: 'big',
  capacity: { cpuCores: 96, memoryGb: 384, storageGb: 2000, maxNodes: 250 },
  costPerHourUsd: 4.608,
});

const session = (id: string, requirements: ResourceRequirements, startIn = 20): ScalingSession => ({
  id,
  status: 'PENDING',
  timeslot: { start: at(startIn), end: at(startIn + 120) },
  requirements,
  licenseAffinity: [],
  podType: 'CML_ON_AWS',
});
const many = (n: number, requirements: ResourceRequirements): ScalingSession[] =>
  Array.from({ length: n }, (_, i) => session(`s-${String(i).padStart(3, '0')}`, requirements));

const plan = (sessions: readonly ScalingSession[], templates: readonly ScalingTemplate[]) =>
  planScaleUp({ now: NOW, sessions, workers: [], templates, config: { ...DEFAULT_SCALING_CONFIG } });
const launches = (actions: readonly ScaleUpAction[]) => actions.filter((a) => a.kind === 'LAUNCH');
const costOf = (actions: readonly ScaleUpAction[], templates: readonly ScalingTemplate[]): number =>
  launches(actions).reduce((s, a) => s + templates.find((t) => t.name === a.templateName)!.costPerHourUsd, 0);

describe('planScaleUp template choice', () => {
  it('launches two small hosts rather than one dearer host that two small ones out-hold', () => {
    // 10 × 4 cores / 16 GB = 40 cores / 160 GB: more than one small host, less than mid or big.
    const demand = many(10, { cpuCores: 4, memoryGb: 16, storageGb: 20, nodeCount: 5 });
    const p = plan(demand, [SMALL, MID, BIG]);
    expect(launches(p.actions).map((a) => a.templateName)).toEqual(['small', 'small']);
    expect(
      launches(p.actions)
        .flatMap((a) => a.forSessions)
        .sort(),
    ).toEqual(demand.map((s) => s.id));
    // Enabling mid next to small and big changes nothing.
    expect(costOf(p.actions, [SMALL, MID, BIG])).toBeCloseTo(
      costOf(plan(demand, [SMALL, BIG]).actions, [SMALL, BIG]),
    );
  });

  it('still launches the larger host when one session needs it', () => {
    const p = plan(
      [session('s-1', { cpuCores: 40, memoryGb: 160, storageGb: 20, nodeCount: 5 })],
      [SMALL, MID, BIG],
    );
    // Only mid and big hold 40 cores; mid is cheaper.
    expect(launches(p.actions).map((a) => a.templateName)).toEqual(['mid']);
  });

  it('never launches a template that another holds everything of for less', () => {
    const dear = template({
      name: 'dear-small',
      capacity: { ...SMALL.capacity, maxNodes: 60 },
      costPerHourUsd: 2,
    });
    const p = plan(many(3, { cpuCores: 4, memoryGb: 16, storageGb: 20, nodeCount: 5 }), [dear, SMALL, BIG]);
    expect(launches(p.actions).map((a) => a.templateName)).toEqual(['small']);
  });

  it('keeps a template that is larger in one dimension even when it costs more', () => {
    // Nodes: 90 needed, only "nodes" holds them on one host; small would need two (2 × 1.6128 > 2.4).
    const nodes = template({
      name: 'nodes',
      capacity: { ...SMALL.capacity, maxNodes: 100 },
      costPerHourUsd: 2.4,
    });
    const p = plan(many(3, { cpuCores: 2, memoryGb: 8, storageGb: 20, nodeCount: 30 }), [SMALL, nodes]);
    expect(launches(p.actions).map((a) => a.templateName)).toEqual(['nodes']);
  });
});

// ---- properties ----

const capacityArb = fc.record({
  cpuCores: fc.integer({ min: 8, max: 128 }),
  memoryGb: fc.integer({ min: 32, max: 768 }),
  storageGb: fc.integer({ min: 200, max: 4000 }),
  maxNodes: fc.integer({ min: 20, max: 300 }),
});
const templatesArb = fc
  .array(fc.record({ capacity: capacityArb, cost: fc.integer({ min: 50, max: 800 }) }), {
    minLength: 1,
    maxLength: 4,
  })
  .map((ts) =>
    ts.map((t, i) => template({ name: `t${i}`, capacity: t.capacity, costPerHourUsd: t.cost / 100 })),
  );
const reqArb = fc.record({
  cpuCores: fc.integer({ min: 1, max: 24 }),
  memoryGb: fc.integer({ min: 2, max: 96 }),
  storageGb: fc.integer({ min: 10, max: 200 }),
  nodeCount: fc.integer({ min: 1, max: 30 }),
});

/** How many sessions of `r` one fresh host of `t` holds. */
const perHost = (t: ScalingTemplate, r: ResourceRequirements): number =>
  Math.min(
    Math.floor(t.capacity.cpuCores / r.cpuCores),
    Math.floor(t.capacity.memoryGb / r.memoryGb),
    Math.floor(t.capacity.storageGb / r.storageGb),
    Math.floor(t.capacity.maxNodes / r.nodeCount),
  );

describe('planScaleUp template choice (properties)', () => {
  it('never launches a host that k hosts of another template hold for less (sessions of one shape)', () => {
    fc.assert(
      fc.property(templatesArb, reqArb, fc.integer({ min: 1, max: 60 }), (templates, req, n) => {
        const p = plan(many(n, req), templates);
        for (const a of launches(p.actions)) {
          const t = templates.find((x) => x.name === a.templateName)!;
          const held = a.forSessions.length;
          for (const u of templates) {
            const m = perHost(u, req);
            if (m === 0) continue;
            // k hosts of u hold the host's sessions; they must not cost less than the one host of t.
            expect(Math.ceil(held / m) * u.costPerHourUsd).toBeGreaterThanOrEqual(t.costPerHourUsd - 1e-9);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('never launches a dominated template, and enabling one changes nothing (mixed shapes)', () => {
    fc.assert(
      fc.property(
        templatesArb,
        fc.array(reqArb, { minLength: 1, maxLength: 40 }),
        fc.nat({ max: 3 }),
        fc.integer({ min: 0, max: 300 }),
        (templates, reqs, which, extra) => {
          // A copy of one template, no larger anywhere and dearer: dominated by it.
          const base = templates[which % templates.length]!;
          const dominated = template({
            name: 'zz-dominated',
            capacity: { ...base.capacity, cpuCores: Math.max(1, base.capacity.cpuCores - (extra % 3)) },
            costPerHourUsd: base.costPerHourUsd + extra / 100,
          });
          if (dominated.costPerHourUsd === base.costPerHourUsd && extra % 3 === 0) return;
          const demand = reqs.map((r, i) => session(`s-${String(i).padStart(3, '0')}`, r));
          const without = plan(demand, templates);
          const withIt = plan(demand, [...templates, dominated]);
          expect(launches(withIt.actions).map((a) => a.templateName)).not.toContain('zz-dominated');
          expect(withIt.actions).toEqual(without.actions);
        },
      ),
      { numRuns: 150 },
    );
  });
});
