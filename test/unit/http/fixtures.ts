import type { ApiGatewayEvent, JwtClaims } from '@lcm/shared/platform';
import type { Context } from 'aws-lambda';

/** A payload-2.0 event as API Gateway HTTP API sends it (header names lower-cased). */
export function httpEvent(
  init: {
    method?: string;
    path?: string;
    routePath?: string;
    headers?: Record<string, string>;
    body?: string;
    isBase64Encoded?: boolean;
    claims?: JwtClaims;
    requestId?: string;
  } = {},
): ApiGatewayEvent {
  const method = init.method ?? 'POST';
  const path = init.path ?? '/v1/things';
  const routeKey = `${method} ${init.routePath ?? path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'api.test', ...init.headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.test',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'vitest' },
      requestId: init.requestId ?? 'req-1',
      routeKey,
      stage: '$default',
      time: '22/Nov/2026:12:00:00 +0000',
      timeEpoch: 1_795_000_000_000,
      ...(init.claims ? { authorizer: { jwt: { claims: init.claims, scopes: null } } } : {}),
    },
    isBase64Encoded: init.isBase64Encoded ?? false,
    ...(init.body !== undefined ? { body: init.body } : {}),
  };
}

export function lambdaContext(awsRequestId = 'lambda-req-1'): Context {
  const fail = () => {
    throw new Error('not supported');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'lcm-test-api',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:lcm-test-api',
    memoryLimitInMB: '1024',
    awsRequestId,
    logGroupName: '/aws/lambda/lcm-test-api',
    logStreamName: '2026/11/22/[$LATEST]abc',
    getRemainingTimeInMillis: () => 10_000,
    done: fail,
    fail,
    succeed: fail,
  };
}

/** The body of a structured result, parsed. */
export const bodyOf = (result: { body?: string }): Record<string, unknown> =>
  JSON.parse(result.body ?? 'null') as Record<string, unknown>;
