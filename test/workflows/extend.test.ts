import { extendSession } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';
import {
  DEF_UNGRADED,
  ldsSessionOf,
  sessionSuite,
  sleep,
  waitForPendingWait,
  waitForStatus,
} from './harness.ts';

/**
 * Time extension (issue 15, item 1) on the real session ASL, DynamoDB Local and the simulators:
 * a RUNNING session with a short slot is extended by a minute; its workflow does not end at the
 * old end (the END wait times out there, CheckEndTimeslot finds the later end and waits again),
 * and ends at the new one (TIMESLOT_END), not before.
 */

const suite = sessionSuite();
const DEF_EXTENDABLE = 'ospf-extendable';

describe('time extension', () => {
  it('a RUNNING session extended by a minute ends at the new end, not the old one', async () => {
    const h = suite.h;
    // A definition like the practice one that allows extensions, and the template the book packs on.
    const practice = await h.stores.definitions.getLatest(DEF_UNGRADED);
    const { id: _id, version: _v, createdAt: _c, status: _s, ...fields } = practice;
    await h.stores.definitions.create({
      ...fields,
      id: DEF_EXTENDABLE,
      status: 'ACTIVE',
      maxExtensionMinutes: 30,
      createdBy: 'test',
    });
    await h.stores.templates.create({
      name: 'm5-metal',
      instanceType: 'm5zn.metal',
      capacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
      amiId: 'ami-0123456789abcdef0',
      costPerHourUsd: 3.96,
      licenseType: 'ENTERPRISE',
    });

    const session = await suite.start({ definitionId: DEF_EXTENDABLE, seconds: 10 });
    await waitForPendingWait(h, session.id, 'LOGIN');
    await h.lds.login(await ldsSessionOf(h, session.id));
    await waitForPendingWait(h, session.id, 'END');
    const oldEnd = Date.parse(session.timeslot.end);

    const granted = await extendSession(
      { ...suite.sessionDeps(), templates: h.stores.templates },
      session.id,
      { minutes: 1, reason: 'one more exercise' },
      { by: 'u-learner' },
    );
    const newEnd = Date.parse(granted.session.timeslot.end);
    expect(newEnd - oldEnd).toBe(60_000);

    // Past the old end (and the END wait's timeout): still RUNNING, waiting for END again.
    await sleep(Math.max(0, oldEnd - Date.now()) + 5_000);
    const mid = await h.stores.sessions.getSession(session.id);
    expect(mid.status).toBe('RUNNING');
    expect(mid.pendingWait?.kind).toBe('END');
    const execution = h.sfn.executions().find((e) => e.name === session.id)!;
    expect(execution.states).toContain('CheckEndTimeslot');
    expect(execution.states.filter((s) => s === 'AwaitEnd').length).toBeGreaterThanOrEqual(2);
    expect(execution.states).not.toContain('TimeslotEnded');

    // At the new end: the slot is over (TIMESLOT_END), collected and torn down.
    await waitForStatus(h, session.id, 'TERMINATED', 90_000);
    await suite.finished(session.executionArn!);
    const aggregate = await h.stores.sessions.get(session.id);
    const extended = aggregate.history.find((e) => e.from === 'RUNNING' && e.to === 'RUNNING');
    expect(extended).toMatchObject({ by: 'u-learner' });
    expect(extended?.reason).toContain('one more exercise');
    const collecting = aggregate.history.find((e) => e.to === 'COLLECTING');
    expect(collecting?.reason).toBe('the timeslot ended');
    expect(Date.parse(collecting!.at)).toBeGreaterThanOrEqual(newEnd);
    expect(aggregate.session.failureReason).toBeUndefined();
  });
});
