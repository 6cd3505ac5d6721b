import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj, type MiddyfiedHandler, type Request } from '@middy/core';
import type {
  APIGatewayEventRequestContextJWTAuthorizer,
  APIGatewayEventRequestContextV2,
  APIGatewayProxyEventV2WithRequestContext,
  Context,
} from 'aws-lambda';
import { logger as runtimeLogger } from '../runtime/logger.ts';
import { flushMetrics } from '../runtime/metric-buffer.ts';
import { traced } from '../runtime/tracing.ts';
import { errorToProblem, HttpError } from './errors.ts';
import type { HttpResult } from './problem.ts';

/**
 * The middleware set every API handler uses:
 *   Powertools Logger with the Lambda context, plus correlation_id (API Gateway request id),
 *   route and principal on every line → error → problem+json mapping → JSON body parsing; the
 *   business metrics the request recorded are published when it is answered (metric-buffer.ts);
 *   in Lambda with tracing on the handler runs in the subsegment `## api <name>` (a 4xx answer is
 *   not a fault; runtime/tracing.ts), where the operation annotates the ids it parsed.
 * Handlers stay thin: `export const handler = apiHandler(async (event) => json(200, ...))`.
 */

export type JwtClaims = APIGatewayEventRequestContextJWTAuthorizer['jwt']['claims'];

/** What API Gateway HTTP API sends (payload 2.0); `authorizer` is absent on routes without auth. */
export type ApiGatewayEvent = APIGatewayProxyEventV2WithRequestContext<
  APIGatewayEventRequestContextV2 & { authorizer?: APIGatewayEventRequestContextJWTAuthorizer }
>;

/** The event a handler sees: `body` is the parsed JSON (or the raw string in `raw` mode). */
export type ApiEvent = Omit<ApiGatewayEvent, 'body'> & {
  body: unknown;
  /** The body exactly as API Gateway delivered it (base64 when isBase64Encoded). */
  rawBody: string | undefined;
};

export type ApiHandler = (event: ApiEvent, context: Context) => Promise<HttpResult>;

/**
 * `optional` (default): parse JSON when a body is present. `required`: a missing body is a
 * 400. `raw`: leave the body as delivered (e.g. CloudEvents binary mode, HMAC over raw bytes).
 */
export type BodyMode = 'optional' | 'required' | 'raw';

export interface ApiHandlerOptions {
  body?: BodyMode;
  /**
   * Runs before the body is read: throw (e.g. a 401/403 HttpError) to refuse the request, so a
   * caller who may not call the operation learns nothing from body parsing errors.
   */
  authorize?: (event: ApiGatewayEvent) => void;
  /** Larger bodies are a 413; default 256 KiB. A function: per request (the operation's own limit). */
  maxBodyBytes?: number | ((event: ApiGatewayEvent) => number);
  logger?: Logger;
  /** Name of the handler's trace subsegment (`## api <name>`); default `api`. */
  name?: string;
}

export const MAX_BODY_BYTES = 256 * 1024;

export function apiHandler(
  fn: ApiHandler,
  opts: ApiHandlerOptions = {},
): MiddyfiedHandler<ApiGatewayEvent, HttpResult> {
  const logger = opts.logger ?? runtimeLogger;
  return middy<ApiGatewayEvent, HttpResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use({ after: flushMetrics, onError: flushMetrics })
    .use(requestLogging(logger))
    .use(problemErrors(logger))
    .use({ before: (request) => opts.authorize?.(request.event) })
    .use(jsonBody({ mode: opts.body ?? 'optional', maxBytes: opts.maxBodyBytes ?? MAX_BODY_BYTES }))
    .handler((event, context) =>
      traced(
        opts.name ? `api ${opts.name}` : 'api',
        () => fn(event as unknown as ApiEvent, context),
        {},
        (e) => errorToProblem(e).serverFault,
      ),
    );
}

/** The authenticated caller, when the route has a JWT authorizer and the token was accepted. */
export function principalOf(
  event: Pick<ApiGatewayEvent, 'requestContext'>,
): { sub: string; claims: JwtClaims; scopes: string[] } | undefined {
  const jwt = event.requestContext.authorizer?.jwt;
  const sub = jwt?.claims.sub;
  if (!jwt || typeof sub !== 'string') return undefined;
  return { sub, claims: jwt.claims, scopes: jwt.scopes ?? [] };
}

type ApiRequest = Request<ApiGatewayEvent, HttpResult, Error, Context>;

/** Adds request keys to every log line and writes one line per request with status and duration. */
export function requestLogging(logger: Logger): MiddlewareObj<ApiGatewayEvent, HttpResult, Error, Context> {
  const startedAt = new WeakMap<object, number>();
  const done = (request: ApiRequest) => {
    const status = request.response?.statusCode ?? 200;
    const started = startedAt.get(request.event);
    const durationMs = started === undefined ? undefined : Math.round(performance.now() - started);
    logger.info('request completed', { status, durationMs });
  };
  return {
    before: (request) => {
      startedAt.set(request.event, performance.now());
      const event = request.event;
      if (event.requestContext?.requestId) logger.setCorrelationId(event.requestContext.requestId);
      logger.appendKeys({
        route: event.routeKey,
        principal: principalOf(event)?.sub ?? 'anonymous',
      });
    },
    after: done,
    onError: done,
  };
}

/** Maps whatever a handler throws to problem+json; 5xx are logged with the error, 4xx briefly. */
export function problemErrors(logger: Logger): MiddlewareObj<ApiGatewayEvent, HttpResult, Error, Context> {
  return {
    onError: (request) => {
      const { response, serverFault } = errorToProblem(request.error, {
        instance: request.event.rawPath,
        requestId: request.event.requestContext?.requestId,
      });
      if (serverFault) logger.error('request failed', { status: response.statusCode, error: request.error });
      else logger.info('request rejected', { status: response.statusCode, reason: request.error?.message });
      request.response = response;
    },
  };
}

export interface JsonBodyOptions {
  mode: BodyMode;
  maxBytes: number | ((event: ApiGatewayEvent) => number);
}

/** Throws on bytes that are not UTF-8 (and keeps a BOM as U+FEFF, which JSON.parse refuses). */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** JSON media types: application/json and application/<anything>+json. */
const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json$/;

export function jsonBody(opts: JsonBodyOptions): MiddlewareObj<ApiGatewayEvent, HttpResult, Error, Context> {
  return {
    before: (request) => {
      const event = request.event as unknown as ApiEvent;
      const raw = typeof request.event.body === 'string' ? request.event.body : undefined;
      event.rawBody = raw;
      if (raw === undefined || raw === '') {
        event.body = undefined;
        if (opts.mode === 'required') throw new HttpError(400, 'A JSON request body is required.');
        return;
      }

      const bytes = request.event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
      const maxBytes = typeof opts.maxBytes === 'function' ? opts.maxBytes(request.event) : opts.maxBytes;
      if (bytes.length > maxBytes) {
        throw new HttpError(413, `The request body is ${bytes.length} bytes; the limit is ${maxBytes}.`);
      }
      if (opts.mode === 'raw') return;

      const contentType = header(request.event.headers, 'content-type');
      const [mediaType = '', ...params] = (contentType ?? '').split(';').map((p) => p.trim().toLowerCase());
      const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length);
      if (!JSON_MEDIA_TYPE.test(mediaType) || (charset !== undefined && !/^"?utf-8"?$/.test(charset))) {
        throw new HttpError(
          415,
          `Send the body as application/json (UTF-8); got ${contentType ?? 'no content type'}.`,
        );
      }
      // Invalid UTF-8 is refused, not decoded to U+FFFD (which would then be stored).
      let text: string;
      try {
        text = STRICT_UTF8.decode(bytes);
      } catch {
        throw new HttpError(400, 'The request body is not valid UTF-8.', {
          title: 'Malformed body',
          errors: [{ path: 'body', message: 'must be UTF-8 encoded', in: 'body' }],
        });
      }
      try {
        event.body = JSON.parse(text);
      } catch (e) {
        throw new HttpError(400, `The request body is not valid JSON: ${(e as Error).message}`, {
          title: 'Malformed JSON',
        });
      }
    },
  };
}

/** API Gateway lower-cases header names; direct invocations (tests) may not. */
function header(headers: ApiGatewayEvent['headers'] | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const direct = headers[name];
  if (direct !== undefined) return direct;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}
