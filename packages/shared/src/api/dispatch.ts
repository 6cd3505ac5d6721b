import type { MiddyfiedHandler } from '@middy/core';
import type * as z from 'zod';
import type { HttpResult, runIdempotent } from '../platform/index.ts';
import {
  type ApiEvent,
  type ApiGatewayEvent,
  annotate,
  apiHandler,
  HttpError,
  idempotencyKeyOf,
  logger,
  MAX_BODY_BYTES,
  parseInput,
  principalOf,
  type TraceSubjects,
} from '../platform/index.ts';
import { OPERATIONS, type Operation, routeKeyOf } from './operations.ts';
import { hasPermission, type Role, rolesFromClaims } from './roles.ts';

/**
 * Turns the operation catalogue into a Lambda handler for one route group: it finds the
 * operation by API Gateway's routeKey, checks the caller's role against the role table,
 * validates path/query/body with the operation's zod schemas and calls the implementation
 * with typed input. Implementations stay thin: call a command/query, shape the reply.
 * Operations marked `idempotent` honour an `Idempotency-Key` header (platform/http/idempotency.ts): a
 * repeat by the same caller returns the stored first reply without running the implementation.
 * The handler of a group with such operations passes `{ idempotency: runIdempotent }`: the
 * Powertools idempotency layer (some 40 KB) is then only in the bundles of the groups that use it.
 */

type Op = (typeof OPERATIONS)[number];
type OperationId = Op['operationId'];
type OpOf<K extends OperationId> = Extract<Op, { operationId: K }>;
type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface Caller {
  sub: string;
  roles: Role[];
  claims: Record<string, unknown>;
  /**
   * The API client the caller speaks for, its tenant: the token's `client_id` (a machine
   * client's app client, e.g. one reservation portal), else its `sub`. Sessions record it as
   * `bookedBy`; see api/views.ts.
   */
  tenant: string;
}

export interface OperationRequest<K extends OperationId> {
  params: OpOf<K> extends { params: infer S } ? Out<S> : undefined;
  query: OpOf<K> extends { query: infer S } ? Out<S> : undefined;
  body: OpOf<K> extends { body: infer S } ? Out<S> : undefined;
  /** Undefined only on public operations. */
  caller: Caller | undefined;
  /**
   * The `Idempotency-Key` header (validated, unquoted) on operations marked `idempotent`, when
   * the client sent one; the dispatcher has already made repeats return the first reply.
   */
  idempotencyKey: string | undefined;
  event: ApiEvent;
}

export type OperationImpl<K extends OperationId> = (req: OperationRequest<K>) => Promise<HttpResult>;

type GroupOps<G extends string> = Extract<Op, { group: G }>['operationId'];
export type GroupImplementations<G extends string> = { [K in GroupOps<G>]: OperationImpl<K> };

/** The caller of a request, or a 401 when an authenticated operation has none. */
export function callerOf(event: Pick<ApiGatewayEvent, 'requestContext'>): Caller | undefined {
  const p = principalOf(event);
  if (!p) return undefined;
  const claims = p.claims as Record<string, unknown>;
  const roles = rolesFromClaims({ ...claims, ...(p.scopes.length ? { scp: p.scopes } : {}) });
  return { sub: p.sub, roles, claims, tenant: tenantOf(p.sub, claims) };
}

/** `client_id` when the token has a non-empty one, else `sub`. */
const tenantOf = (sub: string, claims: Record<string, unknown>): string => {
  const clientId = claims.client_id;
  return typeof clientId === 'string' && clientId.trim() !== '' ? clientId : sub;
};

/** RBAC: 401 without a caller, 403 when none of the caller's roles grants the permission. */
export function authorize(operation: Operation, caller: Caller | undefined): void {
  if (operation.permission === null) return;
  if (!caller)
    throw new HttpError(401, 'A bearer token is required.', { headers: { 'www-authenticate': 'Bearer' } });
  if (!hasPermission(caller.roles, operation.permission)) {
    throw new HttpError(403, `This operation needs the permission ${operation.permission}.`, {
      title: 'Forbidden',
    });
  }
}

export interface OperationsOptions {
  /** `runIdempotent` (platform/http): required when the group has `idempotent` operations. */
  idempotency?: typeof runIdempotent;
}

/** The trace annotation a route's `{id}` is (runtime/tracing.ts), by path prefix. */
const SUBJECT_OF_ROUTE: readonly (readonly [prefix: string, key: keyof TraceSubjects])[] = [
  ['/v1/sessions/{id}', 'sessionId'],
  ['/v1/workers/{id}', 'workerId'],
];

/** The session or worker a request is about, from its parsed path parameters. */
export function traceSubjectsOfRoute(path: string, params: unknown): TraceSubjects {
  const id = (params as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string') return {};
  const match = SUBJECT_OF_ROUTE.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`));
  return match ? { [match[1]]: id } : {};
}

export function operationsHandler<G extends string>(
  group: G,
  impls: GroupImplementations<G>,
  options: OperationsOptions = {},
): MiddyfiedHandler<ApiGatewayEvent, HttpResult> {
  const byRouteKey = new Map<string, Operation>();
  for (const o of OPERATIONS) if (o.group === group) byRouteKey.set(routeKeyOf(o), o);
  const { idempotency } = options;
  const idempotent = [...byRouteKey.values()].filter((o) => o.idempotent).map((o) => o.operationId);
  if (idempotent.length > 0 && !idempotency) {
    throw new Error(
      `The ${group} group has idempotent operations (${idempotent.join(', ')}): its handler must pass { idempotency: runIdempotent }.`,
    );
  }

  const operationOf = (event: Pick<ApiGatewayEvent, 'routeKey'>): Operation => {
    const operation = byRouteKey.get(event.routeKey);
    if (!operation) throw new HttpError(404, `No route ${event.routeKey} in ${group}.`);
    return operation;
  };

  return apiHandler(
    async (event, context) => {
      const operation = operationOf(event);
      const caller = callerOf(event);
      const params = operation.params
        ? parseInput(operation.params, event.pathParameters ?? {}, 'path')
        : undefined;
      annotate(traceSubjectsOfRoute(operation.path, params));
      const query = operation.query
        ? parseInput(operation.query, event.queryStringParameters ?? {}, 'query')
        : undefined;
      let body: unknown;
      if (operation.body) body = parseInput(operation.body, event.body ?? {}, 'body');
      else if (event.body !== undefined && event.body !== null && event.rawBody !== '') {
        throw new HttpError(400, 'This operation takes no request body.');
      }
      const impl = (impls as unknown as Record<string, OperationImpl<OperationId>>)[operation.operationId];
      if (!impl) throw new HttpError(501, `${operation.operationId} is not implemented.`);
      const idempotencyKey = operation.idempotent ? idempotencyKeyOf(event.headers) : undefined;
      const run = () =>
        impl({ params, query, body, caller, idempotencyKey, event } as OperationRequest<OperationId>);
      if (idempotencyKey === undefined || !idempotency) return run();
      return idempotency(
        {
          callerSub: caller?.sub ?? 'anonymous',
          operationId: operation.operationId,
          key: idempotencyKey,
          request: {
            params: event.pathParameters ?? {},
            query: event.queryStringParameters ?? {},
            body: event.body ?? null,
          },
        },
        context,
        run,
        (message, extra) => logger.warn(message, extra),
      );
    },
    {
      name: group,
      // Roles are checked before the body is read: no parse errors for callers who may not call.
      authorize: (event) => authorize(operationOf(event), callerOf(event)),
      // The operation's own body limit (6 MiB where topology YAML comes inline), else 256 KiB.
      maxBodyBytes: (event) => byRouteKey.get(event.routeKey)?.maxBodyBytes ?? MAX_BODY_BYTES,
    },
  );
}
