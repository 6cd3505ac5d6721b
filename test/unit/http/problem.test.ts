import { json, PROBLEM_CONTENT_TYPE, ProblemDocumentSchema, problem } from '@lcm/shared/platform';
import { describe, expect, it } from 'vitest';
import { bodyOf } from './fixtures.ts';

describe('problem()', () => {
  it('is an API Gateway structured result with application/problem+json', () => {
    const result = problem({ status: 404, detail: 'Worker w-1 not found' });
    expect(result.statusCode).toBe(404);
    expect(result.headers?.['content-type']).toBe(PROBLEM_CONTENT_TYPE);
    expect(bodyOf(result)).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'Worker w-1 not found',
    });
  });

  it('carries type, instance, field errors and extensions, and keeps the standard members', () => {
    const result = problem({
      status: 400,
      title: 'Invalid request',
      type: 'https://example.test/problems/validation',
      instance: '/v1/sessions',
      errors: [{ path: 'owner.email', message: 'Invalid email' }],
      extensions: { code: 'VALIDATION', status: 999, title: 'overwritten?' },
      headers: { 'x-extra': '1' },
    });
    expect(result.headers).toEqual({ 'x-extra': '1', 'content-type': PROBLEM_CONTENT_TYPE });
    expect(bodyOf(result)).toEqual({
      type: 'https://example.test/problems/validation',
      title: 'Invalid request',
      status: 400,
      instance: '/v1/sessions',
      errors: [{ path: 'owner.email', message: 'Invalid email' }],
      code: 'VALIDATION',
    });
  });

  it('omits an empty errors list', () => {
    expect(bodyOf(problem({ status: 400, errors: [] }))).not.toHaveProperty('errors');
  });
});

describe('json()', () => {
  it('serialises the body with application/json and keeps extra headers', () => {
    const result = json(201, { id: 'x' }, { location: '/v1/things/x' });
    expect(result).toEqual({
      statusCode: 201,
      headers: { location: '/v1/things/x', 'content-type': 'application/json' },
      body: '{"id":"x"}',
    });
  });

  it('sends no body for 204', () => {
    expect(json(204, { ignored: true })).toEqual({ statusCode: 204, headers: {} });
  });
});

describe('ProblemDocumentSchema', () => {
  it('accepts what problem() and the error mapping produce, with extensions', () => {
    const bodies = [
      bodyOf(problem({ status: 404, detail: 'Worker w-1 not found' })),
      bodyOf(
        problem({
          status: 400,
          title: 'Invalid request',
          detail: 'see errors',
          instance: '/v1/workers',
          errors: [{ path: 'templateName', message: 'Required', in: 'body' }],
          extensions: { code: 'VALIDATION', requestId: 'r-1', details: { a: 1 } },
        }),
      ),
    ];
    for (const body of bodies)
      expect(ProblemDocumentSchema.safeParse(body).success, JSON.stringify(body)).toBe(true);
  });

  it('refuses documents without the members LCM always sends, or with a non-error status', () => {
    const ok = { type: 'about:blank', title: 'Not Found', status: 404, detail: 'gone' };
    expect(ProblemDocumentSchema.safeParse(ok).success).toBe(true);
    for (const member of ['type', 'title', 'status', 'detail'] as const) {
      const { [member]: _dropped, ...rest } = ok;
      expect(ProblemDocumentSchema.safeParse(rest).success, member).toBe(false);
    }
    expect(ProblemDocumentSchema.safeParse({ ...ok, status: 200 }).success).toBe(false);
    expect(ProblemDocumentSchema.safeParse({ ...ok, status: '404' }).success).toBe(false);
    expect(ProblemDocumentSchema.safeParse({ message: 'Unauthorized' }).success).toBe(false);
  });
});
