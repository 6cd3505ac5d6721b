import type * as z from 'zod';
import { $ZodError } from 'zod/v4/core';
import {
  type DomainErrorCode,
  isDomainError,
  UnprocessableError,
  ValidationError,
} from '../../kernel/index.ts';
import { type FieldError, type HttpHeaders, type HttpResult, PROBLEM_TYPE_BASE, problem } from './problem.ts';

/**
 * Error → problem+json. The one table below says which HTTP status each domain error code
 * gets; the compiler insists every code is listed. Anything unknown is a 500 that says
 * nothing about internals (the caller logs it, the reply carries the request id instead).
 */
export const DOMAIN_ERROR_HTTP = {
  //  code                      status  title
  VALIDATION: { status: 400, title: 'Invalid request' },
  TOPOLOGY_INVALID: { status: 400, title: 'Invalid topology' },
  POD_TYPE_INDETERMINATE: { status: 400, title: 'Pod type cannot be determined' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  INVALID_TRANSITION: { status: 409, title: 'Invalid state transition' },
  VERSION_CONFLICT: { status: 409, title: 'Concurrent modification' },
  DUPLICATE: { status: 409, title: 'Already exists' },
  CONFLICT: { status: 409, title: 'Conflict' },
  NO_CAPACITY: { status: 409, title: 'No capacity' },
  CAPACITY_FULL: { status: 409, title: 'Capacity full' },
  EXTENSION_NOT_ALLOWED: { status: 409, title: 'Extension not allowed' },
  UNPROCESSABLE: { status: 422, title: 'Cannot be served' },
} as const satisfies Record<DomainErrorCode, { status: number; title: string }>;

export const problemTypeFor = (code: string): string =>
  `${PROBLEM_TYPE_BASE}${code.toLowerCase().replaceAll('_', '-')}`;

/** An HTTP-level failure raised by the plumbing or a handler (bad body, forbidden, ...). */
export class HttpError extends Error {
  readonly status: number;
  readonly title: string | undefined;
  readonly detail: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: HttpHeaders | undefined;
  readonly type: string | undefined;
  constructor(
    status: number,
    detail: string,
    opts: { title?: string; errors?: FieldError[]; headers?: HttpHeaders; type?: string } = {},
  ) {
    super(detail);
    this.name = 'HttpError';
    this.status = status;
    this.detail = detail;
    this.title = opts.title;
    this.errors = opts.errors;
    this.headers = opts.headers;
    this.type = opts.type;
  }
}

/** Input that failed its schema, with every offending field. */
export class RequestValidationError extends HttpError {
  constructor(errors: FieldError[], detail = 'The request has invalid fields; see errors.') {
    super(400, detail, { title: 'Invalid request', errors, type: problemTypeFor('VALIDATION') });
    this.name = 'RequestValidationError';
  }
}

type PathSegment = PropertyKey;

/** `["owner","email"]` → `owner.email`; `["devices",0,"name"]` → `devices[0].name`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

export function zodFieldErrors(error: z.core.$ZodError, location?: FieldError['in']): FieldError[] {
  return error.issues.map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
    ...(location ? { in: location } : {}),
  }));
}

/**
 * Validates request input against a schema; a mismatch becomes a 400 naming each field and
 * where it was (`body`, `query`, `path`).
 */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  location: NonNullable<FieldError['in']>,
): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new RequestValidationError(zodFieldErrors(result.error, location));
  return result.data;
}

/** AWS throttling and transient service errors: the caller may retry, so 503 with Retry-After. */
const TRANSIENT_ERROR_NAMES = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'InternalServerError',
  'TimeoutError',
]);

export interface MappedError {
  response: HttpResult;
  /** 5xx: an operator should look (log at error level, with the stack). */
  serverFault: boolean;
}

export interface ProblemContext {
  /** The request path, used as the problem `instance`. */
  instance?: string;
  /** Echoed so callers can quote it; it is also on every log line of the request. */
  requestId?: string;
}

export function errorToProblem(error: unknown, ctx: ProblemContext = {}): MappedError {
  const base = {
    ...(ctx.instance !== undefined ? { instance: ctx.instance } : {}),
  };
  const requestId = ctx.requestId !== undefined ? { requestId: ctx.requestId } : {};

  if (error instanceof HttpError) {
    return {
      response: problem({
        ...base,
        status: error.status,
        detail: error.detail,
        ...(error.title !== undefined ? { title: error.title } : {}),
        ...(error.type !== undefined ? { type: error.type } : {}),
        ...(error.errors !== undefined ? { errors: error.errors } : {}),
        ...(error.headers !== undefined ? { headers: error.headers } : {}),
        extensions: requestId,
      }),
      serverFault: error.status >= 500,
    };
  }

  if (isDomainError(error)) {
    const { status, title } = DOMAIN_ERROR_HTTP[error.code];
    const errors =
      error instanceof ValidationError
        ? [{ path: error.field, message: stripField(error) }]
        : error instanceof UnprocessableError
          ? [...error.fieldErrors]
          : undefined;
    const details = errors ? withoutField(error.details) : error.details;
    return {
      response: problem({
        ...base,
        status,
        title,
        type: problemTypeFor(error.code),
        detail: error.message,
        ...(errors ? { errors } : {}),
        extensions: {
          code: error.code,
          ...(Object.keys(details).length > 0 ? { details } : {}),
          ...requestId,
        },
      }),
      serverFault: false,
    };
  }

  // Any zod schema failure that escaped a handler is bad input: the schemas guard requests.
  if (error instanceof $ZodError) {
    return {
      response: problem({
        ...base,
        status: 400,
        title: 'Invalid request',
        type: problemTypeFor('VALIDATION'),
        detail: 'The request has invalid fields; see errors.',
        errors: zodFieldErrors(error),
        extensions: { code: 'VALIDATION', ...requestId },
      }),
      serverFault: false,
    };
  }

  if (error instanceof Error && TRANSIENT_ERROR_NAMES.has(error.name)) {
    return {
      response: problem({
        ...base,
        status: 503,
        detail: 'A backing service is busy or slow; retry shortly.',
        headers: { 'retry-after': '1' },
        extensions: requestId,
      }),
      serverFault: true,
    };
  }

  return {
    response: problem({
      ...base,
      status: 500,
      detail: 'An unexpected error occurred; quote the request id when reporting it.',
      extensions: requestId,
    }),
    serverFault: true,
  };
}

const withoutField = ({ field: _field, ...rest }: Record<string, unknown>) => rest;

/** ValidationError's message is `field: message`; the field is already in `path`. */
const stripField = (e: ValidationError): string =>
  e.message.startsWith(`${e.field}: `) ? e.message.slice(e.field.length + 2) : e.message;
