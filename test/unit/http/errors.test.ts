import {
  CapacityFullError,
  ConflictError,
  DomainError,
  type DomainErrorCode,
  DuplicateError,
  ExtensionNotAllowedError,
  InvalidTransitionError,
  NotFoundError,
  UnprocessableError,
  ValidationError,
  VersionConflictError,
} from '@lcm/shared/kernel';
import {
  DOMAIN_ERROR_HTTP,
  errorToProblem,
  formatPath,
  HttpError,
  parseInput,
  problemTypeFor,
  RequestValidationError,
} from '@lcm/shared/platform';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bodyOf } from './fixtures.ts';

const ctx = { instance: '/v1/workers/w-1', requestId: 'req-42' };

describe('domain errors', () => {
  const cases: [DomainError, number, DomainErrorCode][] = [
    [new ValidationError('capacity.cpuCores', 'must be >= 0'), 400, 'VALIDATION'],
    [new DomainError('TOPOLOGY_INVALID', 'nodes[0] has no label'), 400, 'TOPOLOGY_INVALID'],
    [new DomainError('POD_TYPE_INDETERMINATE', 'no pod type marker'), 400, 'POD_TYPE_INDETERMINATE'],
    [new NotFoundError('Worker', 'w-1'), 404, 'NOT_FOUND'],
    [new InvalidTransitionError('Worker', 'STOPPED', 'DRAINING'), 409, 'INVALID_TRANSITION'],
    [new VersionConflictError('Worker', 'w-1'), 409, 'VERSION_CONFLICT'],
    [new DuplicateError('Session', 'r-1'), 409, 'DUPLICATE'],
    [new ConflictError('template in use'), 409, 'CONFLICT'],
    [new DomainError('NO_CAPACITY', 'no worker fits'), 409, 'NO_CAPACITY'],
    [
      new CapacityFullError('the book is full', { firstOverflow: '2030-01-01T10:00:00.000Z' }),
      409,
      'CAPACITY_FULL',
    ],
    [
      new ExtensionNotAllowedError('extensions are off', { limit: 'maxExtensionMinutes' }),
      409,
      'EXTENSION_NOT_ALLOWED',
    ],
    [new UnprocessableError('no template holds it', []), 422, 'UNPROCESSABLE'],
  ];

  it.each(cases)('%s → %i problem+json', (error, status, code) => {
    const { response, serverFault } = errorToProblem(error, ctx);
    expect(serverFault).toBe(false);
    expect(response.statusCode).toBe(status);
    expect(response.headers?.['content-type']).toBe('application/problem+json');
    const body = bodyOf(response);
    expect(body).toMatchObject({
      type: problemTypeFor(code),
      title: DOMAIN_ERROR_HTTP[code].title,
      status,
      detail: error.message,
      instance: '/v1/workers/w-1',
      code,
      requestId: 'req-42',
    });
  });

  it('every domain code has one mapping', () => {
    expect(Object.keys(DOMAIN_ERROR_HTTP).sort()).toEqual(cases.map(([, , code]) => code).sort());
  });

  it('a ValidationError names its field in errors[]', () => {
    const body = bodyOf(
      errorToProblem(new ValidationError('timeslot.end', 'must be after start'), ctx).response,
    );
    expect(body.errors).toEqual([{ path: 'timeslot.end', message: 'must be after start' }]);
    expect(body).not.toHaveProperty('details');
  });

  it('an UnprocessableError names each field it is about in errors[], details beside', () => {
    const error = new UnprocessableError(
      'definition lab v1 cannot be placed',
      [{ path: 'resourceRequirements.cpuCores', message: 'cpuCores 301 > 96 on every template' }],
      { definitionId: 'lab' },
    );
    const body = bodyOf(errorToProblem(error, ctx).response);
    expect(body.errors).toEqual([
      { path: 'resourceRequirements.cpuCores', message: 'cpuCores 301 > 96 on every template' },
    ]);
    expect(body.details).toEqual({ definitionId: 'lab' });
  });

  it('passes the domain details (e.g. the transition) as an extension', () => {
    const body = bodyOf(
      errorToProblem(new InvalidTransitionError('Session', 'READY', 'GRADING'), ctx).response,
    );
    expect(body.details).toEqual({ entity: 'Session', from: 'READY', to: 'GRADING' });
  });
});

describe('zod errors', () => {
  const Body = z.object({
    owner: z.object({ email: z.email() }),
    devices: z.array(z.object({ name: z.string().min(1) })),
    count: z.number().int(),
  });

  it('become a 400 listing every offending field path', () => {
    const parsed = Body.safeParse({
      owner: { email: 'nope' },
      devices: [{ name: 'a' }, { name: '' }],
      count: 1.5,
    });
    expect(parsed.success).toBe(false);
    const { response, serverFault } = errorToProblem(parsed.error, ctx);
    expect(serverFault).toBe(false);
    expect(response.statusCode).toBe(400);
    const body = bodyOf(response);
    expect(body.code).toBe('VALIDATION');
    const errors = body.errors as { path: string; message: string }[];
    expect(errors.map((e) => e.path).sort()).toEqual(['count', 'devices[1].name', 'owner.email']);
    for (const e of errors) expect(e.message).not.toBe('');
  });

  it('parseInput returns the parsed value or throws a 400 that says where the field was', () => {
    const Query = z.object({ limit: z.coerce.number().int().max(100) });
    expect(parseInput(Query, { limit: '25' }, 'query')).toEqual({ limit: 25 });
    let thrown: unknown;
    try {
      parseInput(Query, { limit: '500' }, 'query');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(RequestValidationError);
    const body = bodyOf(errorToProblem(thrown, ctx).response);
    expect(body.status).toBe(400);
    expect(body.errors).toEqual([{ path: 'limit', message: expect.any(String), in: 'query' }]);
  });

  it('formats paths with dots for keys and brackets for indices', () => {
    expect(formatPath([])).toBe('');
    expect(formatPath(['a', 0, 'b', 12])).toBe('a[0].b[12]');
    expect(formatPath([3, 'x'])).toBe('[3].x');
  });
});

describe('other errors', () => {
  it('HttpError keeps its status, title, field errors and headers', () => {
    const error = new HttpError(415, 'send JSON', { headers: { 'x-why': 'type' } });
    const { response, serverFault } = errorToProblem(error, ctx);
    expect(serverFault).toBe(false);
    expect(response.statusCode).toBe(415);
    expect(response.headers?.['x-why']).toBe('type');
    expect(bodyOf(response)).toEqual({
      type: 'about:blank',
      title: 'Unsupported Media Type',
      status: 415,
      detail: 'send JSON',
      instance: '/v1/workers/w-1',
      requestId: 'req-42',
    });
  });

  it('an unknown error is a 500 that leaks nothing', () => {
    const secret = new Error('connect ECONNREFUSED 10.0.0.12:5432 password=hunter2');
    const { response, serverFault } = errorToProblem(secret, ctx);
    expect(serverFault).toBe(true);
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('hunter2');
    expect(response.body).not.toContain('ECONNREFUSED');
    expect(bodyOf(response)).toMatchObject({
      status: 500,
      title: 'Internal Server Error',
      requestId: 'req-42',
    });
  });

  it('non-Error values are 500 too', () => {
    expect(errorToProblem('boom').response.statusCode).toBe(500);
    expect(errorToProblem(undefined).response.statusCode).toBe(500);
  });

  it('AWS throttling is a retryable 503', () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const { response, serverFault } = errorToProblem(throttled, ctx);
    expect(serverFault).toBe(true);
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('1');
    expect(response.body).not.toContain('Rate exceeded');
  });
});
