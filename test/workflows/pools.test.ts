import { getFleetCapacity } from '@lcm/shared/fleet';
import {
  addCapacity,
  type Capacity,
  PoolClaimConflictError,
  type PooledLab,
  requirementsAsCapacity,
} from '@lcm/shared/kernel';
import { createCmlClient, staticCredentials } from '@lcm/shared/platform';
import {
  claimPooledLab,
  getDefinitionCost,
  getFleetCost,
  type PoolDeps,
  placeSession,
  readPoolDemand,
  readPoolHolds,
  reconcilePools,
} from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';
import {
  DEF_UNGRADED,
  eventually,
  type Harness,
  ldsSessionOf,
  REQUIREMENTS,
  sessionSuite,
  waitForStatus,
} from './harness.ts';

/**
 * Hot-start pools (issue 15, items 3 and 4) on DynamoDB Local, the CML and LDS simulators over
 * HTTP and the real session ASL run locally: the pool reconciler fills a pooled definition to its
 * depth of converged labs; a booking for now claims one and is READY in seconds (measured here,
 * against a booking of the same lab without a pool); the pool refills; a new version drains the
 * old pool; deprecating empties it; after each, the fleet's capacity (getFleetCapacity, as
 * GET /v1/fleet/capacity) holds exactly what the live labs and sessions hold, and the leases match.
 */

const suite = sessionSuite();
const DEF_POOLED = 'ospf-pooled';
const DEPTH = 2;
const PORTS = 3; // the harness's port template
let startedAt = '';

function poolDeps(h: Harness): PoolDeps {
  return {
    pools: h.stores.pools,
    definitions: h.stores.definitions,
    workers: h.stores.workers,
    leases: h.stores.leases,
    leftoverLabs: h.stores.leftoverLabs,
    cml: (w) =>
      createCmlClient({
        baseUrl: w.cmlBaseUrl!,
        credentials: staticCredentials({ username: 'admin', password: 'admin-password' }),
      }),
    labBootTimeoutSeconds: 30,
  };
}

const live = (labs: readonly PooledLab[]) =>
  labs.filter((l) => l.status === 'PLACED' || l.status === 'BOOTING' || l.status === 'READY');

/** Runs the reconciler until the definition has `depth` READY labs of `version` (and no other live one). */
async function reconcileUntilFull(h: Harness, version: number, depth = DEPTH): Promise<PooledLab[]> {
  return eventually(
    `pool of ${DEF_POOLED} v${version} at depth ${depth}`,
    async () => {
      const result = await reconcilePools(poolDeps(h));
      expect(result.failed).toEqual([]);
      const labs = live(await h.stores.pools.listOfDefinition(DEF_POOLED));
      const ready = labs.filter((l) => l.status === 'READY' && l.definitionVersion === version);
      return labs.length === depth && ready.length === depth ? ready : undefined;
    },
    20_000,
  );
}

const times = (n: number): Capacity => {
  let c: Capacity = { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 };
  for (let i = 0; i < n; i++) c = addCapacity(c, requirementsAsCapacity(REQUIREMENTS));
  return c;
};

/** The fleet view and the leases hold exactly `holders` labs' worth (pooled labs and sessions). */
async function expectHeld(h: Harness, holders: number): Promise<void> {
  const fleet = await getFleetCapacity({ workers: h.stores.workers });
  const w = fleet.workers.find((x) => x.id === h.worker.id)!;
  expect(w.allocated).toEqual(addCapacity(suite.baseline.allocated as Capacity, times(holders)));
  expect(w.leasedPortCount).toBe(suite.baseline.leasedPortCount + holders * PORTS);
  expect(await h.stores.leases.listByWorker(h.worker.id)).toHaveLength(holders * PORTS);
}

describe('hot-start pools', () => {
  it('fills a pooled definition to its depth with converged labs, counted by the scaler and the book', async () => {
    const h = suite.h;
    const practice = await h.stores.definitions.getLatest(DEF_UNGRADED);
    const { id: _id, version: _v, createdAt: _c, ...fields } = practice;
    await h.stores.definitions.create({ ...fields, id: DEF_POOLED, warmPoolDepth: DEPTH, createdBy: 'test' });
    // The harness worker's template, so the pool's cost has a price.
    await h.stores.templates.create({
      name: 'm5-metal',
      instanceType: 'm5zn.metal',
      capacity: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 50 },
      amiId: 'ami-0123456789abcdef0',
      costPerHourUsd: 3.96,
      licenseType: 'ENTERPRISE',
    });
    startedAt = new Date().toISOString();

    // Before the first run the whole depth is the scaler's waiting demand.
    expect(await readPoolDemand(h.stores)).toHaveLength(DEPTH);
    const ready = await reconcileUntilFull(h, 1);
    expect(new Set(ready.map((l) => l.workerId))).toEqual(new Set([h.worker.id]));
    for (const lab of ready) {
      expect(h.cml.lab(lab.cmlLabId!)?.state).toBe('STARTED');
      expect(Object.keys(lab.allocatedPorts).sort()).toEqual(['R1_serial', 'R1_ssh', 'R2_serial']);
    }
    await expectHeld(h, DEPTH);
    expect(await readPoolDemand(h.stores)).toEqual([]);
    const now = Date.now();
    const holds = await readPoolHolds(h.stores, now, now + 3_600_000);
    expect(holds).toHaveLength(DEPTH);
    expect(holds[0]!.requirements).toEqual(REQUIREMENTS);
  });

  it('a booking for now claims a READY lab and is READY in seconds (measured beside a booking without a pool)', async () => {
    const h = suite.h;
    const before = live(await h.stores.pools.listOfDefinition(DEF_POOLED));
    const t0 = performance.now();
    const session = await suite.start({ definitionId: DEF_POOLED, seconds: 300 });
    const ready = await waitForStatus(h, session.id, 'READY', 10_000);
    const pooledMs = performance.now() - t0;
    expect(pooledMs).toBeLessThan(5_000);

    const claimed = before.find((l) => l.id === ready.pooledLabId)!;
    expect(claimed).toBeDefined();
    expect(ready.cmlLabId).toBe(claimed.cmlLabId);
    expect(ready.allocatedPorts).toEqual(claimed.allocatedPorts);
    expect(ready.workerId).toBe(claimed.workerId);
    const lab = await h.stores.pools.get(claimed.id);
    expect(lab).toMatchObject({ status: 'CLAIMED', claimedBy: session.id });
    const leases = await h.stores.leases.listByWorker(h.worker.id);
    expect(
      leases
        .filter((l) => l.sessionId === session.id)
        .map((l) => l.port)
        .sort(),
    ).toEqual(Object.values(claimed.allocatedPorts).sort());
    const history = (await h.stores.sessions.get(session.id)).history;
    expect(history.find((e) => e.to === 'SCHEDULED')?.reason).toContain(`claimed pooled lab ${claimed.id}`);
    expect(history.find((e) => e.to === 'INSTANTIATING')?.reason).toContain('import and start skipped');
    // The LDS session is opened for the learner with the lab's ports.
    expect(await ldsSessionOf(h, session.id)).toBeTruthy();
    // Nothing imported for the session: the only labs are the pool's.
    expect(h.cml.labs().filter((l) => l.title === `lcm-${session.id}`)).toEqual([]);
    // Moved, not copied: the session holds what the lab held.
    await expectHeld(h, DEPTH);

    // The same lab without a pool: imported, started and booted in the workflow.
    const t1 = performance.now();
    const cold = await suite.start({ definitionId: DEF_UNGRADED, seconds: 300 });
    const coldReady = await waitForStatus(h, cold.id, 'READY', 20_000);
    const coldMs = performance.now() - t1;
    expect(coldReady.pooledLabId).toBeUndefined();
    console.info(
      `READY after booking: pooled ${pooledMs.toFixed(0)} ms, without a pool ${coldMs.toFixed(0)} ms`,
    );

    // Both end; their capacity comes back through the normal teardown.
    for (const s of [session, cold]) {
      await h.lds.login(await ldsSessionOf(h, s.id));
      await eventually(
        'RUNNING',
        async () => (await h.stores.sessions.getSession(s.id)).status === 'RUNNING',
      );
      await suite.finish(s.id, { by: 'u-learner' });
      await waitForStatus(h, s.id, 'TERMINATED', 30_000);
    }
    expect(h.cml.lab(claimed.cmlLabId!)).toBeUndefined();
    await expectHeld(h, DEPTH - 1);
  });

  it('refills the pool after a claim', async () => {
    const h = suite.h;
    await reconcileUntilFull(h, 1);
    await expectHeld(h, DEPTH);
  });

  it('a claim that loses its race is a typed conflict with nothing written, and the booking falls back to placement', async () => {
    const h = suite.h;
    const labs = live(await h.stores.pools.listOfDefinition(DEF_POOLED));
    const [lab] = labs;
    const session = await h.stores.sessions.create({
      id: 's-race-1',
      definitionId: DEF_POOLED,
      definitionVersion: 1,
      reservationId: 'r-race-1',
      owner: { userId: 'u-1' },
      timeslot: { start: new Date().toISOString(), end: new Date(Date.now() + 600_000).toISOString() },
      requirements: REQUIREMENTS,
      licenseAffinity: ['ENTERPRISE'],
      portTemplate: (await h.stores.definitions.getLatest(DEF_POOLED)).portTemplate,
    });
    // The lab changes between the read and the claim (another claim, a trim): nothing is written.
    await h.stores.pools.advance(lab!, 'READY', { readyAt: new Date().toISOString() });
    await expect(h.stores.pools.claim(lab!, session, 'test')).rejects.toBeInstanceOf(PoolClaimConflictError);
    expect((await h.stores.sessions.getSession(session.id)).status).toBe('PENDING');
    await expectHeld(h, DEPTH);
    // A session of another version than the pool's never claims.
    expect(await claimPooledLab(h.stores, { ...session, definitionVersion: 99 }, 0, 'test')).toBeUndefined();

    // Every READY lab changes after the claim read it: each attempt conflicts, the claim gives up
    // and the session is placed normally (its own capacity and ports), the pool untouched.
    const stale = new Map<string, PooledLab>();
    for (const l of live(await h.stores.pools.listOfDefinition(DEF_POOLED))) {
      stale.set(l.id, await h.stores.pools.get(l.id));
      await h.stores.pools.advance(await h.stores.pools.get(l.id), 'READY', {
        readyAt: new Date().toISOString(),
      });
    }
    const racing = {
      pools: {
        listOfDefinition: (id: string) => h.stores.pools.listOfDefinition(id),
        get: async (id: string) => stale.get(id)!,
        claim: (l: PooledLab, s: typeof session, by: string) => h.stores.pools.claim(l, s, by),
      },
      definitions: h.stores.definitions,
    };
    expect(await claimPooledLab(racing, session, 0, 'test')).toBeUndefined();
    const placed = await placeSession(h.stores, session.id);
    expect(placed.placed).toBe(true);
    await expectHeld(h, DEPTH + 1);
    expect((await h.stores.sessions.getSession(session.id)).pooledLabId).toBeUndefined();
    await h.stores.placement.release(session.id);
    await expectHeld(h, DEPTH);
  });

  it('a new version drains the pool of the old one (item 4)', async () => {
    const h = suite.h;
    const v1 = live(await h.stores.pools.listOfDefinition(DEF_POOLED));
    const latest = await h.stores.definitions.getLatest(DEF_POOLED);
    const { id: _id, version: _v, createdAt: _c, ...content } = latest;
    await h.stores.definitions.putNewVersion(latest, {
      ...content,
      name: 'OSPF basics v2',
      createdBy: 'test',
    });
    const v2 = await reconcileUntilFull(h, 2);
    expect(v2.every((l) => l.definitionVersion === 2)).toBe(true);
    for (const old of v1) {
      const now = await h.stores.pools.get(old.id);
      expect(now.status).toBe('RELEASED');
      expect(now.releaseReason).toContain('supersedes v1');
      expect(h.cml.lab(old.cmlLabId!)).toBeUndefined();
    }
    await expectHeld(h, DEPTH);
  });

  it('deprecating the definition empties its pool and releases its capacity', async () => {
    const h = suite.h;
    const latest = await h.stores.definitions.getLatest(DEF_POOLED);
    const labs = live(await h.stores.pools.listOfDefinition(DEF_POOLED));
    await h.stores.definitions.setStatus(DEF_POOLED, 'DEPRECATED', latest.version);
    const result = await reconcilePools(poolDeps(h));
    expect(result.released.map((r) => r.id).sort()).toEqual(labs.map((l) => l.id).sort());
    expect(live(await h.stores.pools.listOfDefinition(DEF_POOLED))).toEqual([]);
    for (const lab of labs) expect(h.cml.lab(lab.cmlLabId!)).toBeUndefined();
    await expectHeld(h, 0);
    expect(h.cml.labs()).toEqual([]);
    expect(await readPoolDemand(h.stores)).toEqual([]);
  });

  it('reports what the pool cost beside the sessions (GET /v1/fleet/cost, /v1/definitions/{id}/cost)', async () => {
    const h = suite.h;
    const window = { from: startedAt, to: new Date(Date.now() + 60_000).toISOString() };
    const report = await getFleetCost(h.stores, { ...window, groupBy: 'definition' });
    // Two filled, one refill, two of version 2: five labs held capacity; the claimed one until its claim.
    expect(report.pools?.labs).toBe(5);
    expect(report.pools?.costUsd).toBeGreaterThan(0);
    expect(report.pools?.definitions.map((d) => d.definitionId)).toEqual([DEF_POOLED]);
    // Share 2/16 cores of a $3.96/h worker: at most that times the lab-hours.
    expect(report.pools!.costUsd).toBeLessThanOrEqual(((3.96 * 2) / 16) * report.pools!.labHours + 1e-9);
    // The sessions: the one that claimed and the one placed after its claims lost their race.
    const sessions = report.groups.find((g) => g.key === DEF_POOLED);
    expect(sessions?.sessions).toBe(2);
    const perDefinition = await getDefinitionCost(h.stores, DEF_POOLED, window);
    expect(perDefinition.poolCostUsd).toBeCloseTo(report.pools!.costUsd, 9);
    expect(perDefinition.sessions).toBe(2);
  });
});
