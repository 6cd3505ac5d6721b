import { join } from 'node:path';
import { OPERATIONS, type Operation } from '@lcm/shared/api';
import { apiFunctionOf } from '../../functions/catalogue.ts';
import { REPO_ROOT } from './bundling.ts';

/**
 * What the API stack and the bundle-size report derive from the operation catalogue
 * (packages/shared/src/api/operations.ts): the route groups, their handler entries and the
 * table access each group needs. Nothing here lists a route or a group by hand.
 */

const operations: readonly Operation[] = OPERATIONS;

/** Distinct route groups in catalogue order: one Lambda function each. */
export const API_GROUPS: readonly string[] = [...new Set(operations.map((o) => o.group))];

/** The operations served by one group. */
export const operationsOf = (group: string): Operation[] => operations.filter((o) => o.group === group);

/** Handler module of a group, relative to the repository root: its function's catalogue entry. */
export const handlerPathOf = (group: string): string => apiFunctionOf(group).entry;

/** Absolute path of a group's handler module (NodejsFunction `entry`). */
export const handlerEntryOf = (group: string): string => join(REPO_ROOT, handlerPathOf(group));

/**
 * Whether an operation only reads the table. The permission says so: `<resource>:read`
 * permissions are reads, every other permission may write. Public operations (permission
 * null: health, the OpenAPI document) are reads: nothing an anonymous caller triggers may write.
 * An operation that accepts an Idempotency-Key writes its idempotency record (in the same table)
 * whatever its permission says.
 */
export const isReadOperation = (o: Operation): boolean =>
  !o.idempotent && (o.permission === null || o.permission.endsWith(':read'));

export type TableAccess = 'read' | 'readWrite';

/** `read` when every operation of the group is a read (grantReadData), else `readWrite`. */
export const tableAccessOf = (group: string): TableAccess => {
  const ops = operationsOf(group);
  if (ops.length === 0) throw new Error(`No operation in group "${group}"`);
  return ops.every(isReadOperation) ? 'read' : 'readWrite';
};
