import { outboxEventsFor } from '@lcm/shared/events';
import { IDLE_FINISH_ACTOR, IDLE_FINISH_SOURCE, sweepIdleSessions } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';
import { ldsSessionOf, sessionSuite, waitForPendingWait, waitForStatus } from './harness.ts';

/**
 * Idle auto-finish (issue 15, item 2) on the real session ASL, DynamoDB Local and the LDS
 * simulator over HTTP: the learner pauses (LDS `paused`), the idle sweep — the production
 * function, run with a clock moved past the limit rather than waiting real minutes — warns, then
 * finishes the session; it is collected, graded and torn down as a learner's own finish would be.
 * A learner who comes back (LDS `running`) cancels the warning.
 */

const suite = sessionSuite();
const POLICY = { limitMinutes: 10, graceMinutes: 5 };
const MINUTE = 60_000;

const sweepAt = (at: number) =>
  sweepIdleSessions({
    sessions: suite.h.stores.sessions,
    finish: (id, ctx) => suite.finish(id, ctx),
    clock: () => new Date(at),
  });

describe('idle auto-finish', () => {
  it('paused past the limit → warned (session.idle-warning) → finished after the grace, graded as a finish', async () => {
    const h = suite.h;
    const session = await suite.start({ seconds: 3600, idlePolicy: POLICY });
    await waitForPendingWait(h, session.id, 'LOGIN');
    const lds = await ldsSessionOf(h, session.id);
    await h.lds.login(lds);
    await waitForPendingWait(h, session.id, 'END');
    await h.lds.pause(lds);
    const paused = await h.stores.sessions.getSession(session.id);
    expect(paused.pausedAt).toBeDefined();
    const pausedAt = Date.parse(paused.pausedAt!);

    // Before the limit: nothing.
    expect((await sweepAt(pausedAt + 9 * MINUTE)).warned).not.toContain(session.id);
    // Past the limit: warned once, with the event the portal shows.
    const warn = await sweepAt(pausedAt + 10 * MINUTE);
    expect(warn.warned).toContain(session.id);
    const warned = await h.stores.sessions.getSession(session.id);
    expect(warned.status).toBe('RUNNING');
    expect(warned.idleWarnedAt).toBe(new Date(pausedAt + 10 * MINUTE).toISOString());
    const events = outboxEventsFor({
      eventName: 'MODIFY',
      oldImage: { ...paused, entity: 'LabletSession' },
      newImage: { ...warned, entity: 'LabletSession' },
    } as never);
    const warning = events.find((e) => e.type === 'io.lablet.lcm.session.idle-warning.v1');
    expect(warning?.data).toMatchObject({
      sessionId: session.id,
      pausedAt: paused.pausedAt,
      warnedAt: warned.idleWarnedAt,
      finishAt: new Date(pausedAt + 15 * MINUTE).toISOString(),
    });
    // Within the grace: not finished; a second run does not warn again.
    const again = await sweepAt(pausedAt + 14 * MINUTE);
    expect(again.warned).not.toContain(session.id);
    expect(again.finished).not.toContain(session.id);

    // Past the grace: finished by LCM, then collected, graded and torn down.
    const fin = await sweepAt(pausedAt + 15 * MINUTE);
    expect(fin.finished).toContain(session.id);
    await suite.finished(session.executionArn!);
    const done = await waitForStatus(h, session.id, 'TERMINATED');
    expect(done.failureReason).toBeUndefined();
    const aggregate = await h.stores.sessions.get(session.id);
    expect(aggregate.score).toBeDefined();
    const collecting = aggregate.history.find((e) => e.to === 'COLLECTING');
    expect(collecting?.by).toBe(`${IDLE_FINISH_SOURCE}:${IDLE_FINISH_ACTOR}`);
    expect(collecting?.reason).toMatch(/^idle: paused since/);
  });

  it('a learner who comes back cancels the warning; without a policy nothing happens', async () => {
    const h = suite.h;
    const idle = await suite.start({ seconds: 3600, idlePolicy: POLICY });
    const plain = await suite.start({ seconds: 3600 });
    for (const s of [idle, plain]) {
      await waitForPendingWait(h, s.id, 'LOGIN');
      await h.lds.login(await ldsSessionOf(h, s.id));
      await waitForPendingWait(h, s.id, 'END');
      await h.lds.pause(await ldsSessionOf(h, s.id));
    }
    const pausedAt = Date.parse((await h.stores.sessions.getSession(idle.id)).pausedAt!);
    const warn = await sweepAt(pausedAt + 11 * MINUTE);
    expect(warn.warned).toContain(idle.id);
    expect(warn.warned).not.toContain(plain.id);

    await h.lds.login(await ldsSessionOf(h, idle.id));
    const back = await h.stores.sessions.getSession(idle.id);
    expect(back.pausedAt).toBeUndefined();
    expect(back.idleWarnedAt).toBeUndefined();
    const later = await sweepAt(pausedAt + 60 * MINUTE);
    expect(later.finished).not.toContain(idle.id);
    expect(later.finished).not.toContain(plain.id);
    expect((await h.stores.sessions.getSession(idle.id)).status).toBe('RUNNING');

    // Paused again: counted afresh from the new pause.
    await h.lds.pause(await ldsSessionOf(h, idle.id));
    const again = await h.stores.sessions.getSession(idle.id);
    expect(Date.parse(again.pausedAt!)).toBeGreaterThanOrEqual(pausedAt);
    for (const s of [idle, plain]) await suite.finish(s.id, { by: 'u-learner' });
    for (const s of [idle, plain]) await suite.finished(s.executionArn!);
  });
});
