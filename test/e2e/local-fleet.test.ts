import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  dynamodbLocalPidsOf,
  freePort,
  isAlive,
  type NpmStart,
  npmStart,
  readLocalJson,
  waitForHealthy,
  waitUntil,
  withTimeout,
} from './support.ts';

/**
 * The fleet of `npm start`: with no seeded worker, a booked session waits; the scale-up timer
 * (functions/schedules/scale-up.ts) decides to launch, the worker-provisioning workflow runs on
 * the local Step Functions endpoint against the sandbox EC2 (an instance whose own CML simulator
 * boots), the worker becomes RUNNING and the waiting session is placed on it and runs through —
 * here with the LDS simulator logging in and ending by itself.
 */

interface LocalJson {
  apiUrl: string;
  pid: number;
  dynamodbPid: number;
  tokens: Record<string, string>;
}

interface Json {
  [key: string]: unknown;
}

const stateDir = mkdtempSync(join(tmpdir(), 'lcm-fleet-e2e-'));
const runs: NpmStart[] = [];
const javaPids: number[] = [];

afterAll(() => {
  for (const run of runs.splice(0)) run.killGroup();
  for (const pid of [...javaPids.splice(0), ...dynamodbLocalPidsOf(stateDir)]) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(stateDir, { recursive: true, force: true });
});

describe('npm start: the fleet scales up for a booking and drains when idle', () => {
  it('launches a sandbox worker through the provisioning workflow, runs the waiting session on it, then drains it', async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('LCM_') && !k.startsWith('AWS_') && !k.startsWith('POWERTOOLS_')) env[k] = v;
    }
    const port = await freePort();
    const run = npmStart({
      ...env,
      LCM_PORT: String(port),
      LCM_STATE_DIR: stateDir,
      LCM_IN_MEMORY: '1',
      LCM_SANDBOX_WORKERS: '0',
      LCM_SCALE_INTERVAL_SECONDS: '2',
      LCM_SANDBOX_LDS_AUTOLOGIN_SECONDS: '1',
      LCM_SANDBOX_LDS_AUTOEND_SECONDS: '1',
      LCM_SCALE_DOWN_IDLE_SECONDS: '3',
      LCM_SCALING_POST_LAUNCH_GRACE_SECONDS: '0',
      // The seeded hot-start pool (demo-pooled) would hold labs on the launched worker, which then
      // never empties: this test is about one session's demand (pools: test/e2e/pools.test.ts).
      LCM_POOL_INTERVAL_SECONDS: '0',
    });
    runs.push(run);
    let exited = false;
    void run.exited.then(() => {
      exited = true;
    });
    await waitForHealthy(`http://127.0.0.1:${port}`, 30_000, () => !exited).catch((e: Error) => {
      throw new Error(`${e.message}\n--- npm start output ---\n${run.output().slice(-5000)}`);
    });
    const local = await readLocalJson<LocalJson>(stateDir);
    javaPids.push(local.dynamodbPid);
    const get = async (role: string, path: string) => {
      const res = await fetch(`${local.apiUrl}${path}`, {
        headers: { authorization: `Bearer ${local.tokens[role]}` },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as Json;
    };

    expect((await get('admin', '/v1/workers')).items).toEqual([]);
    const now = Date.now();
    const created = await fetch(`${local.apiUrl}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${local.tokens.portal}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        definitionId: 'demo-console-practice',
        reservationId: 'res-fleet-1',
        owner: { userId: 'u-fleet' },
        timeslot: { start: new Date(now).toISOString(), end: new Date(now + 10 * 60_000).toISOString() },
      }),
    });
    expect(created.status).toBe(201);
    const sessionId = ((await created.json()) as Json).id as string;

    let session: Json = {};
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      session = await get('portal', `/v1/sessions/${sessionId}`);
      if (session.status === 'TERMINATED') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const history = (session.history as Array<{ to: string }>).map((h) => h.to);
    expect(session.status, `session history: ${history.join(' ')}`).toBe('TERMINATED');
    expect(history).toEqual(expect.arrayContaining(['SCHEDULED', 'READY', 'RUNNING', 'TERMINATED']));

    // The worker the scaler launched, provisioned by the workflow, carried the session.
    const workers = (await get('admin', '/v1/workers')).items as Json[];
    expect(workers).toHaveLength(1);
    const worker = workers[0]!;
    expect(session.workerId).toBe(worker.id);
    expect(worker).toMatchObject({ status: 'RUNNING', templateName: 'sandbox-cml' });
    expect((worker.stateHistory as Array<{ to: string; by: string }>).map((h) => [h.to, h.by])).toEqual([
      ['PROVISIONING', 'worker-provisioning'],
      ['STARTING', 'worker-provisioning'],
      ['RUNNING', 'worker-provisioning'],
    ]);
    const info = await fetch(`${worker.cmlBaseUrl}/system_information`);
    expect(await info.json()).toMatchObject({ ready: true });
    const decisions = (await get('admin', '/v1/fleet/scaling')).items as Json[];
    expect(decisions.map((d) => d.kind)).toContain('SCALE_UP');

    // Idle past LCM_SCALE_DOWN_IDLE_SECONDS with nothing booked: the scale-down planner drains it
    // and the drain workflow retires it (no warm pool by default: terminated).
    let drained: Json = worker;
    const drainDeadline = Date.now() + 90_000;
    while (Date.now() < drainDeadline) {
      drained = await get('admin', `/v1/workers/${worker.id}`);
      if (drained.status === 'TERMINATED' || drained.status === 'STOPPED') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const drainedPath = (drained.stateHistory as Array<{ to: string }>).map((h) => h.to);
    expect(['TERMINATED', 'STOPPED'], `worker history: ${drainedPath.join(' ')}`).toContain(drained.status);
    expect(drainedPath).toContain('DRAINING');
    const after = (await get('admin', '/v1/fleet/scaling')).items as Json[];
    expect(after.map((d) => d.kind)).toContain('DRAIN');

    process.kill(local.pid, 'SIGTERM');
    expect(await withTimeout(run.exited, 30_000, 'npm start to exit')).toEqual({ code: 0, signal: null });
    await waitUntil('DynamoDB Local to exit', () => !isAlive(local.dynamodbPid, 'DynamoDBLocal'), 30_000);
  }, 300_000);
});
