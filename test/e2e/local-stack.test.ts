import { existsSync, mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  freePort,
  isAlive,
  type LocalJson,
  type NpmStart,
  readLocalJson,
  STARTUP_BUDGET_MS,
  startedByTests,
  waitUntil,
  waitUntilServing,
  withTimeout,
} from './support.ts';

/**
 * `npm start` as a developer runs it: a child process on a free port with a throwaway
 * DynamoDB, driven over real HTTP, then stopped by signal. Nothing it started may survive.
 */

const started = startedByTests();
// Whatever a failed test left behind goes, hard.
afterEach(() => started.cleanup());

/** The real file behind a command on PATH. */
function onPath(command: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return realpathSync(candidate);
  }
  throw new Error(`${command} is not on PATH`);
}

const tempDir = (prefix: string) => started.tempDir(prefix);

async function startAndWait(stateDir: string, port: number): Promise<{ run: NpmStart; local: LocalJson }> {
  const spawnedAt = performance.now();
  const run = started.start({
    ...process.env,
    LCM_IN_MEMORY: '1',
    LCM_PORT: String(port),
    LCM_STATE_DIR: stateDir,
  });
  const health = await waitUntilServing(run, `http://127.0.0.1:${port}`, spawnedAt);
  expect(health.startupMs).toBeLessThan(STARTUP_BUDGET_MS);
  expect(health.body).toEqual({ status: 'ok' });

  const local = await readLocalJson<LocalJson>(stateDir);
  started.pid(local.dynamodbPid);
  return { run, local };
}

describe('npm start', () => {
  it('serves the API over HTTP and stops everything on SIGTERM with exit code 0', async () => {
    const stateDir = tempDir('lcm-e2e-');
    const port = await freePort();
    const { run, local } = await startAndWait(stateDir, port);

    // local.json says where everything is.
    expect(local).toMatchObject({ apiUrl: `http://127.0.0.1:${port}`, tableName: 'lcm-local' });
    expect(local.dynamodbEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(isAlive(local.dynamodbPid, 'DynamoDBLocal')).toBe(true);
    expect(isAlive(local.pid)).toBe(true);
    // The API answers while the seed finishes; the ready line follows once everything runs.
    const ready = `LCM local stack ready at http://127.0.0.1:${port}`;
    await waitUntil('the ready line', () => run.stdout().includes(ready), STARTUP_BUDGET_MS);

    // One bearer token per role, printed and in local.json; protected routes need one.
    expect(Object.keys(local.tokens)).toEqual(['admin', 'operator', 'portal', 'viewer']);
    for (const [role, token] of Object.entries(local.tokens)) {
      expect(run.stdout()).toMatch(new RegExp(`^  ${role} +${token.replaceAll('.', '\\.')}$`, 'm'));
    }
    expect((await fetch(`${local.apiUrl}/v1/workers`)).status).toBe(401);
    const listed = await fetch(`${local.apiUrl}/v1/workers`, {
      headers: { authorization: `Bearer ${local.tokens.viewer}` },
    });
    expect(listed.status).toBe(200);
    // The demo fleet npm start seeds (LCM_SANDBOX_WORKERS, default 2).
    const { items } = (await listed.json()) as { items: Array<{ id: string; status: string }> };
    expect(items.map((w) => [w.id, w.status])).toEqual([
      ['sandbox-worker-1', 'RUNNING'],
      ['sandbox-worker-2', 'RUNNING'],
    ]);

    // An unknown route is a problem+json 404; a known path with the wrong method a 405.
    const notFound = await fetch(`${local.apiUrl}/v1/no-such-thing`);
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('content-type')).toBe('application/problem+json');
    expect(await notFound.json()).toMatchObject({
      status: 404,
      title: 'Not Found',
      instance: '/v1/no-such-thing',
    });

    const wrongMethod = await fetch(`${local.apiUrl}/v1/health`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
    expect(wrongMethod.headers.get('content-type')).toBe('application/problem+json');

    // SIGTERM to the stack's process: it stops what it started and exits 0, which npm passes on.
    process.kill(local.pid, 'SIGTERM');
    const exit = await withTimeout(run.exited, 20_000, 'npm start to exit');
    expect(exit).toEqual({ code: 0, signal: null });
    await waitUntil('DynamoDB Local to exit', () => !isAlive(local.dynamodbPid), 10_000);
    expect(isAlive(local.pid)).toBe(false);
    expect(existsSync(join(stateDir, 'local.json'))).toBe(false);
    await expect(fetch(`${local.apiUrl}/v1/health`)).rejects.toThrow();
  });

  it('Ctrl-C (SIGINT to the process group) leaves nothing running', async () => {
    const stateDir = tempDir('lcm-e2e-');
    const { run, local } = await startAndWait(stateDir, await freePort());

    process.kill(-run.child.pid!, 'SIGINT');
    await withTimeout(run.exited, 20_000, 'npm start to exit');
    await waitUntil('the stack process to exit', () => !isAlive(local.pid), 10_000);
    await waitUntil('DynamoDB Local to exit', () => !isAlive(local.dynamodbPid), 10_000);
    expect(run.output()).toContain('lcm: SIGINT, stopping');
  });

  it('a taken port is one clear line and a non-zero exit, with nothing started', async () => {
    const blocker: Server = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const stateDir = tempDir('lcm-e2e-');
      const run = started.start({
        ...process.env,
        LCM_IN_MEMORY: '1',
        LCM_PORT: String(port),
        LCM_STATE_DIR: stateDir,
      });
      const exit = await withTimeout(run.exited, 30_000, 'npm start to fail');
      expect(exit.code).not.toBe(0);
      const lines = run
        .output()
        .split('\n')
        .filter((l) => l.startsWith('lcm:'));
      expect(lines).toEqual([
        `lcm: cannot start: HTTP API: port ${port} is already in use; set LCM_PORT to a free port`,
      ]);
      expect(existsSync(join(stateDir, 'local.json'))).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('without Java it says so in one line and exits non-zero', async () => {
    // A PATH with node and npm but no java.
    const bin = tempDir('lcm-e2e-bin-');
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(onPath('npm'), join(bin, 'npm'));
    symlinkSync('/bin/sh', join(bin, 'sh')); // npm runs scripts with sh

    const stateDir = tempDir('lcm-e2e-');
    const run = started.start(
      {
        ...process.env,
        PATH: bin,
        LCM_IN_MEMORY: '1',
        LCM_PORT: String(await freePort()),
        LCM_STATE_DIR: stateDir,
      },
      join(bin, 'npm'),
    );
    const exit = await withTimeout(run.exited, 30_000, 'npm start to fail');
    expect(exit.code).not.toBe(0);
    const lines = run
      .output()
      .split('\n')
      .filter((l) => l.startsWith('lcm:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lcm: cannot start: DynamoDB Local needs Java/);
    expect(existsSync(join(stateDir, 'local.json'))).toBe(false);
  });
});
