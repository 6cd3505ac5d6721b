import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiGatewayEvent, HttpResult } from '@lcm/shared/platform';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/**
 * The health handler against a stand-in DynamoDB endpoint on real HTTP: proves the SDK takes
 * its endpoint from AWS_ENDPOINT_URL_DYNAMODB, that the public answer is `{status}` only, that
 * the check is cached (one DescribeTable per TTL, not per request) and shows what an unreachable
 * table looks like. Only `Date` is faked, to step over the cache's TTLs.
 */

type Handler = (event: ApiGatewayEvent, context: Context) => Promise<HttpResult>;

const seen: { target: string | undefined; body: string; headers: IncomingHttpHeaders }[] = [];
let answer: 'active' | 'failing' = 'active';
let fakeDynamo: Server;
let handler: Handler;
let HEALTH_OK_TTL_MS: number;
let HEALTH_FAIL_TTL_MS: number;
const saved = { ...process.env };

beforeAll(async () => {
  fakeDynamo = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({ target: req.headers['x-amz-target'] as string | undefined, body, headers: req.headers });
      if (answer === 'failing') {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(
          JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'down' }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ Table: { TableName: 'lcm-test', TableStatus: 'ACTIVE' } }));
    });
  });
  await new Promise<void>((resolve) => fakeDynamo.listen(0, '127.0.0.1', resolve));
  const { port } = fakeDynamo.address() as AddressInfo;
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    TABLE_NAME: 'lcm-test',
  });
  // Imported after the environment is set, as Lambda loads a function.
  ({ handler, HEALTH_OK_TTL_MS, HEALTH_FAIL_TTL_MS } = (await import(
    '../../functions/api/health.ts'
  )) as unknown as { handler: Handler; HEALTH_OK_TTL_MS: number; HEALTH_FAIL_TTL_MS: number });
});

afterAll(async () => {
  vi.useRealTimers();
  process.env = saved;
  await new Promise((resolve) => fakeDynamo.close(resolve));
});

const event = (path = '/v1/health'): ApiGatewayEvent =>
  ({
    version: '2.0',
    routeKey: `GET ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'health-req',
      routeKey: `GET ${path}`,
      stage: '$default',
      time: '22/Nov/2026:12:00:00 +0000',
      timeEpoch: Date.now(),
    },
  }) as ApiGatewayEvent;

const context = {
  functionName: 'lcm-health',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:lcm-health',
  memoryLimitInMB: '256',
  awsRequestId: 'lambda-req',
  logGroupName: '/aws/lambda/lcm-health',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 10_000,
} as Context;

const describeTableCalls = () => seen.filter((r) => r.target === 'DynamoDB_20120810.DescribeTable').length;

describe('GET /v1/health', () => {
  it('asks DescribeTable at the endpoint from AWS_ENDPOINT_URL_DYNAMODB and answers {status} only', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    answer = 'active';
    const before = seen.length;
    const result = await handler(event(), context);
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['cache-control']).toBe('no-store');
    expect(JSON.parse(result.body ?? '{}')).toEqual({ status: 'ok' });
    expect(result.body).not.toContain('lcm-test');

    const request = seen[before];
    expect(request?.target).toBe('DynamoDB_20120810.DescribeTable');
    expect(JSON.parse(request?.body ?? '{}')).toEqual({ TableName: 'lcm-test' });
    expect(request?.headers.authorization).toContain('Credential=local/');
  });

  it('answers from the cached check: 50 requests (25 at once) within the TTL make no DescribeTable', async () => {
    const before = describeTableCalls();
    for (let i = 0; i < 25; i++) expect((await handler(event(), context)).statusCode).toBe(200);
    const together = await Promise.all(Array.from({ length: 25 }, () => handler(event(), context)));
    expect(together.every((r) => r.statusCode === 200)).toBe(true);
    expect(describeTableCalls() - before).toBe(0);

    // Past the TTL the next request checks again, once, however many ask at the same moment.
    vi.setSystemTime(Date.now() + HEALTH_OK_TTL_MS + 1);
    const after = await Promise.all(Array.from({ length: 10 }, () => handler(event(), context)));
    expect(after.every((r) => r.statusCode === 200)).toBe(true);
    expect(describeTableCalls() - before).toBe(1);
  });

  it('answers 503 problem+json naming nothing when the table cannot be reached, and recovers after the shorter TTL', async () => {
    answer = 'failing';
    // Within the TTL of the last good answer the outage is not seen yet: that is the cache.
    expect((await handler(event(), context)).statusCode).toBe(200);
    vi.setSystemTime(Date.now() + HEALTH_OK_TTL_MS + 1);
    const result = await handler(event(), context);
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    expect(result.headers?.['retry-after']).toBe('5');
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({
      status: 503,
      title: 'Unhealthy',
      detail: 'The service is not healthy.',
      instance: '/v1/health',
      requestId: 'health-req',
    });
    expect(result.body).not.toContain('down');
    expect(result.body).not.toContain('lcm-test');

    answer = 'active';
    expect((await handler(event(), context)).statusCode).toBe(503); // the failure is cached too
    vi.setSystemTime(Date.now() + HEALTH_FAIL_TTL_MS + 1);
    expect((await handler(event(), context)).statusCode).toBe(200);
  });

  it('answers 500 without details when TABLE_NAME is missing', async () => {
    delete process.env.TABLE_NAME;
    try {
      const result = await handler(event(), context);
      expect(result.statusCode).toBe(500);
      expect(result.body).not.toContain('TABLE_NAME');
    } finally {
      process.env.TABLE_NAME = 'lcm-test';
    }
  });
});
