import { OPERATIONS, type Operation, routeKeyOf } from '@lcm/shared/api';
import { apiFunctionOf } from '../catalogue.ts';

/**
 * The HTTP API's routes as the gateway sees them, projected from the operation catalogue
 * (packages/shared/src/api/operations.ts), so there is one list: it drives the CDK HTTP API and
 * the local server, each route to the function of its `group` (functions/catalogue.ts,
 * API_FUNCTIONS; entry `functions/api/<group>.ts` exporting `handler`). Paths use API Gateway
 * syntax (`{id}`, `{proxy+}`). RBAC (`permission`) and the OpenAPI schemas live on the operation.
 */

export type HttpMethod = Operation['method'];

export interface RouteDefinition {
  readonly method: HttpMethod;
  readonly path: string;
  /** Handler module `functions/api/<group>.ts`; also the Lambda function of the group. */
  readonly group: string;
  /** true: the route has the JWT authorizer (false for health, openapi.json). */
  readonly auth: boolean;
  readonly operationId: string;
}

type CatalogueOperation = (typeof OPERATIONS)[number];
export type RouteGroup = CatalogueOperation['group'];

export const ROUTES: readonly (RouteDefinition & { group: RouteGroup })[] = OPERATIONS.map(
  (o: CatalogueOperation) => ({
    method: o.method,
    path: o.path,
    group: o.group,
    auth: o.permission !== null,
    operationId: o.operationId,
  }),
);

/** API Gateway's route key, e.g. `GET /v1/sessions/{id}`. */
export const routeKey = (route: Pick<RouteDefinition, 'method' | 'path'>): string => routeKeyOf(route);

/** Distinct groups in catalogue order: one Lambda function each. */
export const ROUTE_GROUPS: readonly RouteGroup[] = [...new Set(ROUTES.map((r) => r.group))];

/** The handler module of a group, relative to the repository root (its catalogue entry). */
export const handlerEntry = (group: string): string => apiFunctionOf(group).entry;
