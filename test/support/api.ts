import { randomUUID } from 'node:crypto';
import { OPERATIONS, routeKeyOf } from '@lcm/shared/api';
import type { ApiGatewayEvent, HttpResult } from '@lcm/shared/platform';
import type { Context } from 'aws-lambda';

/**
 * Invoke an API handler directly with an API Gateway HTTP API v2 event, as API Gateway would
 * after its JWT authorizer accepted a token carrying `role` in its groups claim.
 */
export type TestRole = 'admin' | 'operator' | 'portal' | 'viewer';

export interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** Sent verbatim instead of JSON.stringify(body). */
  rawBody?: string;
  headers?: Record<string, string>;
  /** undefined = no token (no authorizer context). */
  role?: TestRole | undefined;
  sub?: string;
  /** The token's `client_id` claim (the caller's client, its tenant); none by default (tenant = sub). */
  clientId?: string;
}

export interface CallResult {
  status: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: tests inspect replies of every shape
  body: any;
}

type Handler = (event: ApiGatewayEvent, context: Context) => Promise<HttpResult>;

export function apiEvent(operationId: string, opts: CallOptions = {}): ApiGatewayEvent {
  const op = OPERATIONS.find((o) => o.operationId === operationId);
  if (!op) throw new Error(`unknown operation ${operationId}`);
  const rawPath = op.path.replace(/\{(\w+)\+?\}/g, (_, k: string) =>
    encodeURIComponent(opts.params?.[k] ?? ''),
  );
  const rawQueryString = new URLSearchParams(opts.query ?? {}).toString();
  const body = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const headers: Record<string, string> = {
    ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const now = new Date();
  const event = {
    version: '2.0',
    routeKey: routeKeyOf(op),
    rawPath,
    rawQueryString,
    headers,
    ...(opts.query ? { queryStringParameters: opts.query } : {}),
    ...(opts.params ? { pathParameters: opts.params } : {}),
    ...(body !== undefined ? { body, isBase64Encoded: false } : { isBase64Encoded: false }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'test.local',
      domainPrefix: 'test',
      http: {
        method: op.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'vitest',
      },
      requestId: randomUUID(),
      routeKey: routeKeyOf(op),
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
      ...(opts.role
        ? {
            authorizer: {
              jwt: {
                claims: {
                  sub: opts.sub ?? `${opts.role}-user`,
                  'cognito:groups': `[lcm.${opts.role}]`,
                  ...(opts.clientId === undefined ? {} : { client_id: opts.clientId }),
                },
                scopes: [],
              },
            },
          }
        : {}),
    },
  };
  return event as unknown as ApiGatewayEvent;
}

export const lambdaContext = (): Context =>
  ({
    functionName: 'test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/test',
    logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  }) as Context;

export async function call(
  handler: Handler,
  operationId: string,
  opts: CallOptions = {},
): Promise<CallResult> {
  const res = await handler(apiEvent(operationId, opts), lambdaContext());
  const text = typeof res.body === 'string' ? res.body : '';
  let body: unknown = text;
  const type = String(res.headers?.['content-type'] ?? '');
  if (text && type.includes('json')) body = JSON.parse(text);
  return {
    status: res.statusCode ?? 200,
    headers: Object.fromEntries(Object.entries(res.headers ?? {}).map(([k, v]) => [k, String(v)])),
    body,
  };
}
