import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '@lcm/shared/platform';
import { handleInboundEvent, LEARNER_EVENT_TYPES } from '@lcm/shared/sessions';
import type { EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gradingResultsHandler } from '../../../functions/events/grading-results.ts';
import { learnerEventsHandler } from '../../../functions/events/learner-events.ts';
import { lambdaContext } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { type EventsWorld, eventsWorld, GRADING_SOURCE, LDS_SOURCE, sessionAt } from './support.ts';

/**
 * The EventBridge rule targets against DynamoDB Local: idempotency on (source, id) with the
 * conditional put + TTL claim, release of the claim on a failure a retry may fix, and events
 * that are acknowledged and logged instead of retried (unknown session, moment passed, invalid).
 */

let table: TestTable;
let world: EventsWorld;
let learner: ReturnType<typeof learnerEventsHandler>;
let grading: ReturnType<typeof gradingResultsHandler>;

beforeAll(async () => {
  table = await createTestTable('inbound');
  world = eventsWorld(table);
  learner = learnerEventsHandler(() => world.deps);
  grading = gradingResultsHandler(() => world.deps);
});
afterAll(async () => {
  await table?.cleanup();
});

let seq = 0;
function cloudEvent(type: string, data: Record<string, unknown>, over: Record<string, unknown> = {}) {
  return {
    specversion: '1.0',
    id: `evt-${++seq}`,
    source: type.startsWith('io.lablet.grading.') ? GRADING_SOURCE : LDS_SOURCE,
    type,
    time: '2030-01-01T09:05:00.000Z',
    datacontenttype: 'application/json',
    data,
    ...over,
  };
}

const busEvent = (detail: { source: string; type: string }): EventBridgeEvent<string, unknown> => ({
  version: '0',
  id: `bus-${seq}`,
  account: '000000000000',
  region: 'us-east-1',
  time: '2030-01-01T09:05:00Z',
  resources: [],
  source: detail.source,
  'detail-type': detail.type,
  detail,
});

const running = (sessionId: string, over: Record<string, unknown> = {}) =>
  cloudEvent(
    'io.lablet.lds.session.running.v1',
    { ldsSessionId: `lds-${sessionId}`, lcmSessionId: sessionId, at: '2030-01-01T09:04:00.000Z' },
    over,
  );

const markerOf = async (source: string, id: string) =>
  (
    await table.client.send(
      new GetCommand({ TableName: table.tableName, Key: keys.processedEvent(source, id) }),
    )
  ).Item;

describe('learner events: idempotent on (source, id)', () => {
  it('applies an event once; a redelivery is acknowledged without effect', async () => {
    const token = await sessionAt(world, 'idem-1', 'READY', 'LOGIN');
    const event = running('idem-1');
    const first = await learner(busEvent(event), lambdaContext());
    expect(first).toMatchObject({
      outcome: 'resolved',
      id: event.id,
      source: LDS_SOURCE,
      sessionId: 'idem-1',
    });
    const session = await world.stores.sessions.getSession('idem-1');
    expect(session.loginObservedAt).toBe('2030-01-01T09:04:00.000Z');
    expect(session.pendingWait).toBeUndefined();
    const resolutions = () => world.engine.callsOf('sendTaskSuccess').filter((c) => c.taskToken === token);
    expect(resolutions()).toEqual([
      expect.objectContaining({ output: { kind: 'LOGIN', at: '2030-01-01T09:04:00.000Z' } }),
    ]);

    for (let i = 0; i < 3; i++) {
      expect(await learner(busEvent(event), lambdaContext())).toMatchObject({ outcome: 'already-processed' });
    }
    expect(resolutions()).toHaveLength(1);
    expect((await world.stores.sessions.getSession('idem-1')).version).toBe(session.version);

    const marker = await markerOf(LDS_SOURCE, event.id);
    expect(marker).toMatchObject({ entity: 'ProcessedEvent', source: LDS_SOURCE, id: event.id });
    expect(marker?.expiresAt).toBeGreaterThan(Date.now() / 1000 + 6 * 24 * 3600);
  });

  it('the same id from another source is another event', async () => {
    await sessionAt(world, 'idem-2', 'READY');
    const a = cloudEvent(
      'io.lablet.lds.session.paused.v1',
      { ldsSessionId: 'l', lcmSessionId: 'idem-2' },
      { id: 'shared-id' },
    );
    const b = { ...a, source: 'urn:lablet:lds:other' };
    expect(await learner(busEvent(a), lambdaContext())).toMatchObject({ outcome: 'recorded' });
    expect(await learner(busEvent(b), lambdaContext())).toMatchObject({ outcome: 'duplicate' });
    expect(await learner(busEvent(b), lambdaContext())).toMatchObject({ outcome: 'already-processed' });
  });

  it('releases the claim when handling fails in a way a retry may fix, so the retry applies it', async () => {
    const token = await sessionAt(world, 'idem-3', 'READY', 'LOGIN');
    const event = running('idem-3');
    const original = world.engine.sendTaskSuccess.bind(world.engine);
    let failures = 1;
    world.engine.sendTaskSuccess = async (t, output) => {
      if (failures-- > 0)
        throw Object.assign(new Error('Step Functions throttled'), { name: 'ThrottlingException' });
      return original(t, output);
    };
    try {
      await expect(learner(busEvent(event), lambdaContext())).rejects.toThrow('Step Functions throttled');
      expect(await markerOf(LDS_SOURCE, event.id)).toBeUndefined();
      expect(world.log.lines).toContainEqual(
        expect.objectContaining({ level: 'error', message: 'inbound event failed; it will be retried' }),
      );
      // The retry (Lambda's async retry) finds the fact recorded and the wait still pending: resolves.
      expect(await learner(busEvent(event), lambdaContext())).toMatchObject({ outcome: 'duplicate' });
      expect(world.engine.callsOf('sendTaskSuccess').filter((c) => c.taskToken === token)).toHaveLength(1);
      expect((await world.stores.sessions.getSession('idem-3')).pendingWait).toBeUndefined();
      expect(await markerOf(LDS_SOURCE, event.id)).toBeDefined();
    } finally {
      world.engine.sendTaskSuccess = original;
    }
  });
});

describe('learner events: acknowledged, logged, never retried', () => {
  it('an unknown session', async () => {
    const event = running('no-such-session');
    expect(await learner(busEvent(event), lambdaContext())).toMatchObject({ outcome: 'unknown-session' });
    expect(world.log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'inbound event for an unknown session: ignored',
        extra: expect.objectContaining({ id: event.id, sessionId: 'no-such-session' }),
      }),
    );
    expect(await learner(busEvent(event), lambdaContext())).toMatchObject({ outcome: 'already-processed' });
  });

  it('a moment already passed (a login for a terminated session)', async () => {
    await sessionAt(world, 'stale-1', 'PENDING');
    await world.stores.sessions.transition('stale-1', 'PENDING', 'TERMINATED', 'test');
    const event = running('stale-1');
    expect(await learner(busEvent(event), lambdaContext())).toMatchObject({ outcome: 'stale' });
    expect((await world.stores.sessions.getSession('stale-1')).loginObservedAt).toBeUndefined();
    expect(world.log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'inbound event for a moment already passed: ignored',
      }),
    );
  });

  it('an invalid detail, or an envelope that disagrees with it: nothing is claimed', async () => {
    const bad = cloudEvent('io.lablet.lds.session.running.v1', { ldsSessionId: 'x' });
    expect(await learner(busEvent(bad), lambdaContext())).toMatchObject({ outcome: 'invalid' });
    expect(await markerOf(LDS_SOURCE, bad.id)).toBeUndefined();

    const good = running('idem-1');
    const mismatched = { ...busEvent(good), source: 'urn:someone:else' };
    expect(await learner(mismatched, lambdaContext())).toMatchObject({ outcome: 'invalid' });
    expect(await markerOf(LDS_SOURCE, good.id)).toBeUndefined();
  });

  it('a valid event of a type the target does not handle (grading event at the learner target)', async () => {
    const event = cloudEvent('io.lablet.grading.session.failed.v1', {
      gradingSessionId: 'g',
      lcmSessionId: 'idem-1',
      error: 'x',
    });
    expect(await learner(busEvent(event), lambdaContext())).toMatchObject({ outcome: 'ignored' });
    expect(await markerOf(GRADING_SOURCE, event.id)).toBeUndefined();
    expect(LEARNER_EVENT_TYPES).not.toContain(event.type);
  });
});

describe('learner events: the DESIGN §7 mapping', () => {
  it('running → LOGIN (READY → RUNNING), ended / user-finished → END, paused → recorded', async () => {
    await sessionAt(world, 'map-1', 'RUNNING');
    const endToken = 'token-END-map-1';
    await world.stores.sessions.update(
      'map-1',
      { pendingWait: { kind: 'END', taskToken: endToken, since: '2030-01-01T09:00:00.000Z' } },
      (await world.stores.sessions.getSession('map-1')).version,
    );
    const paused = cloudEvent('io.lablet.lds.session.paused.v1', {
      ldsSessionId: 'l',
      lcmSessionId: 'map-1',
      at: '2030-01-01T09:30:00.000Z',
    });
    expect(await learner(busEvent(paused), lambdaContext())).toMatchObject({ outcome: 'recorded' });
    const finished = cloudEvent('io.lablet.lds.session.user-finished.v1', {
      ldsSessionId: 'l',
      lcmSessionId: 'map-1',
    });
    expect(await learner(busEvent(finished), lambdaContext())).toMatchObject({ outcome: 'resolved' });
    const s = await world.stores.sessions.getSession('map-1');
    expect(s.pausedAt).toBe('2030-01-01T09:30:00.000Z');
    // No `at` in the data: the envelope time is the moment.
    expect(s.endObservedAt).toBe('2030-01-01T09:05:00.000Z');
    expect(world.engine.callsOf('sendTaskSuccess').find((c) => c.taskToken === endToken)?.output).toEqual({
      kind: 'END',
      ended: 'ENDED',
      at: '2030-01-01T09:05:00.000Z',
    });
    const ended = cloudEvent('io.lablet.lds.session.ended.v1', { ldsSessionId: 'l', lcmSessionId: 'map-1' });
    expect(await learner(busEvent(ended), lambdaContext())).toMatchObject({ outcome: 'duplicate' });
  });
});

describe('learner events: correlation ids that disagree are not applied (202 at ingest, then logged)', () => {
  const userSession = (ldsSessionId: string) => ({
    ldsSessionId,
    loginUrl: `https://lds.example.com/login/${ldsSessionId}`,
    status: 'PROVISIONED' as const,
    createdAt: '2030-01-01T08:55:00.000Z',
    updatedAt: '2030-01-01T08:55:00.000Z',
  });

  it('an ended event for another LDS session does not end the session; the right one does', async () => {
    await sessionAt(world, 'corr-1', 'RUNNING');
    await world.stores.sessions.putUserSession('corr-1', userSession('lds-corr-1'));
    const endToken = 'token-END-corr-1';
    await world.stores.sessions.update(
      'corr-1',
      { pendingWait: { kind: 'END', taskToken: endToken, since: '2030-01-01T09:00:00.000Z' } },
      (await world.stores.sessions.getSession('corr-1')).version,
    );
    const resolvedBefore = world.engine.callsOf('sendTaskSuccess').length;

    for (const type of ['io.lablet.lds.session.ended.v1', 'io.lablet.lds.session.user-finished.v1']) {
      const wrong = cloudEvent(type, { ldsSessionId: 'lds-someone-else', lcmSessionId: 'corr-1' });
      expect(await learner(busEvent(wrong), lambdaContext())).toMatchObject({
        outcome: 'mismatch',
        sessionId: 'corr-1',
      });
      // Acknowledged for good: a retry cannot make the ids agree.
      expect(await markerOf(wrong.source, wrong.id)).toBeDefined();
    }
    let s = await world.stores.sessions.getSession('corr-1');
    expect(s.status).toBe('RUNNING');
    expect(s.endObservedAt).toBeUndefined();
    expect(s.pendingWait).toMatchObject({ kind: 'END', taskToken: endToken });
    expect(world.engine.callsOf('sendTaskSuccess').length).toBe(resolvedBefore);

    const right = cloudEvent('io.lablet.lds.session.ended.v1', {
      ldsSessionId: 'lds-corr-1',
      lcmSessionId: 'corr-1',
    });
    expect(await learner(busEvent(right), lambdaContext())).toMatchObject({ outcome: 'resolved' });
    s = await world.stores.sessions.getSession('corr-1');
    expect(s.endObservedAt).toBe('2030-01-01T09:05:00.000Z');
    expect(world.engine.callsOf('sendTaskSuccess').some((c) => c.taskToken === endToken)).toBe(true);
  });

  it('running and paused events for another LDS session record nothing and resolve no login wait', async () => {
    const token = await sessionAt(world, 'corr-2', 'READY', 'LOGIN');
    await world.stores.sessions.putUserSession('corr-2', userSession('lds-corr-2'));
    const paused = cloudEvent('io.lablet.lds.session.paused.v1', {
      ldsSessionId: 'lds-x',
      lcmSessionId: 'corr-2',
    });
    expect(await learner(busEvent(paused), lambdaContext())).toMatchObject({ outcome: 'mismatch' });
    const wrong = running('corr-2', { data: { ldsSessionId: 'lds-x', lcmSessionId: 'corr-2' } });
    expect(await learner(busEvent(wrong), lambdaContext())).toMatchObject({ outcome: 'mismatch' });
    let s = await world.stores.sessions.getSession('corr-2');
    expect(s.loginObservedAt).toBeUndefined();
    expect(s.pausedAt).toBeUndefined();
    expect(world.engine.callsOf('sendTaskSuccess').some((c) => c.taskToken === token)).toBe(false);

    // running() names lds-corr-2, the stored one: applied.
    expect(await learner(busEvent(running('corr-2')), lambdaContext())).toMatchObject({
      outcome: 'resolved',
    });
    s = await world.stores.sessions.getSession('corr-2');
    expect(s.loginObservedAt).toBe('2030-01-01T09:04:00.000Z');
  });

  it('a session with no LDS session stored yet cannot disagree: the event is applied', async () => {
    const token = await sessionAt(world, 'corr-3', 'READY', 'LOGIN');
    expect(await learner(busEvent(running('corr-3')), lambdaContext())).toMatchObject({
      outcome: 'resolved',
    });
    expect(world.engine.callsOf('sendTaskSuccess').some((c) => c.taskToken === token)).toBe(true);
  });
});

describe('grading results', () => {
  it('completed → ScoreReport stored, grading COMPLETED, the GRADING wait resolved with the score', async () => {
    const token = await sessionAt(world, 'grade-1', 'GRADING', 'GRADING');
    const event = cloudEvent('io.lablet.grading.session.completed.v1', {
      gradingSessionId: 'gs-1',
      lcmSessionId: 'grade-1',
      score: 42,
      maxScore: 50,
      passed: true,
      sections: [{ name: 'OSPF', score: 42, maxScore: 50, checks: [{ name: 'adjacency', passed: true }] }],
      reportedAt: '2030-01-01T11:00:00.000Z',
    });
    expect(await grading(busEvent(event), lambdaContext())).toMatchObject({ outcome: 'resolved' });
    const view = await world.stores.sessions.get('grade-1');
    expect(view.score).toEqual({
      score: 42,
      maxScore: 50,
      passed: true,
      sections: [{ name: 'OSPF', score: 42, maxScore: 50, checks: [{ name: 'adjacency', passed: true }] }],
      reportedAt: '2030-01-01T11:00:00.000Z',
    });
    expect(view.grading).toMatchObject({ status: 'COMPLETED', gradingSessionId: 'gs-1' });
    expect(world.engine.callsOf('sendTaskSuccess').find((c) => c.taskToken === token)?.output).toEqual({
      kind: 'GRADING',
      status: 'COMPLETED',
      score: 42,
      maxScore: 50,
      passed: true,
    });
    expect(await grading(busEvent(event), lambdaContext())).toMatchObject({ outcome: 'already-processed' });
  });

  it('failed → grading FAULTED and the GRADING wait failed (the workflow continues to teardown)', async () => {
    const token = await sessionAt(world, 'grade-2', 'GRADING', 'GRADING');
    const event = cloudEvent('io.lablet.grading.session.failed.v1', {
      gradingSessionId: 'gs-2',
      lcmSessionId: 'grade-2',
      error: 'device R1 unreachable',
    });
    expect(await grading(busEvent(event), lambdaContext())).toMatchObject({ outcome: 'resolved' });
    expect((await world.stores.sessions.get('grade-2')).grading).toMatchObject({
      status: 'FAULTED',
      error: 'device R1 unreachable',
    });
    expect(world.engine.callsOf('sendTaskFailure').find((c) => c.taskToken === token)).toMatchObject({
      error: 'GradingFailed',
      cause: 'device R1 unreachable',
    });
  });

  it('a result for a session not collecting or grading is stale', async () => {
    await sessionAt(world, 'grade-3', 'READY');
    const event = cloudEvent('io.lablet.grading.session.failed.v1', {
      gradingSessionId: 'gs-3',
      lcmSessionId: 'grade-3',
      error: 'x',
    });
    expect(
      await handleInboundEvent(world.deps, busEvent(event), ['io.lablet.grading.session.failed.v1']),
    ).toMatchObject({
      outcome: 'stale',
    });
    expect((await world.stores.sessions.get('grade-3')).grading).toBeUndefined();
  });
});
