import { lazy, Suspense, useMemo, useState } from 'react';
import { ErrorBoundary } from 'react-error-boundary';
import { idempotencyKey, unwrap } from '../api/client.ts';
import type { components } from '../api/schema.gen.ts';
import { CapacityBars } from '../components/CapacityBars.tsx';
import { ConfirmAction } from '../components/ConfirmAction.tsx';
import { colour } from '../components/colours.ts';
import { Failed } from '../components/Failed.tsx';
import { ProblemBox } from '../components/ProblemBox.tsx';
import { TableHead } from '../components/TableHead.tsx';
import { useConsole } from '../lib/context.ts';
import { formatDuration, formatTime, lastBootSeconds, usd } from '../lib/fleet.ts';
import { useLive, useLoad } from '../lib/hooks.ts';
import { can } from '../lib/permissions.ts';
import { href } from '../lib/route.ts';

/** The charts' code (uPlot) in its own chunk; `attempt` makes a new one after a failed load. */
const lazyChart = (_attempt: number) => lazy(() => import('../components/Chart.tsx'));

type Worker = components['schemas']['Worker'];
type Session = components['schemas']['LabletSession'];

const ACTIONS = [
  { op: 'startWorker', label: 'Start', danger: false },
  { op: 'stopWorker', label: 'Stop', danger: false },
  { op: 'drainWorker', label: 'Drain', danger: false },
  { op: 'terminateWorker', label: 'Terminate', danger: true },
] as const;

const DAY_MS = 24 * 3600 * 1000;

export function FleetPage() {
  const { api, caller, live } = useConsole();
  const [chartAttempt, setChartAttempt] = useState(0);
  const Chart = useMemo(() => lazyChart(chartAttempt), [chartAttempt]);
  const workers = useLoad(async () => {
    const list = await unwrap(api.GET('/v1/workers', { params: { query: { limit: 100 } } }));
    const sessions = await Promise.all(
      list.items.map((w) =>
        unwrap(api.GET('/v1/workers/{id}/sessions', { params: { path: { id: w.id } } })).then(
          (r) => r.items,
          () => [] as Session[],
        ),
      ),
    );
    return list.items.map((w, i) => ({ worker: w, sessions: sessions[i] ?? [] }));
  }, [api]);
  const usage = useLoad(async () => {
    const to = new Date();
    const from = new Date(to.getTime() - DAY_MS);
    return unwrap(
      api.GET('/v1/fleet/usage', {
        params: { query: { from: from.toISOString(), to: to.toISOString(), step: 900 } },
      }),
    );
  }, [api]);
  const cost = useLoad(async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 7 * DAY_MS);
    return unwrap(
      api.GET('/v1/fleet/cost', {
        params: { query: { from: from.toISOString(), to: to.toISOString(), groupBy: 'day' } },
      }),
    );
  }, [api]);
  const scaling = useLoad(
    () => unwrap(api.GET('/v1/fleet/scaling', { params: { query: { limit: 20 } } })),
    [api],
  );
  const pools = useLoad(() => unwrap(api.GET('/v1/fleet/pools')), [api]);
  useLive(live, 'fleet', () => {
    workers.reload();
    scaling.reload();
    pools.reload();
  });

  const usageSeries = useMemo(() => {
    const points = usage.data?.points ?? [];
    return {
      times: points.map((p) => Date.parse(p.at) / 1000),
      activity: [
        {
          label: 'RUNNING workers',
          values: points.map((p) => p.workersByStatus.RUNNING ?? 0),
          colour: colour(0),
        },
        { label: 'Sessions held', values: points.map((p) => p.sessionsHeld), colour: colour(1) },
        { label: 'Sessions active', values: points.map((p) => p.sessionsActive), colour: colour(2) },
      ],
      cpu: [
        { label: 'CPU declared', values: points.map((p) => p.declared.cpuCores), colour: colour(0) },
        { label: 'CPU allocated', values: points.map((p) => p.allocated.cpuCores), colour: colour(2) },
      ],
      cost: [
        { label: 'Cost rate $/h', values: points.map((p) => p.costRatePerHourUsd), colour: colour(3) },
        {
          label: 'Cost $ per step',
          values: points.map((p) => Number(p.costUsd.toFixed(4))),
          colour: colour(1),
        },
      ],
    };
  }, [usage.data]);

  const actionable = ACTIONS.filter((a) => can(caller, a.op));
  return (
    <section aria-labelledby="fleet-h">
      <h2 id="fleet-h">Fleet</h2>
      <ProblemBox problem={workers.problem} />
      <table className="grid">
        <caption>Workers ({workers.data?.length ?? '…'})</caption>
        <thead>
          <tr>
            <th scope="col">Worker</th>
            <th scope="col">Status</th>
            <th scope="col">Template</th>
            <th scope="col">Capacity (allocated / declared)</th>
            <th scope="col">Sessions</th>
            <th scope="col">Launched</th>
            <th scope="col">Last boot</th>
            {actionable.length ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {(workers.data ?? []).map(({ worker: w, sessions }) => (
            <WorkerRow
              key={w.id}
              worker={w}
              sessions={sessions}
              actions={actionable}
              onDone={workers.reload}
            />
          ))}
        </tbody>
      </table>

      <h3>Hot-start pools</h3>
      <ProblemBox problem={pools.problem} />
      <PoolsTable pools={pools.data?.pools ?? []} cost={cost.data?.pools} />

      <h3>Usage, last 24 hours</h3>
      <ProblemBox problem={usage.problem} />
      {usage.data ? (
        <ErrorBoundary
          onReset={() => setChartAttempt((n) => n + 1)}
          fallbackRender={(p) => <Failed what="The usage charts" {...p} />}
        >
          <Suspense fallback={<p>Loading charts…</p>}>
            <div className="charts">
              <Chart title="Workers and sessions" times={usageSeries.times} series={usageSeries.activity} />
              <Chart
                title="CPU cores, declared and allocated"
                times={usageSeries.times}
                series={usageSeries.cpu}
              />
              <Chart title="Cost" times={usageSeries.times} series={usageSeries.cost} />
            </div>
          </Suspense>
        </ErrorBoundary>
      ) : null}

      <h3>Cost, last 7 days</h3>
      <ProblemBox problem={cost.problem} />
      {cost.data ? (
        <table className="grid">
          <caption>
            Total {usd(cost.data.totals.totalUsd)}: attributed {usd(cost.data.totals.attributedUsd)}, idle{' '}
            {usd(cost.data.totals.idleUsd)}, stopped {usd(cost.data.totals.stoppedUsd)};{' '}
            {cost.data.totals.sessions} sessions, {usd(cost.data.totals.meanCostPerSessionUsd)} each
          </caption>
          <TableHead columns={['Day', 'Cost', 'Attributed', 'Sessions']} />
          <tbody>
            {cost.data.groups.map((g) => (
              <tr key={g.key}>
                <td>{g.key}</td>
                <td>{usd(g.costUsd)}</td>
                <td>{usd(g.attributedUsd)}</td>
                <td>{g.sessions}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}

      <h3>Scaling decisions</h3>
      <ProblemBox problem={scaling.problem} />
      <ol className="timeline" aria-label="Scaling audit">
        {(scaling.data?.items ?? []).map((d) => (
          <li key={d.id}>
            <time dateTime={d.at}>{formatTime(d.at)}</time> <strong>{d.kind}</strong>
            {d.workerId ? ` ${d.workerId}` : ''}
            {d.templateName ? ` (${d.templateName})` : ''}: {d.reason}
          </li>
        ))}
        {scaling.data && scaling.data.items.length === 0 ? <li>No scaling decision yet.</li> : null}
      </ol>
    </section>
  );
}

function WorkerRow(props: {
  worker: Worker;
  sessions: Session[];
  actions: readonly (typeof ACTIONS)[number][];
  onDone: () => void;
}) {
  const { api } = useConsole();
  const w = props.worker;
  return (
    <tr data-worker={w.id}>
      <th scope="row">{w.id}</th>
      <td>
        <span className={`status status-${w.status}`} data-testid={`status-${w.id}`}>
          {w.status}
        </span>
        {w.desiredStatus && w.desiredStatus !== w.status ? <span> → {w.desiredStatus}</span> : null}
        {w.serviceStatus ? <div className="muted">CML {w.serviceStatus}</div> : null}
      </td>
      <td>{w.templateName}</td>
      <td>
        <CapacityBars owner={w.id} declared={w.declaredCapacity} allocated={w.allocatedCapacity} />
      </td>
      <td>
        {props.sessions.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          <ul className="plain">
            {props.sessions.map((s) => (
              <li key={s.id}>
                <a href={href(['sessions', s.id])}>{s.id}</a> {s.status}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>{formatTime(w.launchedAt)}</td>
      <td>{formatDuration(lastBootSeconds(w))}</td>
      {props.actions.length ? (
        <td className="actions">
          {props.actions.map((a) => (
            <ConfirmAction
              key={a.op}
              label={a.label}
              name={`${a.label} ${w.id}`}
              danger={a.danger}
              withReason
              question={`${a.label} worker ${w.id}?`}
              run={(reason) => {
                const action = a.label.toLowerCase() as 'start' | 'stop' | 'drain' | 'terminate';
                return unwrap(
                  api.POST(`/v1/workers/{id}/${action}`, {
                    params: { path: { id: w.id }, header: { 'Idempotency-Key': idempotencyKey() } },
                    body: reason ? { reason } : {},
                  }),
                );
              }}
              onDone={props.onDone}
            />
          ))}
        </td>
      ) : null}
    </tr>
  );
}

type Pool = components['schemas']['FleetPools']['pools'][number];
type PoolCost = components['schemas']['FleetCost']['pools'];

/** Each pooled definition: depth, labs by status (with their workers), and what it cost this week. */
function PoolsTable({ pools, cost }: { pools: Pool[]; cost: PoolCost | undefined }) {
  const costOf = (id: string) => cost?.definitions.find((d) => d.definitionId === id);
  return (
    <table className="grid">
      <caption>
        Pools ({pools.length})
        {cost ? `: ${usd(cost.costUsd)} over the last 7 days, ${cost.labHours.toFixed(1)} lab-hours` : ''}
      </caption>
      <TableHead columns={['Definition', 'Depth', 'Ready', 'Booting', 'Placed', 'Labs', 'Cost, 7 days']} />
      <tbody>
        {pools.map((p) => (
          <tr key={p.definitionId} data-pool={p.definitionId}>
            <td>
              <a href={href(['definitions', p.definitionId])}>{p.definitionId}</a> v{p.definitionVersion}
              {p.definitionStatus === 'ACTIVE' ? '' : ` (${p.definitionStatus})`}
            </td>
            <td>{p.depth}</td>
            <td data-testid={`pool-ready-${p.definitionId}`}>{p.counts.READY}</td>
            <td>{p.counts.BOOTING}</td>
            <td>{p.counts.PLACED}</td>
            <td>
              {p.labs
                .map(
                  (l) =>
                    `${l.id} on ${l.workerId} (${l.status}${l.definitionVersion === p.definitionVersion ? '' : `, v${l.definitionVersion}`})`,
                )
                .join('; ') || 'none'}
            </td>
            <td>{costOf(p.definitionId) ? usd(costOf(p.definitionId)!.costUsd) : '—'}</td>
          </tr>
        ))}
        {pools.length === 0 ? (
          <tr>
            <td colSpan={7}>No definition keeps a pool (a definition's warmPoolDepth above 0 starts one).</td>
          </tr>
        ) : null}
      </tbody>
    </table>
  );
}
