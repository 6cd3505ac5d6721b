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

export interface Extension {
  readonly at: string;
  readonly by: string;
  readonly minutes: number;
  /** The timeslot end it moved to. */
  readonly end: string;
  /** Minutes extended in all after it. */
  readonly total: number;
  readonly reason?: string;
}

/**
 * The time extensions in a session's history (`POST /v1/sessions/{id}/extend`, issue 15 item 1),
 * oldest first. The API records each as a history entry that keeps the status (from = to) with the
 * reason `extended by <n> min to <end> (<total> min in all)[: <why>]` (sessions/extend.ts); other
 * entries, recoveries among them, are not extensions.
 */
export function extensions(history: View['history']): Extension[] {
  const out: Extension[] = [];
  for (const h of [...history].sort((a, b) => a.at.localeCompare(b.at))) {
    if (h.from !== h.to || !h.reason) continue;
    const m = /^extended by (\d+) min to (\S+) \((\d+) min in all\)(?:: ([\s\S]*))?$/.exec(h.reason);
    if (!m) continue;
    out.push({
      at: h.at,
      by: h.by,
      minutes: Number(m[1]),
      end: m[2]!,
      total: Number(m[3]),
      ...(m[4] ? { reason: m[4] } : {}),
    });
  }
  return out;
}
