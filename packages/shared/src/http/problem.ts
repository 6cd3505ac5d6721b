import { STATUS_CODES } from 'node:http';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

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
