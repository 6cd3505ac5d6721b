import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  freePort,
  isAlive,
  type LocalJson,
  type NpmStart,
  startedByTests,
  waitForHealthy,
  waitUntil,
  withTimeout,
} from './support.ts';

/**
 * Workflows that recover (issue 12, item 3), through `npm start` on persistent state: a session
 * READY and waiting for its learner, the stack killed with SIGKILL (its executions die with it),
 * `npm start` again on the same state directory. At startup the stuck-session sweep re-drives the
 * session (local.json `recovery`): it is READY again, waiting in a new execution with a fresh
 * token; a terminate is applied and everything it held is released.
 */

const started = startedByTests();
afterEach(() => started.cleanup());

interface Local extends LocalJson {
  recovery?: { checked: number; resumed: Array<{ sessionId: string; status: string; resumedAt: string }> };
}

interface SessionView {
  id: string;
  status: string;
  workerId?: string;
  executionArn?: string;
  failureReason?: string;
  pendingWait?: { kind: string; since: string };
  history: Array<{ from: string; to: string; by: string; reason?: string }>;
}

async function startPersistent(state: string, notPid?: number): Promise<{ run: NpmStart; local: Local }> {
  const spawnedAt = performance.now();
  const port = await freePort();
  const run = started.start({
    ...process.env,
    LCM_IN_MEMORY: '',
    LCM_PORT: String(port),
    LCM_STATE_DIR: state,
    LCM_SANDBOX_WORKERS: '1',
    LCM_SANDBOX_SCHEDULES: 'off',
  });
  let exited = false;
  void run.exited.then(() => {
    exited = true;
  });
  // (Not the startup budget of local-stack tests: what matters here is that it serves.)
  await waitForHealthy(`http://127.0.0.1:${port}`, 180_000, () => !exited).catch((e: Error) => {
    throw new Error(
      `${e.message} after ${Math.round(performance.now() - spawnedAt)} ms\n${run.output().slice(-3000)}`,
    );
  });
  const path = join(state, 'local.json');
  let local: Local | undefined;
  await waitUntil(
    `${path} of this run`,
    () => {
      if (!existsSync(path)) return false;
      const read = JSON.parse(readFileSync(path, 'utf8')) as Local;
      if (read.apiUrl !== `http://127.0.0.1:${port}` || read.pid === notPid) return false;
      local = read;
      return true;
    },
    60_000,
  );
  started.pid(local!.pid, local!.dynamodbPid);
  return { run, local: local! };
}

async function api<T>(
  local: Local,
  role: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${local.apiUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${local.tokens[role]}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function sessionUntil(local: Local, id: string, done: (s: SessionView) => boolean, what: string) {
  let last: SessionView | undefined;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    last = (await api<SessionView>(local, 'admin', `/v1/sessions/${id}`)).body;
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`session ${id} not ${what}: ${last?.status} ${JSON.stringify(last?.history.at(-1))}`);
}

describe('npm start after kill -9 on kept state', () => {
  it('re-drives a READY session at startup: READY again with a fresh wait; a terminate then releases everything', async () => {
    const state = started.tempDir('lcm-e2e-recover-');
    const first = await startPersistent(state);

    const now = Date.now();
    const booked = await api<SessionView>(first.local, 'portal', '/v1/sessions', {
      definitionId: 'demo-console-practice',
      reservationId: `res-${randomUUID()}`,
      owner: { userId: 'u-learner-1', username: 'learner', email: 'learner@example.com' },
      timeslot: { start: new Date(now).toISOString(), end: new Date(now + 15 * 60_000).toISOString() },
    });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    const id = booked.body.id;
    const ready = await sessionUntil(
      first.local,
      id,
      (s) => s.pendingWait?.kind === 'LOGIN',
      'waiting for login',
    );
    expect(ready.status).toBe('READY');

    // The whole stack, hard; its executions die with it (the JVM, in its own group, survives).
    process.kill(-first.run.child.pid!, 'SIGKILL');
    await withTimeout(first.run.exited, 20_000, 'the killed npm start to exit');
    await waitUntil('the stack process to be gone', () => !isAlive(first.local.pid), 10_000);

    const second = await startPersistent(state, first.local.pid);
    expect(second.local.recovery?.resumed).toContainEqual({
      sessionId: id,
      status: 'READY',
      resumedAt: 'LOGIN',
    });

    const resumed = await sessionUntil(
      second.local,
      id,
      (s) => s.pendingWait?.kind === 'LOGIN' && s.executionArn !== ready.executionArn,
      'waiting for login in a new execution',
    );
    expect(resumed.status).toBe('READY');
    expect(resumed.executionArn).toMatch(new RegExp(`:${id}-r1$`));
    expect(resumed.history.at(-1)).toMatchObject({
      from: 'READY',
      to: 'READY',
      by: 'sweep:stuck-sessions',
      reason: expect.stringMatching(/is NOT_FOUND; resumed at LOGIN/),
    });

    const terminated = await api<{ outcome: string }>(second.local, 'admin', `/v1/sessions/${id}/terminate`, {
      reason: 'recovery e2e',
    });
    expect(terminated.status).toBe(202);
    expect(terminated.body.outcome).toBe('requested');
    const done = await sessionUntil(second.local, id, (s) => s.status === 'TERMINATED', 'TERMINATED');
    expect(done.failureReason).toBe('TERMINATED');

    const worker = await api<{ allocatedCapacity: Record<string, number>; leasedPortCount: number }>(
      second.local,
      'admin',
      `/v1/workers/${ready.workerId}`,
    );
    expect(worker.status).toBe(200);
    expect(worker.body.allocatedCapacity).toEqual({ cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 });
    expect(worker.body.leasedPortCount).toBe(0);

    process.kill(second.local.pid, 'SIGTERM');
    await withTimeout(second.run.exited, 30_000, 'npm start to exit');
  }, 400_000);
});
