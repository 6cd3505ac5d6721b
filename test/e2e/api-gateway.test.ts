import { type ApiGateway, type Authenticate, startApiGateway } from '@lcm/sandbox/http-gateway';
import type { LambdaHandler } from '@lcm/sandbox/lambda-runtime';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The local HTTP API over real HTTP, with stand-in handlers that show what they received. */

type Seen = { event: APIGatewayProxyEventV2WithJWTAuthorizer; context: Record<string, unknown> };

const echo: LambdaHandler = async (event, context: Context) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    event,
    context: {
      functionName: context.functionName,
      awsRequestId: context.awsRequestId,
      invokedFunctionArn: context.invokedFunctionArn,
      remaining: context.getRemainingTimeInMillis(),
    },
  }),
});

const handlers = new Map<string, LambdaHandler>([
  ['echo', echo],
  ['plain', async () => ({ hello: 'world' })],
  ['text', async () => 'just text'],
  ['crash', async () => Promise.reject(new Error('kaboom'))],
  ['slow', () => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200 }), 1500))],
  ['malformed', async () => ({ statusCode: 'teapot' })],
  [
    'binary',
    async () => ({
      statusCode: 201,
      headers: { 'content-type': 'application/octet-stream', 'x-count': 3 },
      cookies: ['a=1; Path=/', 'b=2; HttpOnly'],
      isBase64Encoded: true,
      body: Buffer.from([0, 1, 2, 255]).toString('base64'),
    }),
  ],
]);

const routes = [
  { method: 'GET', path: '/v1/items/{id}', group: 'echo', auth: false },
  { method: 'GET', path: '/v1/items/special', group: 'plain', auth: false },
  { method: 'POST', path: '/v1/items', group: 'echo', auth: false },
  { method: 'PUT', path: '/v1/files/{proxy+}', group: 'echo', auth: false },
  { method: 'GET', path: '/v1/private', group: 'echo', auth: true },
  { method: 'GET', path: '/v1/text', group: 'text', auth: false },
  { method: 'GET', path: '/v1/crash', group: 'crash', auth: false },
  { method: 'GET', path: '/v1/slow', group: 'slow', auth: false },
  { method: 'GET', path: '/v1/malformed', group: 'malformed', auth: false },
  { method: 'GET', path: '/v1/binary', group: 'binary', auth: false },
];

const authenticate: Authenticate = async (call) => {
  if (call.headers.authorization === 'Bearer good') {
    return { claims: { sub: 'user-1', scope: 'lcm.viewer' }, scopes: null };
  }
  if (call.headers.authorization === 'Bearer expired') return { error: 'the token has expired' };
  return null;
};

const logged: string[] = [];
let open: ApiGateway;
let locked: ApiGateway;

beforeAll(async () => {
  const common = {
    routes,
    handlers,
    functionFor: (group: string) => ({ functionName: `fn-${group}`, region: 'us-east-1', timeoutMs: 500 }),
    port: 0,
    maxPayloadBytes: 1024,
    log: (line: string) => logged.push(line),
  };
  open = await startApiGateway({
    ...common,
    authenticate,
    documents: { '/.well-known/jwks.json': () => ({ keys: [{ kid: 'k1' }] }) },
  });
  locked = await startApiGateway(common); // no authorizer configured
});
afterAll(async () => {
  await open?.stop();
  await locked?.stop();
});

async function seen(res: Response): Promise<Seen> {
  expect(res.status).toBe(200);
  return (await res.json()) as Seen;
}

describe('request → API Gateway v2 event', () => {
  it('builds the payload 2.0 event', async () => {
    const before = Date.now();
    const res = await fetch(`${open.url}/v1/items/a%20b?x=1&x=2&y=z%26`, {
      headers: { 'X-Custom': 'A', cookie: 'c1=v1; c2=v2', 'user-agent': 'e2e-test' },
    });
    const { event, context } = await seen(res);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /v1/items/{id}',
      rawPath: '/v1/items/a b',
      rawQueryString: 'x=1&x=2&y=z%26',
      queryStringParameters: { x: '1,2', y: 'z&' },
      pathParameters: { id: 'a b' },
      cookies: ['c1=v1', 'c2=v2'],
      isBase64Encoded: false,
      requestContext: {
        routeKey: 'GET /v1/items/{id}',
        stage: '$default',
        requestId: res.headers.get('apigw-requestid'),
        http: {
          method: 'GET',
          path: '/v1/items/a b',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'e2e-test',
        },
      },
    });
    expect(event.headers['x-custom']).toBe('A');
    expect(event.headers).not.toHaveProperty('cookie');
    expect(event.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(event.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(Object.keys(event.headers).every((h) => h === h.toLowerCase())).toBe(true);
    expect(event.requestContext.timeEpoch).toBeGreaterThanOrEqual(before);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(event.requestContext).not.toHaveProperty('authorizer');
    expect(event).not.toHaveProperty('body');
    expect(context).toMatchObject({
      functionName: 'fn-echo',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fn-echo',
    });
    expect(context.remaining).toBeGreaterThan(0);
    expect(context.remaining).toBeLessThanOrEqual(500);
  });

  it('passes text bodies as they are and binary ones base64-encoded', async () => {
    const text = await seen(
      await fetch(`${open.url}/v1/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":"é"}',
      }),
    );
    expect(text.event).toMatchObject({ body: '{"a":"é"}', isBase64Encoded: false });

    const bytes = Buffer.from([0, 159, 146, 150, 255]);
    const binary = await seen(
      await fetch(`${open.url}/v1/files/dir/file.bin`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
      }),
    );
    expect(binary.event).toMatchObject({
      routeKey: 'PUT /v1/files/{proxy+}',
      pathParameters: { proxy: 'dir/file.bin' },
      isBase64Encoded: true,
      body: bytes.toString('base64'),
    });
  });

  it('prefers the most specific route', async () => {
    const res = await fetch(`${open.url}/v1/items/special`);
    expect(await res.json()).toEqual({ hello: 'world' });
  });

  it('answers unknown paths with 404 and known paths with another method with 405, as problem+json', async () => {
    const missing = await fetch(`${open.url}/v1/items`);
    expect(missing.status).toBe(405);
    expect(missing.headers.get('allow')).toBe('POST');
    const nowhere = await fetch(`${open.url}/v2/items/1`, { method: 'POST' });
    expect(nowhere.status).toBe(404);
    expect(nowhere.headers.get('content-type')).toBe('application/problem+json');
    expect(await nowhere.json()).toMatchObject({ status: 404, instance: '/v2/items/1' });
    const trailingSlash = await fetch(`${open.url}/v1/items/`);
    expect(trailingSlash.status).toBe(404);
  });

  it('refuses bodies over the payload limit like API Gateway', async () => {
    const res = await fetch(`${open.url}/v1/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ x: 'y'.repeat(2000) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: 'Request Entity Too Large' });
  });
});

describe('JWT authorizer seam', () => {
  it('puts the claims of an accepted token into requestContext.authorizer', async () => {
    const { event } = await seen(
      await fetch(`${open.url}/v1/private`, { headers: { authorization: 'Bearer good' } }),
    );
    expect(event.requestContext.authorizer.jwt).toEqual({
      claims: { sub: 'user-1', scope: 'lcm.viewer' },
      scopes: null,
    });
  });

  it('says why a token was refused in www-authenticate, as API Gateway does', async () => {
    const res = await fetch(`${open.url}/v1/private`, { headers: { authorization: 'Bearer expired' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer scope="" error="invalid_token" error_description="the token has expired"',
    );
    expect(await res.json()).toEqual({ message: 'Unauthorized' });
  });

  it('serves the configured documents (the JWKS) on GET only, outside the routes', async () => {
    const res = await fetch(`${open.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ keys: [{ kid: 'k1' }] });
    expect((await fetch(`${open.url}/.well-known/jwks.json`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${locked.url}/.well-known/jwks.json`)).status).toBe(404);
  });

  it('answers 401 without calling the handler when the token is refused or there is no authorizer', async () => {
    for (const [gateway, auth] of [
      [open, 'Bearer bad'],
      [open, undefined],
      [locked, 'Bearer good'],
    ] as const) {
      const res = await fetch(`${gateway.url}/v1/private`, auth ? { headers: { authorization: auth } } : {});
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.json()).toEqual({ message: 'Unauthorized' });
    }
  });
});

describe('Lambda result → HTTP response', () => {
  it('serialises a plain value as a 200 application/json, a string as it is', async () => {
    const text = await fetch(`${open.url}/v1/text`);
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toBe('application/json');
    expect(await text.text()).toBe('just text');
  });

  it('maps status, headers, cookies and base64 bodies', async () => {
    const res = await fetch(`${open.url}/v1/binary`);
    expect(res.status).toBe(201);
    expect(res.headers.get('x-count')).toBe('3');
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('a crashed handler is a 500 and its error is logged', async () => {
    const res = await fetch(`${open.url}/v1/crash`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'Internal Server Error' });
    expect(logged.some((l) => l.includes('fn-crash') && l.includes('kaboom'))).toBe(true);
  });

  it('a handler past its timeout is a 503', async () => {
    const res = await fetch(`${open.url}/v1/slow`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: 'Service Unavailable' });
    expect(logged.some((l) => l.includes('fn-slow') && l.includes('timed out'))).toBe(true);
  });

  it('a malformed structured result is a 500', async () => {
    const res = await fetch(`${open.url}/v1/malformed`);
    expect(res.status).toBe(500);
  });
});
