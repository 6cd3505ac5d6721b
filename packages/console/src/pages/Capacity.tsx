import { useState } from 'react';
import { unwrap } from '../api/client.ts';
import { ProblemBox } from '../components/ProblemBox.tsx';
import { AVAILABILITY_PATH, availabilityRanges, cellColour, heatMap, slotsOf } from '../lib/availability.ts';
import { useConsole } from '../lib/context.ts';
import { useLoad } from '../lib/hooks.ts';
import { ProblemError, toProblem } from '../lib/problem.ts';

const WEEK_MS = 7 * 24 * 3600 * 1000;

/** Monday 00:00 UTC of the week holding `d`. */
const weekStart = (d: Date) => {
  const day = (d.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day));
};

/**
 * The capacity book: whether one more session of a definition fits, slot by slot over a week
 * (GET /v1/availability, shown only when the API document has the route).
 */
export function CapacityPage() {
  const { api, config, token } = useConsole();
  const defs = useLoad(
    () => unwrap(api.GET('/v1/definitions', { params: { query: { limit: 100, status: 'ACTIVE' } } })),
    [api],
  );
  const [definitionId, setDefinitionId] = useState('');
  const [week, setWeek] = useState(() => weekStart(new Date()));
  const [stepMinutes, setStepMinutes] = useState(60);
  const chosen = definitionId || defs.data?.items[0]?.id || '';
  const slots = useLoad(async () => {
    if (!chosen) return [];
    // A week is more slots than one answer holds: ask in parts, in parallel.
    const parts = availabilityRanges(week.getTime(), week.getTime() + WEEK_MS, stepMinutes).map(
      async ({ from, to }) => {
        const q = new URLSearchParams({ definitionId: chosen, from, to, stepMinutes: String(stepMinutes) });
        // The route is newer than the generated client may be: a plain fetch with the same token.
        const res = await fetch(`${config.apiUrl}${AVAILABILITY_PATH}?${q}`, {
          headers: { authorization: `Bearer ${token() ?? ''}` },
        });
        const body = await res.json().catch(() => null);
        if (!res.ok) throw new ProblemError(toProblem(res.status, body));
        return slotsOf(body);
      },
    );
    return (await Promise.all(parts)).flat();
  }, [chosen, week.getTime(), stepMinutes]);
  const map = heatMap(slots.data ?? []);
  return (
    <section aria-labelledby="cap-h">
      <h2 id="cap-h">Capacity book</h2>
      <div className="filters">
        <p className="field">
          <label htmlFor="cap-def">Definition</label>
          <select id="cap-def" value={chosen} onChange={(e) => setDefinitionId(e.target.value)}>
            {(defs.data?.items ?? []).map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </p>
        <p className="field">
          <label htmlFor="cap-step">Slot</label>
          <select id="cap-step" value={stepMinutes} onChange={(e) => setStepMinutes(Number(e.target.value))}>
            <option value={30}>30 min</option>
            <option value={60}>1 hour</option>
            <option value={120}>2 hours</option>
          </select>
        </p>
        <button type="button" onClick={() => setWeek(new Date(week.getTime() - WEEK_MS))}>
          Previous week
        </button>
        <button type="button" onClick={() => setWeek(new Date(week.getTime() + WEEK_MS))}>
          Next week
        </button>
      </div>
      <ProblemBox problem={slots.problem ?? defs.problem} />
      <table className="heatmap">
        <caption>
          Week of {week.toISOString().slice(0, 10)} (UTC): sessions that still fit, per slot; red: none
        </caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            {map.times.map((t) => (
              <th scope="col" key={t}>
                {t}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {map.days.map((d, i) => (
            <tr key={d}>
              <th scope="row">{d}</th>
              {map.cells[i]!.map((c, j) => (
                <td
                  key={map.times[j]}
                  style={{ background: cellColour(c, map.maxAdditional) }}
                  title={c ? `${c.start}: ${c.fits ? `${c.additional} more fit` : 'full'}` : 'no data'}
                >
                  <span className="cell-text">{c ? (c.fits ? c.additional : '×') : ''}</span>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
