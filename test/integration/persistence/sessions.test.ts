import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoWorkerStore } from '@lcm/shared/fleet';
import {
  DuplicateError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '@lcm/shared/kernel';
import { keys } from '@lcm/shared/platform';
import { DynamoPlacementStore, DynamoSessionStore } from '@lcm/shared/sessions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { allPages, at, newSession, newWorker, steppingClock } from './builders.ts';

let t: TestTable;
let sessions: DynamoSessionStore;
let workers: DynamoWorkerStore;
let placement: DynamoPlacementStore;

beforeAll(async () => {
  t = await createTestTable('sessions');
  const cfg = { client: t.client, tableName: t.tableName, clock: steppingClock() };
  sessions = new DynamoSessionStore(cfg);
  workers = new DynamoWorkerStore(cfg);
  placement = new DynamoPlacementStore(cfg);
});
afterAll(async () => {
  await t.cleanup();
});

describe('SessionStore: create and reservation guard (access pattern 6)', () => {
  it('creates a PENDING session with its reservation item, found by reservation id', async () => {
    const s = await sessions.create(newSession({ id: 's-create', reservationId: 'r-create' }));
    expect(s).toMatchObject({ status: 'PENDING', version: 1, podType: 'CML_ON_AWS' });
    expect(await sessions.getByReservation('r-create')).toEqual(s);
    const guard = await t.client.send(
      new GetCommand({ TableName: t.tableName, Key: keys.reservation('r-create') }),
    );
    expect(guard.Item).toMatchObject({
      entity: 'Reservation',
      sessionId: 's-create',
      reservationId: 'r-create',
    });
    await expect(sessions.getByReservation('r-none')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a second session for a reservation, naming the existing session', async () => {
    await sessions.create(newSession({ id: 's-first', reservationId: 'r-dup' }));
    const err = await sessions.create(newSession({ id: 's-second', reservationId: 'r-dup' })).catch((e) => e);
    expect(err).toBeInstanceOf(DuplicateError);
    expect(err.details).toMatchObject({ entity: 'Reservation', id: 'r-dup', sessionId: 's-first' });
    await expect(sessions.getSession('s-second')).rejects.toBeInstanceOf(NotFoundError);
    // Same session id, other reservation: the session itself is the duplicate; no guard left behind.
    const again = await sessions
      .create(newSession({ id: 's-first', reservationId: 'r-other' }))
      .catch((e) => e);
    expect(again).toBeInstanceOf(DuplicateError);
    expect(again.details.entity).toBe('LabletSession');
    await expect(sessions.getByReservation('r-other')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('20 concurrent creates for one reservation produce exactly one session', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        sessions.create(newSession({ id: `s-conc-${i}`, reservationId: 'r-conc' })),
      ),
    );
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.id] : []));
    expect(won).toHaveLength(1);
    const winner = won[0];
    for (const r of results) {
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(DuplicateError);
        expect(r.reason.details.sessionId).toBe(winner);
      }
    }
    expect((await sessions.getByReservation('r-conc')).id).toBe(winner);
    const stored = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => sessions.getSession(`s-conc-${i}`)),
    );
    expect(stored.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('rejects invalid input with a ValidationError naming the field', async () => {
    const bad = newSession({ id: 's-bad', reservationId: 'r-bad', timeslot: { start: at(10), end: at(5) } });
    await expect(sessions.create(bad)).rejects.toMatchObject({ field: 'timeslot.end' });
    await expect(
      sessions.create({
        ...newSession({ id: 's-bad2', reservationId: 'r-bad2' }),
        status: 'READY' as 'PENDING',
      }),
    ).rejects.toMatchObject({ field: 'status' });
  });
});

describe('SessionStore: aggregate, transitions and children (access pattern 4)', () => {
  it('reads the session, user session, grading, score, observations and history in one query', async () => {
    await sessions.create(newSession({ id: 's-agg', reservationId: 'r-agg' }));
    await workers.create(newWorker({ id: 'w-agg' }));
    const s = await sessions.getSession('s-agg');
    await placement.place({
      session: s,
      worker: await workers.get('w-agg'),
      ports: { R1_serial: 2000, R1_ssh: 2001 },
      by: 'test',
    });
    await sessions.transition('s-agg', 'SCHEDULED', 'INSTANTIATING', 'wf');
    await sessions.transition('s-agg', 'INSTANTIATING', 'READY', 'wf', 'booted', { cmlLabId: 'lab-1' });
    await sessions.putUserSession('s-agg', {
      ldsSessionId: 'lds-1',
      loginUrl: 'https://lds.example.com/x',
      status: 'PROVISIONED',
      createdAt: at(0),
      updatedAt: at(0),
    });
    await sessions.putGrading('s-agg', { status: 'SUBMITTED', gradingSessionId: 'g-1', submittedAt: at(1) });
    await sessions.putScore('s-agg', {
      score: 8,
      maxScore: 10,
      passed: true,
      sections: [],
      reportedAt: at(2),
    });
    const obs = {
      sessionId: 's-agg',
      definitionId: 'ccna-ospf',
      definitionVersion: 1,
      observer: 'lcm',
      totals: { cpuCores: 2, memoryGb: 4, storageGb: 10, nodeCount: 2 },
    };
    await sessions.addObservation({ ...obs, observedAt: at(3) });
    await sessions.addObservation({ ...obs, observedAt: at(4) });

    const agg = await sessions.get('s-agg');
    expect(agg.session).toMatchObject({ id: 's-agg', status: 'READY', cmlLabId: 'lab-1', workerId: 'w-agg' });
    expect(agg.userSession).toMatchObject({ ldsSessionId: 'lds-1', status: 'PROVISIONED' });
    expect(agg.grading).toMatchObject({ status: 'SUBMITTED', gradingSessionId: 'g-1' });
    expect(agg.score).toMatchObject({ score: 8, passed: true });
    expect(agg.observations.map((o) => o.observedAt)).toEqual([at(3), at(4)]);
    expect(agg.history.map((h) => `${h.from}>${h.to}`)).toEqual([
      'PENDING>SCHEDULED',
      'SCHEDULED>INSTANTIATING',
      'INSTANTIATING>READY',
    ]);
    expect(agg.history[2]).toMatchObject({ by: 'wf', reason: 'booted' });
    await expect(sessions.get('s-none')).rejects.toBeInstanceOf(NotFoundError);
    await expect(sessions.putScore('s-none', agg.score!)).rejects.toBeInstanceOf(NotFoundError);
    const orphan = await t.client.send(new GetCommand({ TableName: t.tableName, Key: keys.score('s-none') }));
    expect(orphan.Item).toBeUndefined();
  });

  it('transition is conditioned on status and version; invalid transitions write nothing', async () => {
    const s = await sessions.create(newSession({ id: 's-tr', reservationId: 'r-tr' }));
    await expect(sessions.transition('s-tr', 'PENDING', 'RUNNING', 'x')).rejects.toBeInstanceOf(
      InvalidTransitionError,
    );
    await expect(sessions.transition('s-tr', 'READY', 'RUNNING', 'x')).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    await expect(
      sessions.transition(
        's-tr',
        'PENDING',
        'TERMINATED',
        'x',
        undefined,
        {},
        { expectedVersion: s.version + 5 },
      ),
    ).rejects.toBeInstanceOf(VersionConflictError);
    await expect(
      sessions.transition('s-tr', 'PENDING', 'TERMINATED', 'x', undefined, { workerId: 'w' } as never),
    ).rejects.toMatchObject({ field: 'patch.workerId' });
    const agg = await sessions.get('s-tr');
    expect(agg.session).toEqual(s);
    expect(agg.history).toEqual([]);

    // failureReason is one of the documented reasons (kernel FAILURE_REASONS), nothing else.
    await expect(
      sessions.transition('s-tr', 'PENDING', 'TERMINATED', 'api', 'cancelled', {
        failureReason: 'cancelled by portal' as never,
      }),
    ).rejects.toMatchObject({ field: 'patch.failureReason' });
    const done = await sessions.transition('s-tr', 'PENDING', 'TERMINATED', 'api', 'cancelled', {
      failureReason: 'TERMINATED',
    });
    expect(done).toMatchObject({
      status: 'TERMINATED',
      failureReason: 'TERMINATED',
      version: s.version + 1,
    });
    expect((await sessions.listByStatus('PENDING')).items.map((x) => x.id)).not.toContain('s-tr');
    expect((await sessions.listByStatus('TERMINATED')).items.map((x) => x.id)).toContain('s-tr');
    await expect(sessions.transition('s-tr', 'TERMINATED', 'PENDING', 'x')).rejects.toBeInstanceOf(
      InvalidTransitionError,
    );
  });

  it('of 10 concurrent identical transitions exactly one wins and one HIST item is written', async () => {
    await sessions.create(newSession({ id: 's-tr-race', reservationId: 'r-tr-race' }));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => sessions.transition('s-tr-race', 'PENDING', 'TERMINATED', 'x')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(VersionConflictError);
    expect((await sessions.get('s-tr-race')).history).toHaveLength(1);
  });

  it('update changes editable fields under the version (null removes)', async () => {
    const s = await sessions.create(newSession({ id: 's-upd', reservationId: 'r-upd' }));
    const u = await sessions.update(
      's-upd',
      { executionArn: 'arn:aws:states:x', failureReason: 'WORKFLOW_ERROR' },
      s.version,
    );
    expect(u).toMatchObject({ executionArn: 'arn:aws:states:x', version: s.version + 1 });
    const v = await sessions.update('s-upd', { failureReason: null }, u.version);
    expect(v.failureReason).toBeUndefined();
    await expect(sessions.update('s-upd', { cmlLabId: 'l' }, s.version)).rejects.toBeInstanceOf(
      VersionConflictError,
    );
  });
});

describe('SessionStore listings (access patterns 5, 7, 8)', () => {
  let l: TestTable;
  let store: DynamoSessionStore;
  beforeAll(async () => {
    l = await createTestTable('session-lists');
    store = new DynamoSessionStore({ client: l.client, tableName: l.tableName });
    // Created out of order; starts at T0 + 10·i minutes; offsets other than Z sort by instant.
    const order = [5, 2, 7, 0, 9, 3, 1, 8, 6, 4];
    for (const i of order) {
      const start = i === 3 ? '2030-01-01T10:30:00.000+02:00' : at(10 * i); // = at(30) in UTC
      await store.create(
        newSession({ id: `s-${i}`, reservationId: `r-${i}`, timeslot: { start, end: at(10 * i + 60) } }),
      );
    }
    await store.transition('s-4', 'PENDING', 'TERMINATED', 'x');
  });
  afterAll(async () => {
    await l.cleanup();
  });

  it('lists a status ordered by timeslot start, within [startFrom, startTo), paginated', async () => {
    const pending = await allPages((cursor) => store.listByStatus('PENDING', { limit: 3, cursor }), 3);
    expect(pending.items.map((s) => s.id)).toEqual([
      's-0',
      's-1',
      's-2',
      's-3',
      's-5',
      's-6',
      's-7',
      's-8',
      's-9',
    ]);
    const window = await store.listByStatus('PENDING', { startFrom: at(20), startTo: at(60) });
    expect(window.items.map((s) => s.id)).toEqual(['s-2', 's-3', 's-5']);
    const after = await store.listByStatus('PENDING', { startFrom: at(80) });
    expect(after.items.map((s) => s.id)).toEqual(['s-8', 's-9']);
    const before = await store.listByStatus('PENDING', { startTo: at(20) });
    expect(before.items.map((s) => s.id)).toEqual(['s-0', 's-1']);
    expect((await store.listByStatus('TERMINATED')).items.map((s) => s.id)).toEqual(['s-4']);
    await expect(
      store.listByStatus('PENDING', { startFrom: at(20), startTo: at(10) }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(store.listByStatus('PENDING', { startFrom: 'yesterday' })).rejects.toMatchObject({
      field: 'startFrom',
    });
  });

  it('lists sessions of any status starting within a window (look-ahead)', async () => {
    const soon = await allPages(
      (cursor) => store.listStartingBetween(at(30), at(70), { limit: 2, cursor }),
      2,
    );
    expect(soon.items.map((s) => s.id)).toEqual(['s-3', 's-4', 's-5', 's-6']);
  });

  it('lists active sessions on a worker (sparse GSI3) and drops them on release', async () => {
    const w = new DynamoWorkerStore({ client: l.client, tableName: l.tableName });
    const p = new DynamoPlacementStore({ client: l.client, tableName: l.tableName });
    await w.create(newWorker({ id: 'w-a' }));
    await w.create(newWorker({ id: 'w-b' }));
    for (const [sid, wid, base] of [
      ['s-7', 'w-a', 2000],
      ['s-1', 'w-a', 2002],
      ['s-2', 'w-b', 2000],
    ] as const) {
      await p.place({
        session: await store.getSession(sid),
        worker: await w.get(wid),
        ports: { R1_serial: base, R1_ssh: base + 1 },
        by: 'test',
      });
    }
    expect((await store.listActiveOnWorker('w-a')).items.map((s) => s.id)).toEqual(['s-1', 's-7']);
    expect((await store.listActiveOnWorker('w-b')).items.map((s) => s.id)).toEqual(['s-2']);
    expect((await p.release('s-1')).released).toBe(true);
    expect((await store.listActiveOnWorker('w-a')).items.map((s) => s.id)).toEqual(['s-7']);
    expect((await store.listActiveOnWorker('w-none')).items).toEqual([]);
  });

  it('lists observations of a definition newest first across sessions', async () => {
    const base = {
      definitionId: 'def-obs',
      definitionVersion: 1,
      observer: 'lcm',
      totals: { cpuCores: 1, memoryGb: 1, storageGb: 1, nodeCount: 1 },
    };
    await store.addObservation({ ...base, sessionId: 's-0', observedAt: at(100) });
    await store.addObservation({ ...base, sessionId: 's-5', observedAt: at(130) });
    await store.addObservation({ ...base, sessionId: 's-0', observedAt: at(160) });
    await store.addObservation({ ...base, definitionId: 'def-other', sessionId: 's-5', observedAt: at(170) });
    await expect(
      store.addObservation({ ...base, sessionId: 's-0', observedAt: at(100) }),
    ).rejects.toBeInstanceOf(DuplicateError);
    await expect(
      store.addObservation({ ...base, sessionId: 's-none', observedAt: at(1) }),
    ).rejects.toBeInstanceOf(NotFoundError);
    const page1 = await store.listObservationsOfDefinition('def-obs', 2);
    expect(page1.items.map((o) => [o.sessionId, o.observedAt])).toEqual([
      ['s-0', at(160)],
      ['s-5', at(130)],
    ]);
    const page2 = await store.listObservationsOfDefinition('def-obs', 2, page1.cursor);
    expect(page2.items.map((o) => [o.sessionId, o.observedAt])).toEqual([['s-0', at(100)]]);
    // The raw index entry carries the GSI3 keys of access pattern 8.
    const raw = await l.client.send(
      new QueryCommand({
        TableName: l.tableName,
        IndexName: 'GSI3',
        KeyConditionExpression: 'GSI3PK = :pk',
        ExpressionAttributeValues: { ':pk': 'DEF#def-obs#OBS' },
      }),
    );
    expect(raw.Items?.map((i) => i.GSI3SK)).toEqual([`${at(100)}#s-0`, `${at(130)}#s-5`, `${at(160)}#s-0`]);
  });
});
