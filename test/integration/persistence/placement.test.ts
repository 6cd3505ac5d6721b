import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { createStores, type Stores } from '@lcm/shared/app';
import {
  ConflictError,
  DomainError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '@lcm/shared/kernel';
import { keys } from '@lcm/shared/platform';
import { MAX_PORTS_PER_SESSION, placeSession, releaseSession } from '@lcm/shared/sessions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { at, newSession, newWorker, steppingClock } from './builders.ts';

let t: TestTable;
let s: Stores;

beforeAll(async () => {
  t = await createTestTable('placement');
  s = createStores({ client: t.client, tableName: t.tableName, clock: steppingClock() });
});
afterAll(async () => {
  await t.cleanup();
});

const ZERO = { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 };

describe('PlacementStore: place and release transactions (access pattern 9)', () => {
  it('place updates worker, leases, session, GSI keys and history together', async () => {
    await s.workers.create(newWorker({ id: 'w-p1' }));
    await s.sessions.create(newSession({ id: 's-p1', reservationId: 'r-p1' }));
    const worker = await s.workers.get('w-p1');
    const session = await s.sessions.getSession('s-p1');
    const placed = await s.placement.place({
      session,
      worker,
      ports: { R1_serial: 2000, R1_ssh: 2001 },
      by: 't',
    });
    expect(placed).toMatchObject({ status: 'SCHEDULED', workerId: 'w-p1', version: session.version + 1 });

    expect(await s.sessions.getSession('s-p1')).toEqual(placed);
    expect(await s.workers.get('w-p1')).toMatchObject({
      allocatedCapacity: { cpuCores: 4, memoryGb: 8, storageGb: 20, maxNodes: 4 },
      leasedPortCount: 2,
      latestSessionEnd: session.timeslot.end,
      version: worker.version + 1,
    });
    const leases = await s.leases.listByWorker('w-p1');
    expect(leases.map((l) => [l.port, l.name, l.sessionId])).toEqual([
      [2000, 'R1_serial', 's-p1'],
      [2001, 'R1_ssh', 's-p1'],
    ]);
    const raw = await t.client.send(new GetCommand({ TableName: t.tableName, Key: keys.session('s-p1') }));
    expect(raw.Item).toMatchObject({
      GSI1PK: 'SESSION#STATUS#SCHEDULED',
      GSI3PK: 'WORKER#w-p1#SESSIONS',
      GSI3SK: `${session.timeslot.start}#s-p1`,
    });
    expect(await s.placement.getPlacement('s-p1')).toEqual({
      workerId: 'w-p1',
      ports: { R1_serial: 2000, R1_ssh: 2001 },
    });
    expect((await s.sessions.get('s-p1')).history.map((h) => h.to)).toEqual(['SCHEDULED']);
  });

  it('a stale worker version or a taken port is a VersionConflictError and nothing is written', async () => {
    await s.workers.create(newWorker({ id: 'w-p2' }));
    await s.sessions.create(newSession({ id: 's-p2a', reservationId: 'r-p2a' }));
    await s.sessions.create(newSession({ id: 's-p2b', reservationId: 'r-p2b' }));
    const stale = await s.workers.get('w-p2');
    await s.placement.place({
      session: await s.sessions.getSession('s-p2a'),
      worker: stale,
      ports: { R1_serial: 2000, R1_ssh: 2001 },
      by: 't',
    });
    const before = await snapshot('w-p2', 's-p2b');
    const b = await s.sessions.getSession('s-p2b');
    await expect(
      s.placement.place({ session: b, worker: stale, ports: { R1_serial: 2002, R1_ssh: 2003 }, by: 't' }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    // Fresh worker, but a port already leased to s-p2a.
    const err = await s.placement
      .place({
        session: b,
        worker: await s.workers.get('w-p2'),
        ports: { R1_serial: 2001, R1_ssh: 2002 },
        by: 't',
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(VersionConflictError);
    expect(err.details.entity).toBe('PortLease');
    expect(await snapshot('w-p2', 's-p2b')).toEqual(before);
  });

  it('validates ports, capacity and worker status before writing', async () => {
    await s.workers.create(
      newWorker({ id: 'w-p3', declaredCapacity: { cpuCores: 4, memoryGb: 8, storageGb: 20, maxNodes: 4 } }),
    );
    await s.sessions.create(newSession({ id: 's-p3', reservationId: 'r-p3' }));
    const session = await s.sessions.getSession('s-p3');
    const worker = await s.workers.get('w-p3');
    await expect(
      s.placement.place({ session, worker, ports: { R1_serial: 2000 }, by: 't' }),
    ).rejects.toMatchObject({ field: 'ports' });
    await expect(
      s.placement.place({ session, worker, ports: { R1_serial: 2000, R1_ssh: 9000 }, by: 't' }),
    ).rejects.toMatchObject({ field: 'ports.R1_ssh' });
    await expect(
      s.placement.place({ session, worker, ports: { R1_serial: 2000, R1_ssh: 2000 }, by: 't' }),
    ).rejects.toBeInstanceOf(ValidationError);
    const big = { ...session, requirements: { ...session.requirements, cpuCores: 5 } };
    const noRoom = await s.placement
      .place({ session: big, worker, ports: { R1_serial: 2000, R1_ssh: 2001 }, by: 't' })
      .catch((e) => e);
    expect(noRoom).toBeInstanceOf(DomainError);
    expect(noRoom.code).toBe('NO_CAPACITY');
    await expect(
      s.placement.place({
        session,
        worker: { ...worker, status: 'DRAINING' },
        ports: { R1_serial: 2000, R1_ssh: 2001 },
        by: 't',
      }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      s.placement.place({
        session: { ...session, status: 'READY' },
        worker,
        ports: { R1_serial: 2000, R1_ssh: 2001 },
        by: 't',
      }),
    ).rejects.toBeInstanceOf(InvalidTransitionError);
    expect(await s.leases.listByWorker('w-p3')).toEqual([]);
    expect((await s.workers.get('w-p3')).allocatedCapacity).toEqual(ZERO);
  });

  it('release is the mirror transaction and is idempotent', async () => {
    await s.workers.create(newWorker({ id: 'w-p4' }));
    await s.sessions.create(newSession({ id: 's-p4', reservationId: 'r-p4' }));
    const before = await s.workers.get('w-p4');
    await s.placement.place({
      session: await s.sessions.getSession('s-p4'),
      worker: before,
      ports: { R1_serial: 2010, R1_ssh: 2011 },
      by: 't',
    });
    const first = await s.placement.release('s-p4');
    expect(first).toEqual({ released: true, workerId: 'w-p4', ports: { R1_serial: 2010, R1_ssh: 2011 } });
    const after = await s.workers.get('w-p4');
    expect(after).toMatchObject({
      allocatedCapacity: ZERO,
      leasedPortCount: 0,
      idleSince: expect.any(String),
    });
    expect(await s.leases.listByWorker('w-p4')).toEqual([]);
    expect(await s.placement.getPlacement('s-p4')).toBeUndefined();
    // The session keeps where it ran (for the record) but leaves the worker's active list.
    expect(await s.sessions.getSession('s-p4')).toMatchObject({ workerId: 'w-p4', status: 'SCHEDULED' });
    expect((await s.sessions.listActiveOnWorker('w-p4')).items).toEqual([]);

    expect(await s.placement.release('s-p4')).toEqual({ released: false });
    expect((await s.workers.get('w-p4')).version).toBe(after.version);
    await s.sessions.create(newSession({ id: 's-p4-unplaced', reservationId: 'r-p4-unplaced' }));
    expect(await s.placement.release('s-p4-unplaced')).toEqual({ released: false });
    await expect(s.placement.release('s-none')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('PlacementStore: latestSessionEnd', () => {
  it('is the latest timeslot end placed, kept by a partial release and removed when the worker empties', async () => {
    await s.workers.create(newWorker({ id: 'w-l1' }));
    const slots = {
      's-l1': { start: at(60), end: at(180) },
      's-l2': { start: at(60), end: at(300) },
      // 14:00+02:00 = 12:00Z, before 13:00Z although it sorts after it as text.
      's-l3': { start: at(60), end: '2030-01-01T14:00:00.000+02:00' },
    };
    let port = 2090;
    for (const [id, timeslot] of Object.entries(slots)) {
      await s.sessions.create(newSession({ id, reservationId: `r-${id}`, timeslot }));
      await s.placement.place({
        session: await s.sessions.getSession(id),
        worker: await s.workers.get('w-l1'),
        ports: { R1_serial: port++, R1_ssh: port++ },
        by: 't',
      });
    }
    expect((await s.workers.get('w-l1')).latestSessionEnd).toBe(at(300));

    // Releasing the session that set it leaves it (stale: it only weakens a preference)...
    await s.placement.release('s-l2');
    expect((await s.workers.get('w-l1')).latestSessionEnd).toBe(at(300));
    await s.placement.release('s-l1');
    expect((await s.workers.get('w-l1')).latestSessionEnd).toBe(at(300));
    // ...and the release that empties the worker removes it.
    await s.placement.release('s-l3');
    const empty = await s.workers.get('w-l1');
    expect(empty.allocatedCapacity).toEqual(ZERO);
    expect(empty.latestSessionEnd).toBeUndefined();
    const raw = await t.client.send(new GetCommand({ TableName: t.tableName, Key: keys.worker('w-l1') }));
    expect(raw.Item).not.toHaveProperty('latestSessionEnd');
  });
});

describe('PlacementStore edge cases', () => {
  it('caps ports per session so the transaction stays within 100 items', async () => {
    const names = Array.from({ length: MAX_PORTS_PER_SESSION + 1 }, (_, i) => `p${i}`);
    await s.workers.create(newWorker({ id: 'w-e1', portRange: { start: 10000, end: 10999 } }));
    await s.sessions.create(
      newSession({
        id: 's-e1',
        reservationId: 'r-e1',
        portTemplate: names.map((name) => ({ name, nodeLabel: 'R1', kind: 'tcp' as const })),
      }),
    );
    const ports = Object.fromEntries(names.map((n, i) => [n, 10000 + i]));
    await expect(
      s.placement.place({
        session: await s.sessions.getSession('s-e1'),
        worker: await s.workers.get('w-e1'),
        ports,
        by: 't',
      }),
    ).rejects.toMatchObject({ field: 'ports' });
    expect(await s.leases.listByWorker('w-e1')).toEqual([]);
  });

  it('releases a session whose worker item is gone (leases and marker still cleared)', async () => {
    await s.workers.create(newWorker({ id: 'w-e2' }));
    await s.sessions.create(newSession({ id: 's-e2', reservationId: 'r-e2' }));
    await s.placement.place({
      session: await s.sessions.getSession('s-e2'),
      worker: await s.workers.get('w-e2'),
      ports: { R1_serial: 2050, R1_ssh: 2051 },
      by: 't',
    });
    await t.client.send(new DeleteCommand({ TableName: t.tableName, Key: keys.worker('w-e2') }));
    expect(await s.placement.release('s-e2')).toMatchObject({ released: true, workerId: 'w-e2' });
    expect(await s.leases.listByWorker('w-e2')).toEqual([]);
    expect(await s.placement.getPlacement('s-e2')).toBeUndefined();
  });
});

describe('placeSession / releaseSession commands', () => {
  // A table of its own: placement considers every RUNNING worker in the table.
  let c: TestTable;
  let s: Stores;
  beforeAll(async () => {
    c = await createTestTable('place-cmd');
    s = createStores({ client: c.client, tableName: c.tableName });
  });
  afterAll(async () => {
    await c.cleanup();
  });

  it('places on the fullest worker that fits, is idempotent, and releases', async () => {
    await s.workers.create(newWorker({ id: 'w-c-empty', portRange: { start: 5000, end: 5099 } }));
    await s.workers.create(newWorker({ id: 'w-c-busy', portRange: { start: 6000, end: 6099 } }));
    await s.workers.create(
      newWorker({ id: 'w-c-off', status: 'STOPPED', portRange: { start: 7000, end: 7099 } }),
    );
    const busy = await s.workers.get('w-c-busy');
    await s.workers.update(
      'w-c-busy',
      { allocatedCapacity: { cpuCores: 8, memoryGb: 32, storageGb: 100, maxNodes: 10 } },
      busy.version,
    );
    await s.sessions.create(newSession({ id: 's-c1', reservationId: 'r-c1' }));
    const r = await placeSession(s, 's-c1');
    expect(r).toMatchObject({ placed: true, workerId: 'w-c-busy', ports: { R1_serial: 6000, R1_ssh: 6001 } });
    expect(await placeSession(s, 's-c1')).toMatchObject({ placed: true, workerId: 'w-c-busy' });
    expect((await s.leases.listByWorker('w-c-busy')).map((l) => l.port)).toEqual([6000, 6001]);

    expect(await releaseSession(s, 's-c1')).toMatchObject({ released: true, workerId: 'w-c-busy' });
    expect(await releaseSession(s, 's-c1')).toMatchObject({ released: false });
    expect((await s.workers.get('w-c-busy')).allocatedCapacity).toEqual({
      cpuCores: 8,
      memoryGb: 32,
      storageGb: 100,
      maxNodes: 10,
    });
  });

  it('prefers the worker whose sessions end with this one (end-time alignment)', async () => {
    // Equally loaded: without the alignment term w-c-busy (fuller) would win, and between these
    // two w-c-a-early (the smaller id); its sessions end 5 h before this one.
    const loaded = { cpuCores: 4, memoryGb: 16, storageGb: 50, maxNodes: 5 };
    await s.workers.create(
      newWorker({
        id: 'w-c-a-early',
        allocatedCapacity: loaded,
        latestSessionEnd: at(300),
        portRange: { start: 3000, end: 3099 },
      }),
    );
    await s.workers.create(
      newWorker({
        id: 'w-c-b-aligned',
        allocatedCapacity: loaded,
        latestSessionEnd: at(600),
        portRange: { start: 4000, end: 4099 },
      }),
    );
    await s.sessions.create(
      newSession({ id: 's-c5', reservationId: 'r-c5', timeslot: { start: at(420), end: at(600) } }),
    );
    expect(await placeSession(s, 's-c5')).toMatchObject({ placed: true, workerId: 'w-c-b-aligned' });
    expect((await s.workers.get('w-c-b-aligned')).latestSessionEnd).toBe(at(600));
    expect(await releaseSession(s, 's-c5')).toMatchObject({ released: true });
  });

  it('returns the rejection summary when nothing fits and records it on the session', async () => {
    await s.sessions.create(
      newSession({
        id: 's-c2',
        reservationId: 'r-c2',
        requirements: { cpuCores: 1000, memoryGb: 1, storageGb: 1, nodeCount: 1 },
      }),
    );
    const r = await placeSession(s, 's-c2');
    expect(r.placed).toBe(false);
    if (r.placed) return;
    expect(r.rejections.capacity).toBeGreaterThan(0);
    expect(r.considered).toBe(r.rejections.capacity + r.rejections.ports + r.rejections.license);
    const stored = await s.sessions.getSession('s-c2');
    expect(stored).toMatchObject({ status: 'PENDING', placementRejections: r.rejections });
    expect(stored.workerId).toBeUndefined();
  });

  it('refuses sessions that cannot be placed by rule', async () => {
    await s.sessions.create(newSession({ id: 's-c3', reservationId: 'r-c3' }));
    await s.sessions.transition('s-c3', 'PENDING', 'TERMINATED', 't');
    await expect(placeSession(s, 's-c3')).rejects.toBeInstanceOf(InvalidTransitionError);
    const many = Array.from({ length: MAX_PORTS_PER_SESSION + 1 }, (_, i) => ({
      name: `p${i}`,
      nodeLabel: 'R1',
      kind: 'tcp' as const,
    }));
    await s.sessions.create(newSession({ id: 's-c4', reservationId: 'r-c4', portTemplate: many }));
    await expect(placeSession(s, 's-c4')).rejects.toMatchObject({ field: 'portTemplate' });
    await expect(placeSession(s, 's-none')).rejects.toBeInstanceOf(NotFoundError);
  });
});

async function snapshot(workerId: string, sessionId: string) {
  return {
    worker: await s.workers.get(workerId),
    session: await s.sessions.get(sessionId),
    leases: await s.leases.listByWorker(workerId),
  };
}
