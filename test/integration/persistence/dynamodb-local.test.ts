import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDbLocal, startDynamoDbLocal } from '@lcm/sandbox/dynamodb-local';
import { DATA_DIR_LOCK_FILE } from '@lcm/sandbox/dynamodb-lock';
import { createDocumentClient } from '@lcm/shared/platform';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('startDynamoDbLocal', () => {
  it('starts on a free port, answers, and stop() ends the Java process', async () => {
    const db = await startDynamoDbLocal({});
    try {
      expect(db.endpoint).toBe(`http://127.0.0.1:${db.port}`);
      const client = createDocumentClient({ endpoint: db.endpoint });
      const out = await client.send(new ListTablesCommand({}));
      expect(out.TableNames).toEqual([]);
      client.destroy();
      expect(alive(db.pid)).toBe(true);
    } finally {
      await db.stop();
    }
    expect(alive(db.pid)).toBe(false);
    await db.stop(); // second stop is a no-op
  });

  it('fails with one clear line when the port is taken', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const err = await startDynamoDbLocal({ port }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(new RegExp(`port ${port} is already in use`));
      expect((err as Error).message).not.toContain('\n');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails with one clear line when java is not on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startDynamoDbLocal({})).rejects.toThrow(
        /`java` is not on PATH; install Java 17, e\.g\. apt-get install openjdk-17-jre-headless/,
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it('never outlives its parent: a process that exits without stop() takes it down', async () => {
    const script = [
      "import { startDynamoDbLocal } from '@lcm/sandbox/dynamodb-local';",
      'const db = await startDynamoDbLocal({});',
      'console.log(db.pid);',
      // No stop(): the exit handler must kill the JVM.
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      timeout: 60_000,
    });
    const pid = Number(stdout.trim());
    expect(pid).toBeGreaterThan(0);
    // SIGKILL is delivered synchronously in the exit handler; allow the kernel a moment to reap.
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
  });

  it('a SIGTERM to the parent stops the database and still terminates the parent', async () => {
    const script = [
      "import { startDynamoDbLocal } from '@lcm/sandbox/dynamodb-local';",
      'const db = await startDynamoDbLocal({});',
      'console.log(db.pid);',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
      const pid = Number(chunk.toString().trim());
      expect(alive(pid)).toBe(true);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code, signal] = (await exited) as [number | null, string | null];
      expect(signal ?? code).toBe('SIGTERM');
      for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive(pid)).toBe(false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('a data directory is claimed: a second start on it is refused, stop() removes the record', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lcm-ddb-lock-'));
    const record = join(dataDir, DATA_DIR_LOCK_FILE);
    let db: DynamoDbLocal | undefined;
    try {
      db = await startDynamoDbLocal({ dataDir });
      expect(JSON.parse(readFileSync(record, 'utf8'))).toMatchObject({
        dataDir,
        owner: { pid: process.pid },
        dynamodb: { pid: db.pid, port: db.port },
      });
      await expect(startDynamoDbLocal({ dataDir })).rejects.toThrow(
        `${dataDir} is in use by the local stack pid ${process.pid} (DynamoDB Local pid ${db.pid}, port ${db.port})`,
      );
      expect(alive(db.pid)).toBe(true);
      await db.stop();
      expect(existsSync(record)).toBe(false);
    } finally {
      await db?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a DynamoDB Local on the directory that no record names is refused, naming its pid', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lcm-ddb-lock-'));
    let db: DynamoDbLocal | undefined;
    try {
      db = await startDynamoDbLocal({ dataDir });
      unlinkSync(join(dataDir, DATA_DIR_LOCK_FILE)); // as a JVM started by hand or an older launcher
      await expect(startDynamoDbLocal({ dataDir })).rejects.toThrow(
        `${dataDir} is in use by DynamoDB Local pid ${db.pid}, which no local stack started`,
      );
      expect(existsSync(join(dataDir, DATA_DIR_LOCK_FILE))).toBe(false);
      expect(alive(db.pid)).toBe(true);
    } finally {
      await db?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
