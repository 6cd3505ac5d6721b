import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamodbLocal, type LocalStack, lambdaEnvironment, startLocalStack } from '@lcm/sandbox/local-stack';
import { createDocumentClient } from '@lcm/shared/persistence/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { freePort, isAlive, waitForHealthy, waitUntil } from './support.ts';

/** startLocalStack in this process: what later tasks and tests build on. */

const running: LocalStack[] = [];
const tempDirs: string[] = [];
afterEach(async () => {
  for (const stack of running.splice(0)) await stack.stop();
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function start(opts: Parameters<typeof startLocalStack>[0]): Promise<LocalStack> {
  const stack = await startLocalStack({ port: 0, log: () => {}, ...opts });
  running.push(stack);
  return stack;
}

async function stop(stack: LocalStack): Promise<void> {
  await stack.stop();
  running.splice(running.indexOf(stack), 1);
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lcm-inproc-'));
  tempDirs.push(dir);
  return dir;
}

describe('startLocalStack', () => {
  it('keeps table data in the state dir across a restart', async () => {
    const stateDir = tempDir();
    // The health handler's SDK client is created once per process (as in Lambda) and keeps its
    // endpoint, so the restarted DynamoDB Local must come back on the same port.
    const dynamodbPort = await freePort();
    const envBefore = process.env.AWS_ENDPOINT_URL_DYNAMODB;

    const first = await start({ stateDir, dynamodbPort });
    const local = JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8'));
    expect(local).toMatchObject({
      apiUrl: first.apiUrl,
      tableName: 'lcm-local',
      dynamodbEndpoint: `http://127.0.0.1:${dynamodbPort}`,
      dynamodbPid: first.dynamodbPid,
    });
    expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(first.dynamodbEndpoint);
    expect((await waitForHealthy(first.apiUrl, 10_000)).body).toMatchObject({ status: 'ok' });

    const db = createDocumentClient({ endpoint: first.dynamodbEndpoint });
    try {
      await db.send(
        new PutCommand({
          TableName: first.tableName,
          Item: { PK: 'E2E#persist', SK: 'ITEM', value: 'kept' },
        }),
      );
    } finally {
      db.destroy();
    }
    expect(existsSync(join(stateDir, 'dynamodb'))).toBe(true);

    await stop(first);
    await waitUntil('DynamoDB Local to exit', () => !isAlive(first.dynamodbPid), 10_000);
    expect(existsSync(join(stateDir, 'local.json'))).toBe(false);
    expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(envBefore);

    const second = await start({ stateDir, dynamodbPort });
    expect(second.dynamodbPid).not.toBe(first.dynamodbPid);
    const again = createDocumentClient({ endpoint: second.dynamodbEndpoint });
    try {
      const { Item } = await again.send(
        new GetCommand({ TableName: second.tableName, Key: { PK: 'E2E#persist', SK: 'ITEM' } }),
      );
      expect(Item).toEqual({ PK: 'E2E#persist', SK: 'ITEM', value: 'kept' });
    } finally {
      again.destroy();
    }
    expect((await waitForHealthy(second.apiUrl, 10_000)).body).toMatchObject({ status: 'ok' });
  });

  it('keeps each concurrent request its own log keys', async () => {
    const stack = await start({ stateDir: tempDir(), inMemory: true });
    const lines: Record<string, unknown>[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      for (const line of String(chunk).split('\n')) if (line.startsWith('{')) lines.push(JSON.parse(line));
      return true;
    });
    let requestIds: string[];
    try {
      const replies = await Promise.all(Array.from({ length: 24 }, () => fetch(`${stack.apiUrl}/v1/health`)));
      expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
      requestIds = replies.map((r) => r.headers.get('apigw-requestid') ?? '');
    } finally {
      spy.mockRestore();
    }
    const completed = lines.filter((l) => l.message === 'request completed');
    expect(completed).toHaveLength(24);
    // Each invocation logs its own API Gateway request id and Lambda request id, none twice.
    expect(completed.map((l) => l.correlation_id).sort()).toEqual([...requestIds].sort());
    expect(new Set(completed.map((l) => l.function_request_id)).size).toBe(24);
    expect(new Set(completed.map((l) => l.xray_trace_id)).size).toBe(24);
  });

  it('a failed start stops what already started, in reverse, and restores the environment', async () => {
    const envBefore = { ...process.env };
    const order: string[] = [];
    let dynamodbPid = -1;
    const failing = startLocalStack({
      port: 0,
      stateDir: tempDir(),
      inMemory: true,
      log: () => {},
      services: () => [
        lambdaEnvironment,
        dynamodbLocal,
        {
          name: 'recorder',
          start: async (ctx) => {
            dynamodbPid = ctx.outputs.dynamodbPid ?? -1;
            return { stop: async () => void order.push('recorder stopped') };
          },
        },
        {
          name: 'broken service',
          start: async () => {
            throw new Error('cannot bind');
          },
        },
      ],
    });
    await expect(failing).rejects.toThrow('broken service: cannot bind');
    expect(order).toEqual(['recorder stopped']);
    expect(dynamodbPid).toBeGreaterThan(0);
    expect(isAlive(dynamodbPid)).toBe(false);
    expect(process.env).toEqual(envBefore);
  });

  it('a taken DynamoDB port is a clear start error', async () => {
    const first = await start({ stateDir: tempDir(), inMemory: true });
    const port = Number(new URL(first.dynamodbEndpoint).port);
    await expect(start({ stateDir: tempDir(), inMemory: true, dynamodbPort: port })).rejects.toThrow(
      new RegExp(`port ${port} is already in use`),
    );
    // The failed start put back the environment the running stack had set.
    expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(first.dynamodbEndpoint);
  });
});
