import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createStores, type Stores } from '@lcm/shared/app';
import { choosePlacement } from '@lcm/shared/fleet';
import type { Capacity, LabletSession } from '@lcm/shared/kernel';
import { addCapacity, requirementsAsCapacity, ZERO_CAPACITY } from '@lcm/shared/kernel';
import { createDocumentClient } from '@lcm/shared/platform';
import { type PlaceSessionResult, placeSession, releaseSession } from '@lcm/shared/sessions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { at, newSession, newWorker } from './builders.ts';

/**
 * 200 concurrent placements for 200 PENDING sessions on 3 RUNNING workers with room for about
 * 25: capacity bounds two workers, the port range bounds the third, and some sessions need a
 * license no worker has. DynamoDB Local serialises the conditional transactions (it never
 * throws TransactionConflictException), so lost races surface as VersionConflictError and
 * placeSession's retry loop.
 */
const SESSIONS = 200;
const WORKERS = [
  // cpu-bound: ~10 sessions
  { id: 'w-a', cap: { cpuCores: 20, memoryGb: 64, storageGb: 500, maxNodes: 60 }, ports: [2000, 2099] },
  // memory-bound: ~8 sessions
  { id: 'w-b', cap: { cpuCores: 32, memoryGb: 30, storageGb: 500, maxNodes: 60 }, ports: [3000, 3099] },
  // port-bound: 12 ports, ~6 sessions
  { id: 'w-c', cap: { cpuCores: 64, memoryGb: 256, storageGb: 2000, maxNodes: 200 }, ports: [4000, 4011] },
] as const;

const portTemplate = (n: number) =>
  Array.from({ length: n }, (_, k) => ({
    name: `node${k}_ssh`,
    nodeLabel: `node${k}`,
    kind: 'tcp' as const,
  }));

describe('placement under contention', () => {
  let t: TestTable;
  let s: Stores;
  let client: DynamoDBDocumentClient | undefined;

  beforeAll(async () => {
    t = await createTestTable('contention');
    // One client for 200 concurrent callers: room for all of them instead of queueing behind 50 sockets.
    client = createDocumentClient({ endpoint: t.endpoint, maxSockets: SESSIONS + 10 });
    s = createStores({ client, tableName: t.tableName });
    for (const w of WORKERS) {
      await s.workers.create(
        newWorker({ id: w.id, declaredCapacity: w.cap, portRange: { start: w.ports[0], end: w.ports[1] } }),
      );
    }
    for (let i = 0; i < SESSIONS; i++) {
      const k = i % 3;
      await s.sessions.create(
        newSession({
          id: `s-${String(i).padStart(3, '0')}`,
          reservationId: `r-${i}`,
          timeslot: { start: at(i), end: at(i + 120) },
          requirements: { cpuCores: 1 + k, memoryGb: 1.5 + 1.5 * k, storageGb: 10, nodeCount: 1 + k },
          // Every 10th session wants a license the fleet does not have.
          licenseAffinity: i % 10 === 9 ? ['EVALUATION'] : ['ENTERPRISE'],
          portTemplate: portTemplate(1 + k),
        }),
      );
    }
  });
  afterAll(async () => {
    client?.destroy();
    await t.cleanup();
  });

  it('never over-allocates capacity or ports, places each session at most once, and releases to zero', async () => {
    const ids = Array.from({ length: SESSIONS }, (_, i) => `s-${String(i).padStart(3, '0')}`);
    const started = Date.now();
    const results = await Promise.all(ids.map((id) => placeSession(s, id, { recordRejections: false })));
    const placeMs = Date.now() - started;

    const byId = new Map<string, PlaceSessionResult>(
      ids.map((id, i) => [id, results[i] as PlaceSessionResult]),
    );
    const sessions = new Map<string, LabletSession>();
    for (const id of ids) sessions.set(id, await s.sessions.getSession(id));
    const workers = new Map((await s.workers.listAll({ limit: 10 })).items.map((w) => [w.id, w]));

    // Each session is either placed exactly as reported or still PENDING and unplaced.
    const placedOn = new Map<string, string[]>(WORKERS.map((w) => [w.id, []]));
    for (const [id, r] of byId) {
      const session = sessions.get(id) as LabletSession;
      if (r.placed) {
        expect(session).toMatchObject({ status: 'SCHEDULED', workerId: r.workerId, allocatedPorts: r.ports });
        placedOn.get(r.workerId)?.push(id);
      } else {
        expect(session.status).toBe('PENDING');
        expect(session.workerId).toBeUndefined();
        expect(session.allocatedPorts).toBeUndefined();
      }
    }
    const placedCount = results.filter((r) => r.placed).length;
    expect(placedCount).toBeGreaterThan(15);
    expect(placedCount).toBeLessThan(40);

    const allLeases: string[] = [];
    for (const w of WORKERS) {
      const worker = workers.get(w.id);
      if (!worker) throw new Error(`worker ${w.id} missing`);
      const onWorker = placedOn.get(w.id) ?? [];
      expect(onWorker.length).toBeGreaterThan(0);
      // Allocated = the sum of what its sessions need, and never above declared.
      const expected = onWorker.reduce<Capacity>(
        (sum, id) =>
          addCapacity(sum, requirementsAsCapacity((sessions.get(id) as LabletSession).requirements)),
        { ...ZERO_CAPACITY },
      );
      expect(worker.allocatedCapacity).toEqual(expected);
      for (const d of ['cpuCores', 'memoryGb', 'storageGb', 'maxNodes'] as const) {
        expect(worker.allocatedCapacity[d]).toBeLessThanOrEqual(worker.declaredCapacity[d]);
      }
      // Leases: unique, inside the range, exactly the union of the sessions' allocated ports.
      const leases = await s.leases.listByWorker(w.id);
      const expectedLeases = onWorker.flatMap((id) =>
        Object.entries((sessions.get(id) as LabletSession).allocatedPorts ?? {}).map(
          ([name, port]) => `${port}:${id}:${name}`,
        ),
      );
      expect(leases.map((l) => `${l.port}:${l.sessionId}:${l.name}`).sort()).toEqual(expectedLeases.sort());
      expect(new Set(leases.map((l) => l.port)).size).toBe(leases.length);
      expect(leases.every((l) => l.port >= w.ports[0] && l.port <= w.ports[1])).toBe(true);
      expect(worker.leasedPortCount).toBe(leases.length);
      allLeases.push(...leases.map((l) => `${w.id}:${l.port}`));
      // The sparse index lists exactly the sessions placed there.
      const active = await s.sessions.listActiveOnWorker(w.id, { limit: 1000 });
      expect(active.items.map((x) => x.id).sort()).toEqual([...onWorker].sort());
    }
    expect(new Set(allLeases).size).toBe(allLeases.length);
    // The port-bound worker ran out of ports, not capacity.
    expect(workers.get('w-c')?.leasedPortCount).toBeGreaterThan(12 - 3);

    // No false rejection: allocations only grew, so a rejected session does not fit at the end either.
    const finalWorkers = [...workers.values()];
    for (const [id, r] of byId) {
      if (r.placed) continue;
      const x = sessions.get(id) as LabletSession;
      const again = choosePlacement(
        {
          requirements: x.requirements,
          licenseAffinity: x.licenseAffinity,
          podType: x.podType,
          amiRequirement: x.amiRequirement,
          portsNeeded: x.portTemplate.length,
        },
        finalWorkers,
      );
      expect(again.placed, `session ${id} was rejected but fits`).toBe(false);
    }
    const licenseRejected = ids.filter((_id, i) => i % 10 === 9).map((id) => byId.get(id));
    expect(licenseRejected.every((r) => r && !r.placed && r.rejections.license === 3)).toBe(true);

    // Release everything concurrently (unplaced sessions included), then again.
    const releaseStarted = Date.now();
    const released = await Promise.all(ids.map((id) => releaseSession(s, id)));
    const releaseMs = Date.now() - releaseStarted;
    expect(released.filter((r) => r.released)).toHaveLength(placedCount);
    for (const [i, r] of released.entries()) expect(r.released).toBe(byId.get(ids[i] as string)?.placed);
    const again = await Promise.all(ids.map((id) => releaseSession(s, id)));
    expect(again.every((r) => !r.released)).toBe(true);

    for (const w of WORKERS) {
      const worker = await s.workers.get(w.id);
      expect(worker.allocatedCapacity).toEqual(ZERO_CAPACITY);
      expect(worker.leasedPortCount).toBe(0);
      expect(await s.leases.listByWorker(w.id)).toEqual([]);
      expect((await s.sessions.listActiveOnWorker(w.id)).items).toEqual([]);
    }

    const attempts = results.map((r) => r.attempts);
    const releaseAttempts = released.map((r) => r.attempts);
    console.info(
      `placement contention: ${placedCount}/${SESSIONS} placed in ${placeMs} ms ` +
        `(attempts total ${sum(attempts)}, max ${Math.max(...attempts)}); ` +
        `release in ${releaseMs} ms (attempts total ${sum(releaseAttempts)}, max ${Math.max(...releaseAttempts)})`,
    );
  }, 180_000);
});

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
