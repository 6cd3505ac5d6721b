import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamodbLocal, type LocalStack, lambdaEnvironment, startLocalStack } from '@lcm/sandbox/local-stack';
import { rolesFromClaims } from '@lcm/shared/api';
import { createDocumentClient } from '@lcm/shared/platform';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
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

describe('local JWT auth', () => {
  const bearer = (token: string | undefined) => ({ headers: { authorization: `Bearer ${token}` } });

  it('writes one token per role to local.json; the gateway verifies them, the handlers check roles', async () => {
    const stateDir = tempDir();
    const stack = await start({ stateDir, inMemory: true });
    const localJson = join(stateDir, 'local.json');
    expect(statSync(localJson).mode & 0o777).toBe(0o600);
    const local = JSON.parse(readFileSync(localJson, 'utf8'));
    expect(Object.keys(local.tokens)).toEqual(['admin', 'operator', 'portal', 'viewer']);
    expect(local.tokens).toEqual(stack.tokens);
    expect(local.auth).toMatchObject({
      issuer: stack.apiUrl,
      jwksUri: `${stack.apiUrl}/.well-known/jwks.json`,
      audience: 'lcm-local',
      roleClaim: 'cognito:groups',
      tokenLifetimeDays: 30,
    });
    for (const [name, token] of Object.entries(local.tokens as Record<string, string>)) {
      expect(rolesFromClaims(decodeJwt(token))).toEqual([`lcm.${name}`]);
    }

    // The discovery document and JWKS are served by the API host, and they verify the tokens.
    const discovery = (await (await fetch(`${stack.apiUrl}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(discovery).toMatchObject({ issuer: stack.apiUrl, jwks_uri: local.auth.jwksUri });
    const { payload } = await jwtVerify(
      local.tokens.portal,
      createRemoteJWKSet(new URL(discovery.jwks_uri)),
      {
        issuer: discovery.issuer,
        audience: 'lcm-local',
      },
    );
    expect(payload['cognito:groups']).toEqual(['lcm.portal']);

    // Public routes need no token; protected ones 401 without a valid one, as API Gateway.
    expect((await fetch(`${stack.apiUrl}/v1/health`)).status).toBe(200);
    const none = await fetch(`${stack.apiUrl}/v1/workers`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.json()).toEqual({ message: 'Unauthorized' });
    const tampered = await fetch(
      `${stack.apiUrl}/v1/workers`,
      bearer(`${local.tokens.admin.slice(0, -4)}AAAA`),
    );
    expect(tampered.status).toBe(401);
    expect(tampered.headers.get('www-authenticate')).toBe(
      'Bearer scope="" error="invalid_token" error_description="the token signature is invalid"',
    );

    // A valid token lacking the role: the handler's 403; with the role: through.
    expect((await fetch(`${stack.apiUrl}/v1/workers`, bearer(local.tokens.viewer))).status).toBe(200);
    const forbidden = await fetch(`${stack.apiUrl}/v1/workers`, {
      method: 'POST',
      headers: { ...bearer(local.tokens.viewer).headers, 'content-type': 'application/json' },
      body: JSON.stringify({ templateName: 'nope' }),
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('content-type')).toBe('application/problem+json');
    expect((await fetch(`${stack.apiUrl}/v1/workers`, bearer(local.tokens.portal))).status).toBe(403);
    expect((await fetch(`${stack.apiUrl}/v1/definitions`, bearer(local.tokens.portal))).status).toBe(200);
  });

  it('keeps the signing key in the state dir: a token from before a restart still works', async () => {
    const stateDir = tempDir();
    const port = await freePort();
    const first = await start({ stateDir, inMemory: true, port });
    const token = first.tokens.operator;
    const keyFile = join(stateDir, 'jwt-signing-key.json');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, 'utf8');
    await stop(first);

    const second = await start({ stateDir, inMemory: true, port });
    expect(readFileSync(keyFile, 'utf8')).toBe(key);
    expect(second.tokens.operator).not.toBe(token); // freshly issued
    expect((await fetch(`${second.apiUrl}/v1/workers`, bearer(token))).status).toBe(200);
  });

  it('serves the OpenAPI document naming the local server', async () => {
    const stack = await start({ stateDir: tempDir(), inMemory: true });
    const res = await fetch(`${stack.apiUrl}/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(doc).toMatchObject({ openapi: '3.1.0', servers: [{ url: stack.apiUrl }] });
    expect(Object.keys(doc.paths)).toContain('/v1/workers/{id}/start');
  });
});
