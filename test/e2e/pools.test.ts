import { DEMO_POOL_DEPTH, DEMO_POOLED_DEFINITION_ID } from '@lcm/sandbox/seed';
import { createStores } from '@lcm/shared/app';
import type { PooledLab } from '@lcm/shared/kernel';
import { createDocumentClient } from '@lcm/shared/platform';
import { afterAll, describe, expect, it } from 'vitest';
import {
  freePort,
  type LocalJson,
  readLocalJson,
  stackFreeEnv,
  startedByTests,
  waitUntilServing,
} from './support.ts';

/**
 * Hot-start pools on `npm start` (issue 15, item 3): the seeded pooled demo definition is filled to
 * its depth by the pool-reconcile timer; a booking for now through the API claims a READY lab and
 * is READY in under 5 s (POST to READY, polled every 50 ms); the pool refills; the fleet's capacity
 * (GET /v1/fleet/capacity) holds exactly the pool and the session.
 */

const started = startedByTests();
afterAll(() => started.cleanup());

type Json = Record<string, unknown>;
const live = (labs: readonly PooledLab[]) =>
  labs.filter((l) => ['PLACED', 'BOOTING', 'READY'].includes(l.status));

describe('npm start: a hot-start pool', () => {
  it('is filled to depth, serves a walk-in booking READY in under 5 s, and refills', async () => {
    const stateDir = started.tempDir('lcm-pools-e2e-');
    const port = await freePort();
    const spawnedAt = performance.now();
    const run = started.start({
      ...stackFreeEnv(),
      LCM_PORT: String(port),
      LCM_STATE_DIR: stateDir,
      LCM_IN_MEMORY: '1',
      LCM_POOL_INTERVAL_SECONDS: '2',
    });
    await waitUntilServing(run, `http://127.0.0.1:${port}`, spawnedAt);
    const local = await readLocalJson<LocalJson>(stateDir);
    started.pid(local.dynamodbPid);
    const stores = createStores({
      client: createDocumentClient({ endpoint: local.dynamodbEndpoint }),
      tableName: local.tableName,
    });
    const api = async (role: string, path: string, init: RequestInit = {}) => {
      const res = await fetch(`${local.apiUrl}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${local.tokens[role]}`, 'content-type': 'application/json' },
      });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const readyLabs = async () =>
      live(await stores.pools.listOfDefinition(DEMO_POOLED_DEFINITION_ID)).filter(
        (l) => l.status === 'READY',
      );
    const untilFull = async (what: string) => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const labs = live(await stores.pools.listOfDefinition(DEMO_POOLED_DEFINITION_ID));
        if (labs.length === DEMO_POOL_DEPTH && labs.every((l) => l.status === 'READY')) return labs;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(
        `${what}: the pool did not reach ${DEMO_POOL_DEPTH} READY labs\n${run.output().slice(-3000)}`,
      );
    };

    const filled = await untilFull('after start');
    const requirements = filled[0]!.requirements;
    // What an operator sees of it (GET /v1/fleet/pools, the console's fleet page); a portal sees nothing.
    const pools = (await api('viewer', '/v1/fleet/pools')).body as { pools: Json[] };
    const pool = pools.pools.find((p) => p.definitionId === DEMO_POOLED_DEFINITION_ID)!;
    expect(pool).toMatchObject({
      depth: DEMO_POOL_DEPTH,
      definitionStatus: 'ACTIVE',
      counts: { PLACED: 0, BOOTING: 0, READY: DEMO_POOL_DEPTH },
    });
    expect((pool.labs as Json[]).map((l) => l.id).sort()).toEqual(filled.map((l) => l.id).sort());
    expect((await api('portal', '/v1/fleet/pools')).status).toBe(403);

    const now = Date.now();
    const t0 = performance.now();
    const created = await api('portal', '/v1/sessions', {
      method: 'POST',
      body: JSON.stringify({
        definitionId: DEMO_POOLED_DEFINITION_ID,
        reservationId: 'res-pool-walkin-1',
        owner: { userId: 'u-walkin' },
        timeslot: { start: new Date(now).toISOString(), end: new Date(now + 10 * 60_000).toISOString() },
      }),
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    let session: Json = {};
    while (performance.now() - t0 < 15_000) {
      session = (await api('admin', `/v1/sessions/${id}`)).body;
      if (session.status === 'READY' || session.status === 'TERMINATED') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const readyMs = performance.now() - t0;
    expect(session.status).toBe('READY');
    expect(filled.map((l) => l.id)).toContain(session.pooledLabId);
    console.info(
      `npm start: walk-in booking of ${DEMO_POOLED_DEFINITION_ID} READY ${readyMs.toFixed(0)} ms after POST`,
    );
    expect(readyMs).toBeLessThan(5_000);

    // Refilled to depth beside the session; the fleet view holds exactly the pool and the session.
    await untilFull('after the claim');
    expect((await readyLabs()).map((l) => l.id)).not.toContain(session.pooledLabId);
    const capacity = (await api('admin', '/v1/fleet/capacity')).body as { totals: { allocated: Json } };
    expect(capacity.totals.allocated).toEqual({
      cpuCores: requirements.cpuCores * (DEMO_POOL_DEPTH + 1),
      memoryGb: requirements.memoryGb * (DEMO_POOL_DEPTH + 1),
      storageGb: requirements.storageGb * (DEMO_POOL_DEPTH + 1),
      maxNodes: requirements.nodeCount * (DEMO_POOL_DEPTH + 1),
    });
  });
});
