import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DATA_DIR_LOCK_FILE } from '@lcm/sandbox/dynamodb-lock';
import { createDocumentClient } from '@lcm/shared/platform';
import { afterEach, describe, expect, it } from 'vitest';
import {
  dynamodbLocalPidsOf,
  freePort,
  isAlive,
  type LocalJson,
  type NpmStart,
  startedByTests,
  waitUntil,
  waitUntilServing,
  withTimeout,
} from './support.ts';

/**
 * `npm start` on a persistent state directory owns its DynamoDB data directory
 * (`<state>/dynamodb/lcm-dynamodb.json`): a second start while it runs is refused, and the JVM a
 * stack killed with SIGKILL left behind is stopped by the next start, which serves the same data.
 */

const started = startedByTests();
afterEach(() => started.cleanup());

interface LockRecord {
  dataDir: string;
  owner: { pid: number; startTime: string };
  dynamodb?: { pid: number; port: number; startTime: string; command: string };
}

const stateDir = () => started.tempDir('lcm-e2e-lock-');
const lockPath = (state: string) => join(state, 'dynamodb', DATA_DIR_LOCK_FILE);

const launch = (state: string, port: number): NpmStart =>
  started.start({ ...process.env, LCM_IN_MEMORY: '', LCM_PORT: String(port), LCM_STATE_DIR: state });

/** Starts a persistent stack and waits until it serves and has written a local.json of its own. */
async function startPersistent(state: string, notPid?: number): Promise<{ run: NpmStart; local: LocalJson }> {
  const spawnedAt = performance.now();
  const port = await freePort();
  const run = launch(state, port);
  await waitUntilServing(run, `http://127.0.0.1:${port}`, spawnedAt);

  const path = join(state, 'local.json');
  let local: LocalJson | undefined;
  await waitUntil(
    `${path} of this run`,
    () => {
      if (!existsSync(path)) return false;
      const read = JSON.parse(readFileSync(path, 'utf8')) as LocalJson;
      if (read.apiUrl !== `http://127.0.0.1:${port}` || read.pid === notPid) return false;
      local = read;
      return true;
    },
    10_000,
  );
  started.pid(local!.pid, local!.dynamodbPid);
  return { run, local: local! };
}

const dbPort = (local: LocalJson) => Number(new URL(local.dynamodbEndpoint).port);

async function healthy(local: LocalJson): Promise<boolean> {
  const res = await fetch(`${local.apiUrl}/v1/health`, { signal: AbortSignal.timeout(5000) });
  return res.status === 200;
}

/** SIGTERM to the stack's process, as Ctrl-C would: it must exit 0 and remove its record. */
async function stopCleanly(run: NpmStart, local: LocalJson, state: string): Promise<void> {
  process.kill(local.pid, 'SIGTERM');
  expect(await withTimeout(run.exited, 20_000, 'npm start to exit')).toEqual({ code: 0, signal: null });
  await waitUntil('DynamoDB Local to exit', () => !isAlive(local.dynamodbPid), 10_000);
  expect(existsSync(lockPath(state))).toBe(false);
}

/** A pid that was just used and is gone now. */
function deadPid(): number {
  const done = spawnSync('true');
  expect(done.pid).toBeGreaterThan(0);
  expect(isAlive(done.pid)).toBe(false);
  return done.pid;
}

describe('npm start on a persistent state directory', () => {
  it('refuses a second start on the same directory while the first runs; the first keeps serving', async () => {
    const state = stateDir();
    const first = await startPersistent(state);
    const dataDir = join(state, 'dynamodb');

    // The record names the stack, its JVM and the JVM's port.
    const record = JSON.parse(readFileSync(lockPath(state), 'utf8')) as LockRecord;
    expect(record).toMatchObject({
      dataDir,
      owner: { pid: first.local.pid },
      dynamodb: { pid: first.local.dynamodbPid, port: dbPort(first.local) },
    });
    expect(record.dynamodb?.command).toContain(`-dbPath ${dataDir}`);

    const second = launch(state, await freePort());
    const exit = await withTimeout(second.exited, 30_000, 'the second npm start to fail');
    expect(exit.code).not.toBe(0);
    const lines = second
      .output()
      .split('\n')
      .filter((l) => l.startsWith('lcm:'));
    expect(lines).toEqual([
      `lcm: cannot start: DynamoDB Local: ${dataDir} is in use by the local stack pid ${first.local.pid} ` +
        `(DynamoDB Local pid ${first.local.dynamodbPid}, port ${dbPort(first.local)}); stop it first or use ` +
        'another state directory (LCM_STATE_DIR)',
    ]);

    // No second JVM, the record is untouched, and the first stack still serves.
    expect(dynamodbLocalPidsOf(state)).toEqual([first.local.dynamodbPid]);
    expect(JSON.parse(readFileSync(lockPath(state), 'utf8'))).toEqual(record);
    expect(await healthy(first.local)).toBe(true);
    const workers = await fetch(`${first.local.apiUrl}/v1/workers`, {
      headers: { authorization: `Bearer ${first.local.tokens.viewer}` },
    });
    expect(workers.status).toBe(200);

    await stopCleanly(first.run, first.local, state);
  });

  it('after kill -9 of the stack, the next start stops the orphan JVM and serves the same data', async () => {
    const state = stateDir();
    const first = await startPersistent(state);
    const dataDir = join(state, 'dynamodb');

    const key = { PK: 'E2E#lock', SK: 'PROBE' };
    const value = `written-before-kill-${Date.now()}`;
    const before = createDocumentClient({ endpoint: first.local.dynamodbEndpoint });
    try {
      await before.send(new PutCommand({ TableName: first.local.tableName, Item: { ...key, value } }));
    } finally {
      before.destroy();
    }

    // SIGKILL the stack's node process only: its JVM, in its own process group, survives.
    process.kill(first.local.pid, 'SIGKILL');
    await withTimeout(first.run.exited, 20_000, 'the killed npm start to exit');
    await waitUntil('the stack process to be gone', () => !isAlive(first.local.pid), 10_000);
    expect(isAlive(first.local.dynamodbPid, 'DynamoDBLocal')).toBe(true);

    const second = await startPersistent(state, first.local.pid);
    expect(isAlive(first.local.dynamodbPid)).toBe(false);
    expect(second.local.dynamodbPid).not.toBe(first.local.dynamodbPid);
    expect(dynamodbLocalPidsOf(state)).toEqual([second.local.dynamodbPid]);
    const said = second.run
      .output()
      .split('\n')
      .filter((l) => l.includes('orphan'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(
      new RegExp(
        `^DynamoDB Local: stopped the orphan DynamoDB Local pid ${first.local.dynamodbPid} ` +
          `\\(port ${dbPort(first.local)}, SIG(TERM|KILL)\\) that local stack pid ${first.local.pid}, now gone, ` +
          `left on ${dataDir.replaceAll('.', '\\.')}$`,
      ),
    );
    const record = JSON.parse(readFileSync(lockPath(state), 'utf8')) as LockRecord;
    expect(record).toMatchObject({
      owner: { pid: second.local.pid },
      dynamodb: { pid: second.local.dynamodbPid },
    });

    // The item written before the kill is served by the new JVM from the same data directory.
    const after = createDocumentClient({ endpoint: second.local.dynamodbEndpoint });
    try {
      const got = await after.send(new GetCommand({ TableName: second.local.tableName, Key: key }));
      expect(got.Item).toEqual({ ...key, value });
    } finally {
      after.destroy();
    }
    expect(await healthy(second.local)).toBe(true);

    await stopCleanly(second.run, second.local, state);
  });

  it('replaces a stale record whose processes are all gone', async () => {
    const state = stateDir();
    mkdirSync(join(state, 'dynamodb'), { recursive: true });
    const stale = {
      id: 'stale',
      dataDir: join(state, 'dynamodb'),
      owner: { pid: deadPid(), startTime: '1', command: 'node main.ts' },
      dynamodb: { pid: deadPid(), port: 1, startTime: '1', command: 'java -jar DynamoDBLocal.jar' },
      startedAt: '2026-01-01T00:00:00.000Z',
    };
    writeFileSync(lockPath(state), JSON.stringify(stale));

    const { run, local } = await startPersistent(state);
    expect(run.output()).not.toContain('orphan');
    const record = JSON.parse(readFileSync(lockPath(state), 'utf8')) as LockRecord;
    expect(record).toMatchObject({
      owner: { pid: local.pid },
      dynamodb: { pid: local.dynamodbPid, port: dbPort(local) },
    });
    expect(record.owner.startTime).not.toBe('1');

    await stopCleanly(run, local, state);
  });
});
