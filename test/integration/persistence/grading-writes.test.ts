import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  DuplicateError,
  GRADING_TRANSITIONS,
  type GradingSession,
  gradingWritableFrom,
  InvalidTransitionError,
  NotFoundError,
  type ScoreReport,
  type SessionStatus,
} from '@lcm/shared/kernel';
import { keys, RecordingWorkflowEngine } from '@lcm/shared/platform';
import { DynamoSessionStore, observeGradingResult } from '@lcm/shared/sessions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { at, newSession, steppingClock } from './builders.ts';

/**
 * Conditional grading writes (issue 12, item 6c) on DynamoDB Local: a GradingSession is written
 * only over a status it may follow (kernel GRADING_TRANSITIONS), a score only with its COMPLETED
 * grading or once, so a late or duplicate write never replaces a newer or final grading; the
 * loser gets a typed InvalidTransitionError / DuplicateError and nothing of it is stored.
 */

let t: TestTable;
let sessions: DynamoSessionStore;
let n = 0;

beforeAll(async () => {
  t = await createTestTable('grading');
  sessions = new DynamoSessionStore({ client: t.client, tableName: t.tableName, clock: steppingClock() });
});
afterAll(async () => {
  await t.cleanup();
});

const score = (points: number): ScoreReport => ({
  score: points,
  maxScore: 10,
  passed: points >= 5,
  sections: [],
  reportedAt: at(points),
});

async function session(): Promise<string> {
  const id = `s-grading-${++n}`;
  await sessions.create(newSession({ id, reservationId: `r-${id}` }));
  return id;
}

const rawGrading = async (id: string) =>
  (await t.client.send(new GetCommand({ TableName: t.tableName, Key: keys.grading(id) }))).Item;
const rawScore = async (id: string) =>
  (await t.client.send(new GetCommand({ TableName: t.tableName, Key: keys.score(id) }))).Item;

describe('the grading status table', () => {
  it('is forward only: COMPLETED and FAULTED are final, nothing goes back to PENDING once submitted', () => {
    expect(GRADING_TRANSITIONS.COMPLETED).toEqual([]);
    expect(GRADING_TRANSITIONS.FAULTED).toEqual([]);
    expect(gradingWritableFrom('PENDING')).toEqual(['PENDING']);
    expect(gradingWritableFrom('SUBMITTED')).toEqual(['PENDING', 'SUBMITTED']);
    expect(gradingWritableFrom('COMPLETED')).toEqual(['PENDING', 'SUBMITTED']);
    expect(gradingWritableFrom('FAULTED')).toEqual(['PENDING', 'SUBMITTED']);
  });
});

describe('SessionStore.putGrading: conditional on the stored status', () => {
  it('PENDING → SUBMITTED → COMPLETED with its score in one write; a late SUBMITTED is refused, nothing changes', async () => {
    const id = await session();
    await sessions.putGrading(id, { status: 'PENDING' });
    await sessions.putGrading(id, { status: 'PENDING' }); // a retried step repeats its write
    await sessions.putGrading(id, { status: 'SUBMITTED', gradingSessionId: 'g-1', submittedAt: at(1) });
    await sessions.putGrading(
      id,
      { status: 'COMPLETED', gradingSessionId: 'g-1', submittedAt: at(1), completedAt: at(2) },
      { score: score(8) },
    );

    const late = await sessions
      .putGrading(id, { status: 'SUBMITTED', gradingSessionId: 'g-1', submittedAt: at(3) })
      .catch((e) => e);
    expect(late).toBeInstanceOf(InvalidTransitionError);
    expect(late).toMatchObject({ entity: 'GradingSession', from: 'COMPLETED', to: 'SUBMITTED' });
    expect(late.code).toBe('INVALID_TRANSITION');

    const { grading, score: stored } = await sessions.get(id);
    expect(grading).toMatchObject({ status: 'COMPLETED', completedAt: at(2) });
    expect(grading?.submittedAt).toBe(at(1));
    expect(stored).toMatchObject({ score: 8, passed: true });
  });

  it('a duplicate result is refused with its score (the first final answer wins, also over FAULTED)', async () => {
    const id = await session();
    await sessions.putGrading(id, { status: 'SUBMITTED', gradingSessionId: 'g-1' });
    await sessions.putGrading(id, { status: 'COMPLETED', gradingSessionId: 'g-1' }, { score: score(9) });
    const dup = await sessions
      .putGrading(id, { status: 'COMPLETED', gradingSessionId: 'g-1' }, { score: score(2) })
      .catch((e) => e);
    expect(dup).toBeInstanceOf(InvalidTransitionError);
    expect(dup).toMatchObject({ from: 'COMPLETED', to: 'COMPLETED' });
    expect((await rawScore(id))?.score).toBe(9);
    const faulted = await sessions.putGrading(id, { status: 'FAULTED', error: 'late' }).catch((e) => e);
    expect(faulted).toBeInstanceOf(InvalidTransitionError);

    const other = await session();
    await sessions.putGrading(other, { status: 'FAULTED', error: 'GRADING_TIMEOUT' });
    const afterFault = await sessions
      .putGrading(other, { status: 'COMPLETED' }, { score: score(10) })
      .catch((e) => e);
    expect(afterFault).toMatchObject({ from: 'FAULTED', to: 'COMPLETED' });
    expect(await rawScore(other)).toBeUndefined();
    expect((await rawGrading(other))?.status).toBe('FAULTED');
  });

  it('never goes back: PENDING over SUBMITTED is refused', async () => {
    const id = await session();
    await sessions.putGrading(id, { status: 'SUBMITTED', gradingSessionId: 'g-7' });
    await expect(sessions.putGrading(id, { status: 'PENDING' })).rejects.toBeInstanceOf(
      InvalidTransitionError,
    );
    expect((await rawGrading(id))?.gradingSessionId).toBe('g-7');
  });

  it('racing final writes: exactly one wins, every other one is a typed conflict, score and grading agree', async () => {
    const id = await session();
    await sessions.putGrading(id, { status: 'SUBMITTED', gradingSessionId: 'g-r' });
    const writes: Array<{ grading: GradingSession; score?: ScoreReport }> = [];
    for (let i = 0; i < 6; i++) {
      writes.push({ grading: { status: 'COMPLETED', gradingSessionId: 'g-r' }, score: score(i + 1) });
      writes.push({ grading: { status: 'FAULTED', gradingSessionId: 'g-r', error: `fault ${i}` } });
    }
    const results = await Promise.allSettled(
      writes.map((w) => sessions.putGrading(id, w.grading, w.score ? { score: w.score } : {})),
    );
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(InvalidTransitionError);
    }
    const winner = writes[won[0]!]!;
    const { grading, score: stored } = await sessions.get(id);
    expect(grading?.status).toBe(winner.grading.status);
    if (winner.grading.status === 'COMPLETED') expect(stored?.score).toBe(winner.score?.score);
    else {
      expect(grading?.error).toBe(winner.grading.error);
      expect(stored).toBeUndefined();
    }
  });

  it('a score on its own is written once (DuplicateError after); a missing session is NotFound', async () => {
    const id = await session();
    await sessions.putScore(id, score(4));
    await expect(sessions.putScore(id, score(6))).rejects.toBeInstanceOf(DuplicateError);
    expect((await rawScore(id))?.score).toBe(4);
    await expect(sessions.putGrading('s-none', { status: 'PENDING' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await rawGrading('s-none')).toBeUndefined();
  });
});

describe('observeGradingResult: duplicate deliveries racing', () => {
  it('two different results for one submission: one recorded, the other a duplicate, the stored score is the recorded one', async () => {
    const id = await session();
    const path: SessionStatus[] = ['SCHEDULED', 'INSTANTIATING', 'READY', 'RUNNING', 'COLLECTING', 'GRADING'];
    let from: SessionStatus = 'PENDING';
    for (const to of path) {
      await sessions.transition(id, from, to, 'test');
      from = to;
    }
    await sessions.putGrading(id, { status: 'SUBMITTED', gradingSessionId: 'g-d' });
    const deps = { sessions, engine: new RecordingWorkflowEngine() };
    let recorded: number | undefined;
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([
        observeGradingResult(deps, id, { completed: score(3), gradingSessionId: 'g-d' }),
        observeGradingResult(deps, id, { completed: score(7), gradingSessionId: 'g-d' }),
      ]);
      const outcomes = [a.outcome, b.outcome].sort();
      if (round === 0) {
        expect(outcomes).toEqual(['duplicate', 'recorded']);
        recorded = a.outcome === 'recorded' ? 3 : 7;
      } else expect(outcomes).toEqual(['duplicate', 'duplicate']);
    }
    const { grading, score: stored } = await sessions.get(id);
    expect(grading?.status).toBe('COMPLETED');
    expect(stored?.score).toBe(recorded);
    const failed = await observeGradingResult(deps, id, { failed: 'late failure', gradingSessionId: 'g-d' });
    expect(failed.outcome).toBe('duplicate');
    expect((await sessions.get(id)).grading?.status).toBe('COMPLETED');
  });
});
