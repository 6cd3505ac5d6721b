import { Logger } from '@aws-lambda-powertools/logger';
import { NotFoundError } from '@lcm/shared/kernel';
import { type ApiEvent, apiHandler, HttpError, json, MAX_BODY_BYTES } from '@lcm/shared/platform';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { z } from 'zod';
import { bodyOf, httpEvent, lambdaContext } from './fixtures.ts';

/** Log lines the handler wrote (Powertools writes JSON lines to stdout/stderr). */
let written: string[] = [];
let stdoutSpy: MockInstance;
let stderrSpy: MockInstance;
const capture = (chunk: unknown) => {
  written.push(String(chunk));
  return true;
};
beforeEach(() => {
  written = [];
  stdoutSpy = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  stderrSpy = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
});
afterEach(() => {
  stdoutSpy.mockRestore();
  stderrSpy.mockRestore();
});
const logLines = () =>
  written
    .flatMap((chunk) => chunk.split('\n'))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Logs at INFO whatever POWERTOOLS_LOG_LEVEL says (vitest.config.ts keeps the unit project SILENT). */
const logger = new Logger({ serviceName: 'lcm-test', logLevel: 'INFO' });

/** Echoes what the handler saw. */
const echo = (mode?: 'optional' | 'required' | 'raw') =>
  apiHandler(
    async (event: ApiEvent) => {
      logger.info('inside handler');
      return json(200, { body: event.body ?? null, rawBody: event.rawBody ?? null });
    },
    { logger, ...(mode ? { body: mode } : {}) },
  );

const jsonHeaders = { 'content-type': 'application/json' };

describe('JSON body parsing', () => {
  it('parses a JSON body and keeps the raw one', async () => {
    const result = await echo()(httpEvent({ headers: jsonHeaders, body: '{"a":[1,2]}' }), lambdaContext());
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({ body: { a: [1, 2] }, rawBody: '{"a":[1,2]}' });
  });

  it('accepts +json media types and a utf-8 charset, in any header case', async () => {
    for (const contentType of ['application/cloudevents+json', 'application/json; charset=UTF-8']) {
      const result = await echo()(
        httpEvent({ headers: { 'Content-Type': contentType }, body: '{"ok":true}' }),
        lambdaContext(),
      );
      expect(result.statusCode, contentType).toBe(200);
      expect(bodyOf(result).body).toEqual({ ok: true });
    }
  });

  it('decodes a base64 body before parsing', async () => {
    const body = Buffer.from('{"name":"é"}').toString('base64');
    const result = await echo()(
      httpEvent({ headers: jsonHeaders, body, isBase64Encoded: true }),
      lambdaContext(),
    );
    expect(bodyOf(result).body).toEqual({ name: 'é' });
  });

  it('bad JSON is a 400 problem', async () => {
    const result = await echo()(httpEvent({ headers: jsonHeaders, body: '{"a":' }), lambdaContext());
    expect(result.statusCode).toBe(400);
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    const body = bodyOf(result);
    expect(body).toMatchObject({
      status: 400,
      title: 'Malformed JSON',
      instance: '/v1/things',
      requestId: 'req-1',
    });
    expect(String(body.detail)).toMatch(/not valid JSON/);
  });

  it.each([
    ['text/plain', '{"a":1}'],
    ['application/x-www-form-urlencoded', 'a=1'],
    ['application/json; charset=iso-8859-1', '{"a":1}'],
    [undefined, '{"a":1}'],
  ])('content type %s is a 415', async (contentType, body) => {
    const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
    const result = await echo()(httpEvent({ headers, body }), lambdaContext());
    expect(result.statusCode).toBe(415);
    expect(bodyOf(result)).toMatchObject({ status: 415, title: 'Unsupported Media Type' });
  });

  it('a missing body is a 400 when the route requires one, and undefined otherwise', async () => {
    const required = await echo('required')(httpEvent({ headers: jsonHeaders }), lambdaContext());
    expect(required.statusCode).toBe(400);
    expect(bodyOf(required).detail).toMatch(/body is required/);

    const emptyString = await echo('required')(
      httpEvent({ headers: jsonHeaders, body: '' }),
      lambdaContext(),
    );
    expect(emptyString.statusCode).toBe(400);

    const optional = await echo()(httpEvent({ method: 'GET' }), lambdaContext());
    expect(optional.statusCode).toBe(200);
    expect(bodyOf(optional)).toEqual({ body: null, rawBody: null });
  });

  it('a body over 256 KiB is a 413, one at the limit is accepted', async () => {
    const payload = (size: number) => `{"x":"${'a'.repeat(size - 8)}"}`;
    expect(payload(MAX_BODY_BYTES).length).toBe(MAX_BODY_BYTES);
    const atLimit = await echo()(
      httpEvent({ headers: jsonHeaders, body: payload(MAX_BODY_BYTES) }),
      lambdaContext(),
    );
    expect(atLimit.statusCode).toBe(200);

    const tooBig = await echo()(
      httpEvent({ headers: jsonHeaders, body: payload(MAX_BODY_BYTES + 1) }),
      lambdaContext(),
    );
    expect(tooBig.statusCode).toBe(413);
    expect(bodyOf(tooBig)).toMatchObject({ status: 413, title: 'Payload Too Large' });
  });

  it('counts bytes, not characters', async () => {
    const body = `"${'é'.repeat(MAX_BODY_BYTES / 2)}"`; // 2 bytes each: over the limit in bytes
    expect(body.length).toBeLessThan(MAX_BODY_BYTES);
    const result = await echo()(httpEvent({ headers: jsonHeaders, body }), lambdaContext());
    expect(result.statusCode).toBe(413);
  });

  it('raw mode leaves the body alone (any content type) but still enforces the size', async () => {
    const raw = echo('raw');
    const ok = await raw(
      httpEvent({ headers: { 'content-type': 'text/plain' }, body: 'hello' }),
      lambdaContext(),
    );
    expect(bodyOf(ok)).toEqual({ body: 'hello', rawBody: 'hello' });
    const big = await raw(httpEvent({ body: 'x'.repeat(MAX_BODY_BYTES + 1) }), lambdaContext());
    expect(big.statusCode).toBe(413);
  });
});

describe('error mapping', () => {
  const throwing = (error: unknown) =>
    apiHandler(
      async () => {
        throw error;
      },
      { logger },
    );

  it('zod errors thrown by a handler are a 400 with field paths', async () => {
    const Body = z.object({ timeslot: z.object({ start: z.iso.datetime() }), tags: z.array(z.string()) });
    const handler = apiHandler(
      async (event) => {
        Body.parse(event.body);
        return json(200, {});
      },
      { logger, body: 'required' },
    );
    const result = await handler(
      httpEvent({ headers: jsonHeaders, body: '{"timeslot":{"start":"tomorrow"},"tags":["a",7]}' }),
      lambdaContext(),
    );
    expect(result.statusCode).toBe(400);
    const errors = bodyOf(result).errors as { path: string }[];
    expect(errors.map((e) => e.path).sort()).toEqual(['tags[1]', 'timeslot.start']);
  });

  it('domain errors get their status', async () => {
    const result = await throwing(new NotFoundError('Worker', 'w-9'))(httpEvent(), lambdaContext());
    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toMatchObject({ code: 'NOT_FOUND', detail: 'Worker w-9 not found' });
  });

  it('an HttpError thrown by a handler keeps its status', async () => {
    const result = await throwing(new HttpError(403, 'needs lcm.operator'))(httpEvent(), lambdaContext());
    expect(result.statusCode).toBe(403);
    expect(bodyOf(result)).toMatchObject({ title: 'Forbidden', detail: 'needs lcm.operator' });
  });

  it('an unexpected error is a 500 without internals, and is logged with the error', async () => {
    const result = await throwing(new Error('db password=hunter2'))(httpEvent(), lambdaContext());
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('hunter2');
    const failure = logLines().find((l) => l.message === 'request failed');
    expect(failure?.level).toBe('ERROR');
    expect(JSON.stringify(failure?.error)).toContain('hunter2');
  });
});

describe('logging', () => {
  it('every line of a request carries the request id, route, principal and Lambda context', async () => {
    const handler = echo();
    await handler(
      httpEvent({
        method: 'GET',
        path: '/v1/things/7',
        routePath: '/v1/things/{id}',
        requestId: 'apigw-1',
        claims: { sub: 'user-123' },
      }),
      lambdaContext('lambda-1'),
    );
    const lines = logLines();
    expect(lines.map((l) => l.message)).toEqual(['inside handler', 'request completed']);
    for (const line of lines) {
      expect(line).toMatchObject({
        correlation_id: 'apigw-1',
        route: 'GET /v1/things/{id}',
        principal: 'user-123',
        function_request_id: 'lambda-1',
        function_name: 'lcm-test-api',
        service: 'lcm-test',
      });
    }
    expect(lines[1]).toMatchObject({ status: 200, durationMs: expect.any(Number) });
  });

  it('keys do not leak into the next invocation; anonymous callers are named so', async () => {
    const handler = echo();
    await handler(httpEvent({ requestId: 'first', claims: { sub: 'alice' } }), lambdaContext('l-1'));
    written = [];
    await handler(httpEvent({ method: 'GET', requestId: 'second' }), lambdaContext('l-2'));
    const lines = logLines();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatchObject({
        correlation_id: 'second',
        principal: 'anonymous',
        function_request_id: 'l-2',
      });
    }
  });

  it('a rejected request is logged at info with its status', async () => {
    await echo()(httpEvent({ headers: { 'content-type': 'text/plain' }, body: 'x' }), lambdaContext());
    const rejected = logLines().find((l) => l.message === 'request rejected');
    expect(rejected).toMatchObject({ level: 'INFO', status: 415, route: 'POST /v1/things' });
    expect(logLines().find((l) => l.message === 'request completed')).toMatchObject({ status: 415 });
  });
});

describe('authorize option', () => {
  it('refuses before the body is read, so parse errors never reach callers who may not call', async () => {
    let reached = false;
    const handler = apiHandler(
      async () => {
        reached = true;
        return json(200, {});
      },
      {
        logger,
        authorize: (event) => {
          if (event.requestContext.authorizer?.jwt.claims.sub !== 'alice') {
            throw new HttpError(403, 'Only alice.', { title: 'Forbidden' });
          }
        },
      },
    );
    const refused = await handler(
      httpEvent({ headers: jsonHeaders, body: '{"broken":', claims: { sub: 'bob' } }),
      lambdaContext(),
    );
    expect(refused.statusCode).toBe(403);
    expect(bodyOf(refused)).toMatchObject({ status: 403, title: 'Forbidden', detail: 'Only alice.' });
    expect(reached).toBe(false);
    const parsed = await handler(
      httpEvent({ headers: jsonHeaders, body: '{"broken":', claims: { sub: 'alice' } }),
      lambdaContext(),
    );
    expect(parsed.statusCode).toBe(400);
    const ok = await handler(
      httpEvent({ headers: jsonHeaders, body: '{}', claims: { sub: 'alice' } }),
      lambdaContext(),
    );
    expect(ok.statusCode).toBe(200);
    expect(reached).toBe(true);
  });
});
