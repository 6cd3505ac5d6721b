import { useState } from 'react';
import { unwrap } from '../api/client.ts';
import type { components } from '../api/schema.gen.ts';
import { Field } from '../components/Field.tsx';
import { ProblemBox } from '../components/ProblemBox.tsx';
import { TableHead } from '../components/TableHead.tsx';
import { useConsole } from '../lib/context.ts';
import { formatTime } from '../lib/fleet.ts';
import { useLive, useLoad } from '../lib/hooks.ts';
import { href, type Route } from '../lib/route.ts';
import { SESSION_FILTERS, STATUSES, sessionQuery } from '../lib/sessions.ts';

type Session = components['schemas']['LabletSession'];

/** The free-text and time filters: query name, label, input type. */
const TEXT_FILTERS = [
  ['definitionId', 'Definition', 'text'],
  ['workerId', 'Worker', 'text'],
  ['startFrom', 'Starts from', 'datetime-local'],
  ['startTo', 'Starts before', 'datetime-local'],
] as const satisfies readonly (readonly [(typeof SESSION_FILTERS)[number], string, string])[];

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
        {TEXT_FILTERS.map(([name, label, type]) => (
          <Field
            key={name}
            name={name}
            label={label}
            type={type}
            value={draft[name]}
            onChange={(v) => setDraft({ ...draft, [name]: v })}
          />
        ))}
        <button type="submit" className="primary">
          Apply filters
        </button>
      </form>
      <ProblemBox problem={list.problem} />
      <table className="grid">
        <caption>Sessions{list.loading ? ' (loading)' : ''}</caption>
        <TableHead columns={['Session', 'Status', 'Definition', 'Worker', 'Owner', 'Timeslot']} />
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
