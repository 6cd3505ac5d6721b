import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiGatewayEvent, HttpResult } from '@lcm/shared/platform';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The health handler against a stand-in DynamoDB endpoint on real HTTP: proves the SDK takes
 * its endpoint from AWS_ENDPOINT_URL_DYNAMODB and shows what an unreachable table looks like.
 */

type Handler = (event: ApiGatewayEvent, context: Context) => Promise<HttpResult>;

const seen: { target: string | undefined; body: string; headers: IncomingHttpHeaders }[] = [];
let answer: 'active' | 'failing' = 'active';
let fakeDynamo: Server;
let handler: Handler;
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
  ({ handler } = (await import('../../functions/api/health.ts')) as unknown as { handler: Handler });
});

afterAll(async () => {
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

describe('GET /v1/health', () => {
  it('asks DescribeTable at the endpoint from AWS_ENDPOINT_URL_DYNAMODB and answers 200', async () => {
    answer = 'active';
    const before = seen.length;
    const result = await handler(event(), context);
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['cache-control']).toBe('no-store');
    const body = JSON.parse(result.body ?? '{}');
    expect(body).toMatchObject({
      status: 'ok',
      table: { name: 'lcm-test', reachable: true, status: 'ACTIVE' },
    });
    expect(Date.parse(body.time)).toBeGreaterThan(0);

    const request = seen[before];
    expect(request?.target).toBe('DynamoDB_20120810.DescribeTable');
    expect(JSON.parse(request?.body ?? '{}')).toEqual({ TableName: 'lcm-test' });
    expect(request?.headers.authorization).toContain('Credential=local/');
  });

  it('answers 503 problem+json when the table cannot be reached', async () => {
    answer = 'failing';
    const result = await handler(event(), context);
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    expect(result.headers?.['retry-after']).toBe('5');
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({
      status: 503,
      title: 'Unhealthy',
      detail: 'The table lcm-test is not reachable.',
      instance: '/v1/health',
      requestId: 'health-req',
    });
    expect(result.body).not.toContain('down');
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
