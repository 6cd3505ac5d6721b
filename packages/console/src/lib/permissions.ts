import { hasPermission, type Role, rolesFromClaims } from '../../../shared/src/api/roles.ts';
import { OPERATION_PERMISSION, type OperationId } from '../api/operations.gen.ts';

/**
 * What the caller may do, from the role table (api/roles.ts) and each operation's permission
 * (api/operations.ts, generated into operations.gen.ts): the console hides what a role may not
 * call rather than letting the API refuse it.
 */
export interface Caller {
  readonly roles: readonly Role[];
  readonly subject: string;
}

/** The JWT's payload (no verification: the API verifies; the console only reads the claims). */
export function claimsOf(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1];
  if (!part) throw new Error('not a JWT');
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const json = decodeURIComponent(
    Array.from(atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, '=')))
      .map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
      .join(''),
  );
  return JSON.parse(json) as Record<string, unknown>;
}

export function callerOf(accessToken: string): Caller {
  const claims = claimsOf(accessToken);
  const subject = String(claims.username ?? claims.client_id ?? claims.sub ?? 'unknown');
  return { roles: rolesFromClaims(claims), subject };
}

export function can(caller: Caller | null, operationId: OperationId): boolean {
  const permission = OPERATION_PERMISSION[operationId];
  if (permission === null) return true;
  return caller !== null && hasPermission(caller.roles, permission);
}

/** The pages a caller sees: each needs the read operation behind it. */
export const PAGES = [
  { id: 'fleet', label: 'Fleet', needs: 'listWorkers' },
  { id: 'sessions', label: 'Sessions', needs: 'listSessions' },
  { id: 'definitions', label: 'Definitions', needs: 'listDefinitions' },
  { id: 'templates', label: 'Templates', needs: 'listWorkerTemplates' },
  { id: 'capacity', label: 'Capacity book', needs: 'listDefinitions' },
  { id: 'stream-failures', label: 'Stream failures', needs: 'listStreamFailures' },
] as const satisfies readonly { id: string; label: string; needs: OperationId }[];

export type PageId = (typeof PAGES)[number]['id'];

/**
 * The pages shown: those whose read the caller may call; the capacity book only when the API
 * document has the availability route (`hasAvailability`).
 */
export function visiblePages(caller: Caller | null, hasAvailability: boolean) {
  return PAGES.filter((p) => can(caller, p.needs) && (p.id !== 'capacity' || hasAvailability));
}
