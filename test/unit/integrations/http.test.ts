import { createServer } from 'node:net';
import { FaultRegistry, type SimReply, type SimServer, startSimServer } from '@lcm/sandbox/simulators/common';
import {
  DEFAULT_RETRY,
  fullJitterDelay,
  HttpClient,
  IntegrationError,
  type IntegrationLogger,
  parseErrorBody,
} from '@lcm/shared/platform';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf } from './support.ts';

/** A loopback server: GET/PUT/POST /echo answer 200 with what they got; faults inject failures. */
let server: SimServer;
const faults = new FaultRegistry();

beforeAll(async () => {
  server = await startSimServer({
    faults,
    errorBody: (status, message) => ({ code: status, description: message }),
    handler: (req): SimReply => {
      if (req.path === '/echo') {
        return {
          status: 200,
          body: { method: req.method, query: Object.fromEntries(req.query), body: req.body || null },
        };
      }
      if (req.path === '/empty') return { status: 204 };
      if (req.path === '/text') return { status: 200, contentType: 'text/plain', body: 'not json' };
      if (req.path === '/problem')
        return { status: 422, body: { title: 'Bad thing', detail: 'field x is wrong' } };
      return { status: 404, body: { code: 404, description: 'Not found' } };
    },
  });
});
afterAll(() => server.close());
afterEach(() => {
  faults.clear();
  server.log.length = 0;
});

const sleeps: number[] = [];
const client = (over: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) =>
  new HttpClient({
    service: 'test',
    baseUrl: `${server.url}/`,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...over,
  });

const calls = (path: string) => server.log.filter((r) => r.path === path).length;

describe('HttpClient', () => {
  it('sends JSON and query parameters and parses the JSON reply', async () => {
    const res = await client().request<{ method: string; query: Record<string, string>; body: string }>({
      method: 'POST',
      path: '/echo',
      operation: 'echo',
      query: { a: 'x y', b: 2, skip: undefined, c: true },
      body: { hello: 'world' },
    });
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(1);
    expect(res.body).toEqual({
      method: 'POST',
      query: { a: 'x y', b: '2', c: 'true' },
      body: '{"hello":"world"}',
    });
  });

  it('reads an empty 204 as undefined and text on request', async () => {
    expect(
      (await client().request({ method: 'DELETE', path: '/empty', operation: 'e' })).body,
    ).toBeUndefined();
    const text = await client().request<string>({
      method: 'GET',
      path: '/text',
      operation: 't',
      responseKind: 'text',
    });
    expect(text.body).toBe('not json');
  });

  it('reports a 2xx body that is not JSON as INVALID_RESPONSE, not retried', async () => {
    const err = (await rejectionOf(
      client().request({ method: 'GET', path: '/text', operation: 'text' }),
    )) as IntegrationError;
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.code).toBe('INVALID_RESPONSE');
    expect(err.retryable).toBe(false);
    expect(calls('/text')).toBe(1);
  });

  it('retries two 503s of an idempotent call with full-jitter delays and succeeds on the third attempt', async () => {
    sleeps.length = 0;
    faults.add({ method: 'GET', path: '^/echo$', status: 503, times: 2 });
    const res = await client({ retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 } }).request({
      method: 'GET',
      path: '/echo',
      operation: 'echo',
    });
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(3);
    expect(calls('/echo')).toBe(3);
    // random() = 0.5: half of 100 * 2^0, then half of 100 * 2^1
    expect(sleeps).toEqual([50, 100]);
  });

  it('gives up after the bounded attempts on a permanent 500 with a typed error carrying the body', async () => {
    faults.add({ path: '^/echo$', status: 500, times: 'always' });
    const err = (await rejectionOf(
      client({ retry: { attempts: 4 } }).request({ method: 'GET', path: '/echo', operation: 'echo' }),
    )) as IntegrationError;
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err).toMatchObject({
      name: 'IntegrationError',
      service: 'test',
      operation: 'echo',
      code: 'SERVER_ERROR',
      status: 500,
      retryable: true,
      attempts: 4,
      body: { code: 500, description: 'injected fault (HTTP 500)' },
    });
    expect(calls('/echo')).toBe(4);
  });

  it('never retries a 4xx', async () => {
    for (const status of [400, 401, 403, 404, 409, 429]) {
      server.log.length = 0;
      faults.add({ path: '^/echo$', status });
      const err = (await rejectionOf(
        client().request({ method: 'GET', path: '/echo', operation: 'echo' }),
      )) as IntegrationError;
      expect(err.status).toBe(status);
      expect(err.attempts).toBe(1);
      expect(calls('/echo')).toBe(1);
    }
  });

  it('maps statuses to codes and reads problem-style bodies', async () => {
    const err = (await rejectionOf(
      client().request({ method: 'GET', path: '/problem', operation: 'p' }),
    )) as IntegrationError;
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.retryable).toBe(false);
    expect(err.body).toEqual({ description: 'field x is wrong' });
    expect(err.message).toBe('test p failed with HTTP 422: field x is wrong');
    faults.add({ path: '^/echo$', status: 429 });
    const limited = (await rejectionOf(
      client().request({ method: 'GET', path: '/echo', operation: 'e' }),
    )) as IntegrationError;
    expect(limited.code).toBe('RATE_LIMITED');
    expect(limited.retryable).toBe(true);
  });

  it('does not retry a non-idempotent call on 5xx', async () => {
    faults.add({ method: 'POST', path: '^/echo$', status: 503, times: 'always' });
    const err = (await rejectionOf(
      client().request({ method: 'POST', path: '/echo', operation: 'create', body: {} }),
    )) as IntegrationError;
    expect(err.code).toBe('SERVER_ERROR');
    expect(err.attempts).toBe(1);
    expect(calls('/echo')).toBe(1);
  });

  it('retries when the connection is refused, even for POST (nothing was sent)', async () => {
    const port = await closedPort();
    let fetches = 0;
    const counting: typeof fetch = (input, init) => {
      fetches++;
      return fetch(input, init);
    };
    const err = (await rejectionOf(
      new HttpClient({
        service: 'test',
        baseUrl: `http://127.0.0.1:${port}`,
        fetch: counting,
        sleep: async () => {},
      }).request({ method: 'POST', path: '/x', operation: 'create', body: {} }),
    )) as IntegrationError;
    expect(err.code).toBe('NETWORK');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('ECONNREFUSED');
    expect(fetches).toBe(DEFAULT_RETRY.attempts);
    expect(err.attempts).toBe(DEFAULT_RETRY.attempts);
  });

  it('retries a reset connection of an idempotent call', async () => {
    faults.add({ path: '^/echo$', reset: true });
    const res = await client().request({ method: 'GET', path: '/echo', operation: 'echo' });
    expect(res.attempts).toBe(2);
  });

  it('times out each attempt and reports TIMEOUT after the bounded attempts', async () => {
    faults.add({ path: '^/echo$', delayMs: 600, times: 'always' });
    const started = Date.now();
    const err = (await rejectionOf(
      client({ timeoutMs: 80, retry: { attempts: 2 } }).request({
        method: 'GET',
        path: '/echo',
        operation: 'slow',
      }),
    )) as IntegrationError;
    expect(err.code).toBe('TIMEOUT');
    expect(err.retryable).toBe(true);
    expect(err.attempts).toBe(2);
    expect(err.message).toBe('test slow timed out after 80 ms');
    expect(Date.now() - started).toBeLessThan(550);
  });

  it('a per-call timeout overrides the client default', async () => {
    faults.add({ path: '^/echo$', delayMs: 150 });
    const res = await client({ timeoutMs: 50 }).request({
      method: 'GET',
      path: '/echo',
      operation: 'e',
      timeoutMs: 2000,
    });
    expect(res.status).toBe(200);
  });

  it('returns accepted non-2xx statuses instead of throwing', async () => {
    faults.add({ path: '^/echo$', status: 502, body: { code: 502, description: 'booting' } });
    const res = await client().request({
      method: 'GET',
      path: '/echo',
      operation: 'e',
      acceptStatuses: [502],
    });
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ code: 502, description: 'booting' });
    expect(calls('/echo')).toBe(1);
  });

  it('stops at once when the caller cancels', async () => {
    faults.add({ path: '^/echo$', delayMs: 400 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const err = (await rejectionOf(
      client().request({ method: 'GET', path: '/echo', operation: 'e', signal: ac.signal }),
    )) as IntegrationError;
    expect(err.message).toBe('test e cancelled');
    expect(err.retryable).toBe(false);
  });

  it('logs operation, status and attempt but never headers, query strings or bodies', async () => {
    const lines: string[] = [];
    const logger: IntegrationLogger = {
      debug: (m, e) => lines.push(JSON.stringify([m, e])),
      warn: (m, e) => lines.push(JSON.stringify([m, e])),
    };
    faults.add({ path: '^/echo$', status: 503 });
    await client({ logger }).request({
      method: 'PUT',
      path: '/echo',
      operation: 'secretive',
      query: { token: 'query-secret-1' },
      headers: { authorization: 'Bearer header-secret-2' },
      body: { password: 'body-secret-3' },
    });
    faults.add({ path: '^/echo$', status: 400, body: { code: 400, description: 'rejected' } });
    const err = await rejectionOf(
      client({ logger }).request({
        method: 'PUT',
        path: '/echo',
        operation: 'secretive',
        headers: { authorization: 'Bearer header-secret-2' },
        body: { password: 'body-secret-3' },
      }),
    );
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const everything = [...lines, JSON.stringify(err), String(err)].join('\n');
    for (const secret of ['query-secret-1', 'header-secret-2', 'body-secret-3'])
      expect(everything).not.toContain(secret);
    expect(lines.some((l) => l.includes('"status":503') && l.includes('"attempt":1'))).toBe(true);
  });

  it('rejects a retry policy without attempts', () => {
    expect(() => client({ retry: { attempts: 0 } })).toThrow(RangeError);
  });
});

describe('fullJitterDelay', () => {
  it('stays in [0, min(max, base * 2^retry))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, base, max, r) => {
          const d = fullJitterDelay(retry, { attempts: 3, baseDelayMs: base, maxDelayMs: max }, () => r);
          return d >= 0 && d < Math.max(1, Math.min(max, base * 2 ** Math.min(retry, 20)));
        },
      ),
    );
  });
});

describe('parseErrorBody', () => {
  it('reads CML, problem+json, nested and string bodies', () => {
    expect(parseErrorBody('{"code":404,"description":"Lab not found: x"}')).toEqual({
      code: 404,
      description: 'Lab not found: x',
    });
    expect(parseErrorBody('{"title":"Bad","detail":"why"}')).toEqual({ description: 'why' });
    expect(parseErrorBody('{"error":{"code":409,"message":"busy"}}')).toEqual({
      code: 409,
      description: 'busy',
    });
    expect(parseErrorBody('"plain"')).toEqual({ description: 'plain' });
    expect(parseErrorBody('<html>502</html>')).toBeUndefined();
    expect(parseErrorBody('')).toBeUndefined();
    expect(parseErrorBody('{"x":1}')).toBeUndefined();
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
