import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Alive and not a zombie; optionally its command line must contain `marker`. */
export function isAlive(pid: number, marker?: string): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    const state = readFileSync(stat, 'utf8').split(') ')[1]?.[0];
    if (state === 'Z' || state === 'X') return false;
    if (marker) return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
    return true;
  } catch {
    return false; // exited between the checks
  }
}

export async function waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls GET <apiUrl>/v1/health until it answers 200; returns the reply and how long it took. */
export async function waitForHealthy(
  apiUrl: string,
  timeoutMs: number,
  stillRunning: () => boolean = () => true,
): Promise<{ body: Record<string, unknown>; elapsedMs: number }> {
  const started = performance.now();
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!stillRunning()) throw new Error(`the stack exited before it was healthy (last: ${last})`);
    try {
      const res = await fetch(`${apiUrl}/v1/health`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) {
        return {
          body: (await res.json()) as Record<string, unknown>,
          elapsedMs: performance.now() - started,
        };
      }
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not healthy within ${timeoutMs} ms (last: ${last})`);
}

export interface NpmStart {
  child: ChildProcess;
  output(): string;
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills the whole process group (npm, sh, tsx, node) hard; for cleanup. */
  killGroup(): void;
}

/** `npm start` in its own process group, as a terminal runs it. */
export function npmStart(env: NodeJS.ProcessEnv, npm = 'npm'): NpmStart {
  const child = spawn(npm, ['start'], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let all = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
    all += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    all += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    output: () => all,
    stdout: () => stdout,
    exited,
    killGroup: () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

export const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms).unref(),
    ),
  ]);

/**
 * `<stateDir>/local.json` once the stack has written it: the API may answer a moment before
 * (local.json is written when the last service, the API, has started and its tokens are issued).
 */
export async function readLocalJson<T>(stateDir: string, timeoutMs = 10_000): Promise<T> {
  const path = join(stateDir, 'local.json');
  await waitUntil(`${path} to be written`, () => existsSync(path), timeoutMs);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/**
 * Pids of the DynamoDB Local processes of the stack of `stateDir`: keeping their data under it
 * (their command line names it) or in memory (their environment, inherited from the stack, names
 * it): what a run that died before writing local.json may have left behind.
 */
export function dynamodbLocalPidsOf(stateDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes('DynamoDBLocal')) continue;
      // Its data in the state dir, or (LCM_IN_MEMORY, `-inMemory`) spawned by the stack of that
      // state dir: the JVM inherits the stack's environment.
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (cmdline.includes(join(stateDir, 'dynamodb')) || environ.includes(`LCM_STATE_DIR=${stateDir}`))
        pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** The parts of `<stateDir>/local.json` the e2e tests read. */
export interface LocalJson {
  apiUrl: string;
  tableName: string;
  dynamodbEndpoint: string;
  dynamodbPid: number;
  pid: number;
  tokens: Record<string, string>;
}

/** The startup budget of `npm start`: spawn to GET /v1/health 200. */
export const STARTUP_BUDGET_MS = 30_000;

/**
 * The test process's environment without what configures a stack (LCM_*, AWS_*, POWERTOOLS_*,
 * EVIDENCE_*): a developer's own overrides, or what an in-process stack of an earlier test file set,
 * must not reach the `npm start` a test spawns.
 */
export function stackFreeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(LCM_|AWS_|POWERTOOLS_|EVIDENCE_)/.test(k)) env[k] = v;
  }
  return env;
}

/**
 * What a test file starts, for its afterEach to take down hard whatever the test's outcome: the
 * `npm start` process groups, the pids named (the JVMs run in their own groups), every DynamoDB
 * Local keeping its data in a temp dir (a run that died before writing local.json), the temp dirs.
 */
export function startedByTests() {
  const runs: NpmStart[] = [];
  const pids: number[] = [];
  const dirs: string[] = [];
  return {
    start(env: NodeJS.ProcessEnv, npm?: string): NpmStart {
      const run = npmStart(env, npm);
      runs.push(run);
      return run;
    },
    pid(...more: number[]): void {
      pids.push(...more);
    },
    tempDir(prefix: string): string {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    cleanup(): void {
      for (const run of runs.splice(0)) run.killGroup();
      const gone = dirs.splice(0);
      for (const pid of [...pids.splice(0), ...gone.flatMap(dynamodbLocalPidsOf)]) {
        if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      }
      for (const dir of gone) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until `run` answers GET /v1/health 200 on `apiUrl`, failing with its output when it exits
 * first or takes longer than the budget; returns the health body and the time since `spawnedAt`.
 */
export async function waitUntilServing(
  run: NpmStart,
  apiUrl: string,
  spawnedAt: number,
): Promise<{ body: Record<string, unknown>; startupMs: number }> {
  let exited = false;
  void run.exited.then(() => {
    exited = true;
  });
  const health = await waitForHealthy(apiUrl, STARTUP_BUDGET_MS, () => !exited).catch((e: Error) => {
    throw new Error(`${e.message}\n--- npm start output ---\n${run.output()}`);
  });
  const startupMs = performance.now() - spawnedAt;
  console.log(`npm start: GET /v1/health 200 after ${Math.round(startupMs)} ms`);
  if (startupMs >= STARTUP_BUDGET_MS) {
    throw new Error(`npm start took ${Math.round(startupMs)} ms, over the ${STARTUP_BUDGET_MS} ms budget`);
  }
  return { body: health.body, startupMs };
}
