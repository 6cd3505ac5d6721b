import { SESSION_STATUSES } from '../api/operations.gen.ts';
import type { components, paths } from '../api/schema.gen.ts';

type View = components['schemas']['LabletSessionView'];
type ListQuery = NonNullable<paths['/v1/sessions']['get']['parameters']['query']>;

/** The status filter's choices (generated from kernel/enums.ts), checked against the API's type. */
export const STATUSES = SESSION_STATUSES satisfies readonly View['status'][];

export const SESSION_FILTERS = ['status', 'definitionId', 'workerId', 'startFrom', 'startTo'] as const;

/** datetime-local (`2026-12-07T10:00`, the browser's zone) → ISO 8601 UTC; '' stays absent. */
const toIso = (local: string): string | undefined => (local ? new Date(local).toISOString() : undefined);

/** The list's query from the page's filters (blank ones left out) and the page cursor. */
export function sessionQuery(
  filters: Partial<Record<(typeof SESSION_FILTERS)[number], string>>,
  cursor?: string,
  limit = 25,
): ListQuery {
  const q: ListQuery = { limit };
  if (filters.status) q.status = filters.status as ListQuery['status'];
  if (filters.definitionId) q.definitionId = filters.definitionId;
  if (filters.workerId) q.workerId = filters.workerId;
  const from = toIso(filters.startFrom ?? '');
  const to = toIso(filters.startTo ?? '');
  if (from) q.startFrom = from;
  if (to) q.startTo = to;
  if (cursor) q.cursor = cursor;
  return q;
}

/** The status timeline: one step per transition, oldest first, with how long the session stayed in it. */
export function timeline(history: View['history'], now = Date.now()) {
  const sorted = [...history].sort((a, b) => a.at.localeCompare(b.at));
  return sorted.map((h, i) => {
    const next = sorted[i + 1];
    const until = next ? Date.parse(next.at) : now;
    return { ...h, seconds: Math.max(0, Math.round((until - Date.parse(h.at)) / 1000)), current: !next };
  });
}
