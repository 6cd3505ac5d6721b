/**
 * A small `fetch` wrapper shared by the partner clients (CML, LDS, Grading Engine):
 * per-attempt timeout (AbortSignal.timeout), bounded retries with full jitter on 5xx, network
 * errors and timeouts for idempotent calls (never on 4xx), and one typed error,
 * `IntegrationError`. It logs method, path, status, attempt and duration only: never headers,
 * query strings or bodies, so no token, password or API key can reach a log line. In Lambda with
 * tracing on, each call (its retries included) is a subsegment named after the partner with the
 * same fields (runtime/tracing.ts, `tracedCall`).
 */

import { tracedCall } from '../runtime/tracing.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Why a call failed. HTTP statuses map as listed in `codeForStatus`. */
export type IntegrationErrorCode =
  | 'TIMEOUT'
  | 'NETWORK'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'CLIENT_ERROR'
  | 'SERVER_ERROR'
  | 'INVALID_RESPONSE'
  /** CML: 403 at /authenticate. */
  | 'BAD_CREDENTIALS'
  /** The credentials or API key could not be loaded (Secrets Manager). */
  | 'CREDENTIALS_UNAVAILABLE';

/** The error body CML sends (`{code, description}`); other partners' bodies are mapped onto it. */
export interface ErrorBody {
  code?: number | string | undefined;
  description: string;
}

export interface IntegrationErrorInit {
  service: string;
  operation: string;
  code: IntegrationErrorCode;
  status?: number | undefined;
  retryable?: boolean | undefined;
  body?: ErrorBody | undefined;
  attempts?: number | undefined;
  cause?: unknown;
}

/**
 * A failed call to a partner system. `retryable` says whether the same call may succeed later
 * (timeouts, network errors, 5xx, 429); Step Functions retry policies and callers key on it.
 */
export class IntegrationError extends Error {
  readonly service: string;
  readonly operation: string;
  readonly code: IntegrationErrorCode;
  readonly status: number | undefined;
  readonly retryable: boolean;
  /** The partner's error body, when it sent one (`{code, description}` for CML). */
  readonly body: ErrorBody | undefined;
  readonly attempts: number;

  constructor(message: string, init: IntegrationErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'IntegrationError';
    this.service = init.service;
    this.operation = init.operation;
    this.code = init.code;
    this.status = init.status;
    this.retryable = init.retryable ?? isRetryableCode(init.code, init.status);
    this.body = init.body;
    this.attempts = init.attempts ?? 1;
  }

  /** A log-safe summary (no cause chain, nothing from request headers or bodies). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      service: this.service,
      operation: this.operation,
      code: this.code,
      status: this.status,
      retryable: this.retryable,
      attempts: this.attempts,
      ...(this.body ? { body: this.body } : {}),
    };
  }
}

export const isIntegrationError = (e: unknown): e is IntegrationError => e instanceof IntegrationError;

export function codeForStatus(status: number): IntegrationErrorCode {
  if (status === 400 || status === 422) return 'BAD_REQUEST';
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 429) return 'RATE_LIMITED';
  if (status >= 500) return 'SERVER_ERROR';
  return 'CLIENT_ERROR';
}

function isRetryableCode(code: IntegrationErrorCode, status: number | undefined): boolean {
  if (code === 'TIMEOUT' || code === 'NETWORK' || code === 'RATE_LIMITED') return true;
  return status !== undefined && status >= 500;
}

/** Structured-logger subset (Powertools Logger satisfies it). */
export interface IntegrationLogger {
  debug(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

export interface RetryPolicy {
  /** Total attempts including the first (default 3). 1 disables retries. */
  attempts: number;
  /** Ceiling of the first backoff in ms (default 200); doubles per retry up to maxDelayMs. */
  baseDelayMs: number;
  /** Ceiling of one backoff in ms (default 5000). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 5000 };
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface HttpClientOptions {
  /** Service name in errors and logs: `cml`, `lds`, `grading`. */
  service: string;
  /** Base URL the request paths are appended to (e.g. `https://10.0.1.7/api/v0`). */
  baseUrl: string;
  /** Per-attempt timeout in ms (default 10 s). */
  timeoutMs?: number | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  /** Replaceable for TLS settings (e.g. a fetch bound to an undici Agent with a pinned CA) and tests. */
  fetch?: typeof fetch | undefined;
  logger?: IntegrationLogger | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** [0, 1) source for the jitter. */
  random?: (() => number) | undefined;
}

export type ResponseKind = 'json' | 'text' | 'none';

export interface HttpRequest {
  method: HttpMethod;
  /** Path below the base URL, starting with `/`; the caller encodes path parameters. */
  path: string;
  /** Name of the operation for errors and logs (e.g. `importLab`). */
  operation: string;
  query?: Record<string, string | number | boolean | undefined> | undefined;
  headers?: Record<string, string> | undefined;
  /** A string is sent as is (set content-type in headers); anything else is sent as JSON. */
  body?: unknown;
  /**
   * Whether the call may be repeated safely. Default: GET, PUT and DELETE yes; POST and
   * PATCH no (they are then retried only when the connection was refused, i.e. nothing was sent).
   */
  idempotent?: boolean | undefined;
  timeoutMs?: number | undefined;
  /** How to read a 2xx body (default json; an empty body reads as undefined). */
  responseKind?: ResponseKind | undefined;
  /** Statuses returned to the caller as responses instead of thrown (e.g. 502 while booting). */
  acceptStatuses?: readonly number[] | undefined;
  /** Cancels the whole call, retries included. */
  signal?: AbortSignal | undefined;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed per `responseKind`; for an accepted non-2xx status, the parsed error body if any. */
  body: T;
  attempts: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Full jitter: uniform in [0, min(maxDelay, base * 2^retry)). */
export function fullJitterDelay(retry: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry, 20));
  return Math.floor(random() * ceiling);
}

/** Reads `{code, description}` (CML) or the usual alternatives (`message`, `detail`, `title`, `error`). */
export function parseErrorBody(text: string): ErrorBody | undefined {
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed === 'string') return { description: clip(parsed) };
  if (!parsed || typeof parsed !== 'object') return undefined;
  const o = parsed as Record<string, unknown>;
  const nested = o.error && typeof o.error === 'object' ? (o.error as Record<string, unknown>) : undefined;
  const description = [o.description, o.detail, o.message, o.title, nested?.message, o.error].find(
    (v): v is string => typeof v === 'string' && v.length > 0,
  );
  if (description === undefined) return undefined;
  const code = [o.code, nested?.code].find((v) => typeof v === 'number' || typeof v === 'string') as
    | number
    | string
    | undefined;
  return { ...(code !== undefined ? { code } : {}), description: clip(description) };
}

const clip = (s: string, max = 500) => (s.length > max ? `${s.slice(0, max)}…` : s);

interface AttemptFailure {
  error: IntegrationError;
  /** The request surely never reached the server (connection refused): safe to repeat any call. */
  notSent: boolean;
}

export class HttpClient {
  readonly service: string;
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly fetchImpl: typeof fetch;
  private readonly logger: IntegrationLogger | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(opts: HttpClientOptions) {
    this.service = opts.service;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    if (!Number.isInteger(this.retry.attempts) || this.retry.attempts < 1) {
      throw new RangeError('retry.attempts must be an integer >= 1');
    }
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
    this.logger = opts.logger;
    this.sleep = opts.sleep ?? defaultSleep;
    this.random = opts.random ?? Math.random;
  }

  /** Performs the request with retries; resolves with a 2xx (or accepted) response, else throws. */
  request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
    return tracedCall(
      this.service,
      { method: req.method, route: req.path.split('?')[0] ?? req.path, operation: req.operation },
      () => this.send<T>(req),
      ({ value, error }) =>
        value
          ? { status: value.status, attempts: value.attempts }
          : error instanceof IntegrationError
            ? { status: error.status, attempts: error.attempts }
            : {},
    );
  }

  private async send<T>(req: HttpRequest): Promise<HttpResponse<T>> {
    const idempotent =
      req.idempotent ?? (req.method === 'GET' || req.method === 'PUT' || req.method === 'DELETE');
    const attempts = this.retry.attempts;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt<T>(req, attempt);
      if (!('error' in outcome)) return { ...outcome, attempts: attempt };
      const { error, notSent } = outcome;
      // 4xx are never repeated here, not even 429 (retryable for the caller, who can wait longer).
      const transient = error.retryable && (error.status === undefined || error.status >= 500);
      const again = attempt < attempts && transient && (idempotent || notSent) && !req.signal?.aborted;
      if (!again) throw withAttempts(error, attempt);
      const delay = fullJitterDelay(attempt - 1, this.retry, this.random);
      this.logger?.debug('integration call retrying', {
        service: this.service,
        operation: req.operation,
        attempt,
        code: error.code,
        status: error.status,
        delayMs: delay,
      });
      await this.sleep(delay);
    }
  }

  private url(req: HttpRequest): string {
    const url = new URL(this.baseUrl + req.path);
    for (const [k, v] of Object.entries(req.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  private async attempt<T>(
    req: HttpRequest,
    attempt: number,
  ): Promise<Omit<HttpResponse<T>, 'attempts'> | AttemptFailure> {
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    let body: string | undefined;
    if (req.body !== undefined) {
      if (typeof req.body === 'string') body = req.body;
      else {
        body = JSON.stringify(req.body);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
          headers['content-type'] = 'application/json';
        }
      }
    }
    const started = Date.now();
    const base = { service: this.service, operation: req.operation, method: req.method, path: req.path };
    const fail = (error: IntegrationError, notSent = false): AttemptFailure => {
      this.logger?.warn('integration call failed', {
        ...base,
        attempt,
        code: error.code,
        status: error.status,
        durationMs: Date.now() - started,
      });
      return { error, notSent };
    };
    try {
      const res = await this.fetchImpl(this.url(req), { method: req.method, headers, body, signal });
      const text = await res.text();
      const durationMs = Date.now() - started;
      const accepted = req.acceptStatuses?.includes(res.status) ?? false;
      if (res.ok || accepted) {
        this.logger?.debug('integration call', { ...base, attempt, status: res.status, durationMs });
        if (!res.ok) return { status: res.status, headers: res.headers, body: parseErrorBody(text) as T };
        return { status: res.status, headers: res.headers, body: this.read<T>(req, text, res.status) };
      }
      const errorBody = parseErrorBody(text);
      const code = codeForStatus(res.status);
      const detail = errorBody ? `: ${errorBody.description}` : '';
      return fail(
        new IntegrationError(`${this.service} ${req.operation} failed with HTTP ${res.status}${detail}`, {
          service: this.service,
          operation: req.operation,
          code,
          status: res.status,
          body: errorBody,
        }),
      );
    } catch (e) {
      if (e instanceof IntegrationError) return fail(e);
      if (req.signal?.aborted) {
        throw new IntegrationError(`${this.service} ${req.operation} cancelled`, {
          service: this.service,
          operation: req.operation,
          code: 'NETWORK',
          retryable: false,
          attempts: attempt,
          cause: req.signal.reason,
        });
      }
      if (timeout.aborted) {
        return fail(
          new IntegrationError(`${this.service} ${req.operation} timed out after ${timeoutMs} ms`, {
            service: this.service,
            operation: req.operation,
            code: 'TIMEOUT',
          }),
        );
      }
      const causeCode = networkCode(e);
      return fail(
        new IntegrationError(
          `${this.service} ${req.operation} network error${causeCode ? ` (${causeCode})` : ''}`,
          { service: this.service, operation: req.operation, code: 'NETWORK', cause: e },
        ),
        causeCode === 'ECONNREFUSED',
      );
    }
  }

  private read<T>(req: HttpRequest, text: string, status: number): T {
    const kind = req.responseKind ?? 'json';
    if (kind === 'none') return undefined as T;
    if (kind === 'text') return text as T;
    if (text.trim() === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new IntegrationError(`${this.service} ${req.operation}: HTTP ${status} body is not JSON`, {
        service: this.service,
        operation: req.operation,
        code: 'INVALID_RESPONSE',
        status,
        retryable: false,
        cause,
      });
    }
  }
}

function withAttempts(e: IntegrationError, attempts: number): IntegrationError {
  if (e.attempts === attempts) return e;
  return new IntegrationError(e.message, {
    service: e.service,
    operation: e.operation,
    code: e.code,
    status: e.status,
    retryable: e.retryable,
    body: e.body,
    attempts,
    cause: e.cause,
  });
}

/** The errno-style code of a fetch network failure (undici puts it on `cause`). */
function networkCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Encodes one path segment. */
export const seg = (value: string): string => encodeURIComponent(value);
