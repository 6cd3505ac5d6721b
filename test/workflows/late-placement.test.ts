import type { LabletSession } from '@lcm/shared/kernel';
import { DEFAULT_LIFECYCLE_CONFIG, SCHEDULE_CHECK_MAX_SECONDS, terminateSession } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';
import { REQUIREMENTS, sessionSuite, sleep, waitForStatus } from './harness.ts';

/**
 * Late placement (issue 10, item 1) on the real ASL, with the real Wait: a booked session holds
 * nothing until its placement window (timeslot start minus the placement lead) opens; until then
 * its workflow sleeps in one Wait; terminating it then ends it in seconds with nothing to release.
 * The harness keeps WaitBeforePlacementRetry's real duration here (other files shorten it).
 */

const suite = sessionSuite({ realWaits: ['WaitBeforePlacementRetry'] });
const { sessionDeps } = suite;

const LEAD = DEFAULT_LIFECYCLE_CONFIG.placementLeadSeconds;

async function start(startInSeconds: number): Promise<LabletSession> {
  return suite.start({ startInSeconds, seconds: 600 });
}

const allocatedCpu = async () =>
  (await suite.h.stores.workers.get(suite.h.worker.id)).allocatedCapacity.cpuCores;
const statesOf = (executionArn: string) =>
  suite.h.sfn.executions().find((e) => e.executionArn === executionArn)?.states ?? [];

describe('late placement', () => {
  it('a session two days ahead holds nothing and sleeps in one Wait; terminated, it is TERMINATED within seconds', async () => {
    const cpuBefore = await allocatedCpu();
    const session = await start(2 * 86_400);
    await sleep(1500);
    const waiting = await suite.h.stores.sessions.getSession(session.id);
    expect(waiting.status).toBe('PENDING');
    expect(waiting.workerId).toBeUndefined();
    expect(waiting.allocatedPorts ?? {}).toEqual({});
    expect(await allocatedCpu()).toBe(cpuBefore);
    // The recovery check, one PlaceSession that placed nothing, then the Wait: 5 states, no polling loop.
    expect(statesOf(session.executionArn!)).toEqual([
      'IsRecovery',
      'Init',
      'PlaceSession',
      'IsPlaced',
      'WaitBeforePlacementRetry',
    ]);

    const t0 = Date.now();
    const r = await terminateSession(sessionDeps(), session.id, { by: 'portal', reason: 'cancelled' });
    const done = await waitForStatus(suite.h, session.id, 'TERMINATED', 10_000);
    const seconds = (Date.now() - t0) / 1000;
    expect(r.session.status).toBe('TERMINATED');
    expect(done.workerId).toBeUndefined();
    expect(seconds).toBeLessThan(10);
    const execution = await suite.h.sfn.waitForExecution(session.executionArn!, 10_000);
    expect(execution.status).toBe('ABORTED');
    expect(await allocatedCpu()).toBe(cpuBefore);
    console.log(`late placement: cancelled a session booked 2 days ahead in ${seconds.toFixed(2)} s`);
  });

  it('is placed when its window opens, not before; terminated once placed, its capacity is free within the check interval', async () => {
    const cpuBefore = await allocatedCpu();
    // The window opens 4 s from now (timeslot start minus the default 900 s placement lead).
    const session = await start(LEAD + 4);
    await sleep(1500);
    expect((await suite.h.stores.sessions.getSession(session.id)).workerId).toBeUndefined();
    expect(await allocatedCpu()).toBe(cpuBefore);
    const placed = await waitForStatus(suite.h, session.id, 'SCHEDULED', 20_000);
    const opensAt = Date.parse(session.timeslot.start) - LEAD * 1000;
    const { history } = await suite.h.stores.sessions.get(session.id);
    const scheduledAt = Date.parse(history.find((e) => e.to === 'SCHEDULED')!.at);
    expect(scheduledAt).toBeGreaterThanOrEqual(opensAt - 1000);
    expect(placed.workerId).toBe(suite.h.worker.id);
    expect(await allocatedCpu()).toBe(cpuBefore + REQUIREMENTS.cpuCores);
    expect(statesOf(session.executionArn!).filter((s) => s === 'PlaceSession')).toHaveLength(2);

    const t0 = Date.now();
    const r = await terminateSession(sessionDeps(), session.id, { by: 'portal', reason: 'cancelled' });
    expect(r.outcome).toBe('requested');
    await waitForStatus(suite.h, session.id, 'TERMINATED', (SCHEDULE_CHECK_MAX_SECONDS + 15) * 1000);
    const seconds = (Date.now() - t0) / 1000;
    expect(await allocatedCpu()).toBe(cpuBefore);
    expect(await suite.h.stores.leases.listByWorker(suite.h.worker.id)).toEqual([]);
    console.log(
      `late placement: a placed SCHEDULED session cancelled and released in ${seconds.toFixed(1)} s`,
    );
  });
});
