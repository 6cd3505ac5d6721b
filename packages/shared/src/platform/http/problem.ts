import { STATUS_CODES } from 'node:http';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';

/**
 * RFC 9457 problem details and JSON success replies, shaped as API Gateway HTTP API (payload
 * format 2.0) structured results so handlers return them as they are.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const JSON_CONTENT_TYPE = 'application/json';

/** Base of the problem `type` URIs of LCM's own problems; generic HTTP problems use about:blank. */
export const PROBLEM_TYPE_BASE = 'https://lablet.io/problems/lcm/';

export type HttpResult = APIGatewayProxyStructuredResultV2;
export type HttpHeaders = Record<string, string>;

/** One offending input field; `in` says where it came from when a handler validated it. */
export interface FieldError {
  path: string;
  message: string;
  in?: 'body' | 'query' | 'path' | 'header';
}

export interface ProblemInit {
  status: number;
  /** Defaults to the HTTP reason phrase of `status` (RFC 9457 about:blank semantics). */
  title?: string;
  detail?: string;
  /** A URI; defaults to about:blank. */
  type?: string;
  /** The occurrence, usually the request path. */
  instance?: string;
  errors?: FieldError[];
  /** Extension members (e.g. `code`, `requestId`); they never overwrite the standard ones. */
  extensions?: Record<string, unknown>;
  headers?: HttpHeaders;
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/**
 * The problem document as a schema: what every LCM error body satisfies. It documents the error
 * replies in the OpenAPI document and lets tests check bodies. `detail` is required: LCM always
 * says what went wrong. Other members are extensions (RFC 9457 §3.2) and are allowed.
 */
export const FieldErrorSchema = z
  .object({
    path: z.string().meta({ description: 'The offending field, e.g. `owner.email` or `devices[0].name`.' }),
    message: z.string().meta({ description: 'What is wrong with it.' }),
    in: z
      .enum(['body', 'query', 'path', 'header'])
      .optional()
      .meta({ description: 'Where the field is: body, query, path or header.' }),
  })
  .meta({ id: 'FieldError' });

export const ProblemDocumentSchema = z
  .looseObject({
    type: z
      .string()
      .min(1)
      .meta({ description: 'A URI naming the problem type; about:blank for plain HTTP ones.' }),
    title: z.string().min(1).meta({ description: 'A short summary of the problem type.' }),
    status: z.number().int().min(400).max(599).meta({ description: 'The HTTP status.' }),
    detail: z.string().meta({ description: 'What went wrong with this request, in words.' }),
    instance: z.string().optional().meta({ description: 'The request path.' }),
    errors: z
      .array(FieldErrorSchema)
      .min(1)
      .optional()
      .meta({ description: 'The offending fields (validation problems).' }),
    code: z.string().optional().meta({ description: 'The domain error code (VALIDATION, NOT_FOUND, ...).' }),
    requestId: z
      .string()
      .optional()
      .meta({ description: 'API Gateway request id; quote it when reporting.' }),
  })
  .meta({
    id: 'ProblemDetails',
    description: 'RFC 9457 problem details (application/problem+json).',
  });

export const reasonPhrase = (status: number): string => STATUS_CODES[status] ?? 'Unknown Status';

export function problemDocument(init: ProblemInit): ProblemDocument {
  const doc: ProblemDocument = {
    type: init.type ?? 'about:blank',
    title: init.title ?? reasonPhrase(init.status),
    status: init.status,
  };
  if (init.detail !== undefined) doc.detail = init.detail;
  if (init.instance !== undefined) doc.instance = init.instance;
  if (init.errors !== undefined && init.errors.length > 0) doc.errors = init.errors;
  for (const [name, value] of Object.entries(init.extensions ?? {})) {
    if (!(name in doc) && value !== undefined) doc[name] = value;
  }
  return doc;
}

/** A problem+json reply. */
export function problem(init: ProblemInit): HttpResult {
  return {
    statusCode: init.status,
    headers: { ...init.headers, 'content-type': PROBLEM_CONTENT_TYPE },
    body: JSON.stringify(problemDocument(init)),
  };
}

/** A JSON reply; 204/304 carry no body. */
export function json(status: number, body?: unknown, headers?: HttpHeaders): HttpResult {
  if (status === 204 || status === 304 || body === undefined) {
    return { statusCode: status, headers: { ...headers } };
  }
  return {
    statusCode: status,
    headers: { ...headers, 'content-type': JSON_CONTENT_TYPE },
    body: JSON.stringify(body),
  };
}
