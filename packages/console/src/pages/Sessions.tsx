import { useState } from 'react';
import { unwrap } from '../api/client.ts';
import type { components } from '../api/schema.gen.ts';
import { ProblemBox } from '../components/ProblemBox.tsx';
import { useConsole } from '../lib/context.ts';
import { formatTime } from '../lib/fleet.ts';
import { useLive, useLoad } from '../lib/hooks.ts';
import { href, type Route } from '../lib/route.ts';
import { SESSION_FILTERS, STATUSES, sessionQuery } from '../lib/sessions.ts';

type Session = components['schemas']['LabletSession'];

/** The session list: filters in the URL (shareable, back button), cursor pagination, live. */
export function SessionsPage({ route }: { route: Route }) {
  const { api, live } = useConsole();
  const filters = Object.fromEntries(SESSION_FILTERS.map((f) => [f, route.query.get(f) ?? ''])) as Record<
    (typeof SESSION_FILTERS)[number],
    string
  >;
  const cursor = route.query.get('cursor') ?? undefined;
  const prev = route.query.getAll('prev');
  const list = useLoad(
    () => unwrap(api.GET('/v1/sessions', { params: { query: sessionQuery(filters, cursor) } })),
    [api, route.query.toString()],
  );
  useLive(live, 'sessions', list.reload);
  const [draft, setDraft] = useState(filters);
  const go = (q: Record<string, string | undefined>, prevStack: string[] = []) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v) params.set(k, v);
    for (const p of prevStack) params.append('prev', p);
    window.location.hash = `#/sessions${params.size ? `?${params}` : ''}`;
  };
  return (
    <section aria-labelledby="sessions-h">
      <h2 id="sessions-h">Sessions</h2>
      <form
        className="filters"
        aria-label="Filter sessions"
        onSubmit={(e) => {
          e.preventDefault();
          go(draft);
        }}
      >
        <p className="field">
          <label htmlFor="f-status">Status</label>
          <select
            id="f-status"
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: e.target.value })}
          >
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </p>
        <p className="field">
          <label htmlFor="f-def">Definition</label>
          <input
            id="f-def"
            value={draft.definitionId}
            onChange={(e) => setDraft({ ...draft, definitionId: e.target.value })}
          />
        </p>
        <p className="field">
          <label htmlFor="f-worker">Worker</label>
          <input
            id="f-worker"
            value={draft.workerId}
            onChange={(e) => setDraft({ ...draft, workerId: e.target.value })}
          />
        </p>
        <p className="field">
          <label htmlFor="f-from">Starts from</label>
          <input
            id="f-from"
            type="datetime-local"
            value={draft.startFrom}
            onChange={(e) => setDraft({ ...draft, startFrom: e.target.value })}
          />
        </p>
        <p className="field">
          <label htmlFor="f-to">Starts before</label>
          <input
            id="f-to"
            type="datetime-local"
            value={draft.startTo}
            onChange={(e) => setDraft({ ...draft, startTo: e.target.value })}
          />
        </p>
        <button type="submit" className="primary">
          Apply filters
        </button>
      </form>
      <ProblemBox problem={list.problem} />
      <table className="grid">
        <caption>Sessions{list.loading ? ' (loading)' : ''}</caption>
        <thead>
          <tr>
            <th scope="col">Session</th>
            <th scope="col">Status</th>
            <th scope="col">Definition</th>
            <th scope="col">Worker</th>
            <th scope="col">Owner</th>
            <th scope="col">Timeslot</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.items ?? []).map((s: Session) => (
            <tr key={s.id} data-session={s.id}>
              <th scope="row">
                <a href={href(['sessions', s.id])}>{s.id}</a>
              </th>
              <td>
                <span className={`status status-${s.status}`} data-testid={`status-${s.id}`}>
                  {s.status}
                </span>
              </td>
              <td>
                {s.definitionId} v{s.definitionVersion}
              </td>
              <td>{s.workerId ?? '—'}</td>
              <td>{s.owner.username ?? s.owner.userId}</td>
              <td>
                {formatTime(s.timeslot.start)} – {formatTime(s.timeslot.end)}
              </td>
            </tr>
          ))}
          {list.data && list.data.items.length === 0 ? (
            <tr>
              <td colSpan={6}>No session matches.</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <nav aria-label="Pagination" className="pager">
        <button
          type="button"
          disabled={prev.length === 0}
          onClick={() => go({ ...filters, cursor: prev.at(-1) || undefined }, prev.slice(0, -1))}
        >
          Previous page
        </button>
        <button
          type="button"
          disabled={!list.data?.nextCursor}
          onClick={() => go({ ...filters, cursor: list.data?.nextCursor }, [...prev, cursor ?? ''])}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}
