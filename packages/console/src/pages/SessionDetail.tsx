import { idempotencyKey, unwrap } from '../api/client.ts';
import { ConfirmAction } from '../components/ConfirmAction.tsx';
import { ExtendAction } from '../components/ExtendAction.tsx';
import { ProblemBox } from '../components/ProblemBox.tsx';
import { useConsole } from '../lib/context.ts';
import { formatDuration, formatTime, usd } from '../lib/fleet.ts';
import { useLive, useLoad } from '../lib/hooks.ts';
import { can } from '../lib/permissions.ts';
import { href } from '../lib/route.ts';
import { extensions, timeline } from '../lib/sessions.ts';

/**
 * One session: status timeline, placement, ports, LDS devices, score, observation with drift,
 * cost; the actions the caller's role allows (the API says why one does not apply now).
 */
export function SessionDetailPage({ id }: { id: string }) {
  const { api, caller, live } = useConsole();
  const session = useLoad(async () => {
    const s = await unwrap(api.GET('/v1/sessions/{id}', { params: { path: { id } } }));
    const definition = await unwrap(
      api.GET('/v1/definitions/{id}/versions/{version}', {
        params: { path: { id: s.definitionId, version: s.definitionVersion } },
      }),
    ).catch(() => null);
    return { s, definition };
  }, [api, id]);
  useLive(live, `session:${id}`, session.reload);
  const key = () => ({ 'Idempotency-Key': idempotencyKey() });
  const path = { id };
  const actions = [
    {
      op: 'finishSession',
      label: 'Finish',
      reason: true,
      run: (reason?: string) =>
        unwrap(
          api.POST('/v1/sessions/{id}/finish', {
            params: { path, header: key() },
            body: reason ? { reason } : {},
          }),
        ),
    },
    {
      op: 'observeSession',
      label: 'Observe',
      reason: false,
      run: () => unwrap(api.POST('/v1/sessions/{id}/observe', { params: { path, header: key() } })),
    },
    {
      op: 'regradeSession',
      label: 'Re-grade',
      reason: false,
      run: () => unwrap(api.POST('/v1/sessions/{id}/grade', { params: { path, header: key() } })),
    },
    {
      op: 'releaseSession',
      label: 'Force-release',
      reason: true,
      danger: true,
      run: (reason?: string) =>
        unwrap(
          api.POST('/v1/sessions/{id}/release', {
            params: { path, header: key() },
            body: reason ? { reason } : {},
          }),
        ),
    },
    {
      op: 'terminateSession',
      label: 'Terminate',
      reason: true,
      danger: true,
      run: (reason?: string) =>
        unwrap(
          api.POST('/v1/sessions/{id}/terminate', {
            params: { path, header: key() },
            body: reason ? { reason } : {},
          }),
        ),
    },
  ] as const;
  const s = session.data?.s;
  const def = session.data?.definition;
  const obs = s?.observations.at(-1);
  const extended = s ? extensions(s.history) : [];
  return (
    <section aria-labelledby="session-h">
      <p>
        <a href={href(['sessions'])}>← Sessions</a>
      </p>
      <h2 id="session-h">Session {id}</h2>
      <ProblemBox problem={session.problem} />
      {s ? (
        <>
          <p>
            <span className={`status status-${s.status}`} data-testid="session-status">
              {s.status}
            </span>{' '}
            {s.definitionId} v{s.definitionVersion}, worker{' '}
            {s.workerId ? <a href={href(['fleet'])}>{s.workerId}</a> : '—'}, owner{' '}
            {s.owner.username ?? s.owner.userId}, {formatTime(s.timeslot.start)} –{' '}
            {formatTime(s.timeslot.end)}
            {s.failureReason ? <strong> failed: {s.failureReason}</strong> : null}
          </p>
          <fieldset className="actions">
            <legend className="visually-hidden">Session actions</legend>
            {actions
              .filter((a) => can(caller, a.op))
              .map((a) => (
                <ConfirmAction
                  key={a.op}
                  label={a.label}
                  danger={'danger' in a && a.danger}
                  withReason={a.reason}
                  question={`${a.label} session ${id}?`}
                  run={a.run}
                  onDone={session.reload}
                />
              ))}
            {can(caller, 'extendSession') ? (
              <ExtendAction
                sessionId={id}
                run={(minutes, reason) =>
                  unwrap(
                    api.POST('/v1/sessions/{id}/extend', {
                      params: { path },
                      body: reason ? { minutes, reason } : { minutes },
                    }),
                  )
                }
                onDone={session.reload}
              />
            ) : null}
          </fieldset>

          <div className="columns">
            <div>
              <h3>Status timeline</h3>
              <ol className="timeline" aria-label="Status history">
                {timeline(s.history).map((h) => (
                  <li key={`${h.at}-${h.to}`} aria-current={h.current ? 'step' : undefined}>
                    <time dateTime={h.at}>{formatTime(h.at)}</time> {h.from} → <strong>{h.to}</strong> by{' '}
                    {h.by}
                    {h.reason ? ` (${h.reason})` : ''} · {formatDuration(h.seconds)}
                  </li>
                ))}
              </ol>

              <h3>Time extensions</h3>
              {extended.length ? (
                <table className="grid">
                  <caption>Extensions: {s.extendedMinutes ?? extended.at(-1)?.total} min in all</caption>
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">By</th>
                      <th scope="col">Minutes</th>
                      <th scope="col">New end</th>
                      <th scope="col">Reason</th>
                    </tr>
                  </thead>
                  <tbody>
                    {extended.map((x) => (
                      <tr key={x.at}>
                        <td>
                          <time dateTime={x.at}>{formatTime(x.at)}</time>
                        </td>
                        <td>{x.by}</td>
                        <td>{x.minutes}</td>
                        <td>
                          <time dateTime={x.end}>{formatTime(x.end)}</time>
                        </td>
                        <td>{x.reason ?? '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p className="muted">Not extended.</p>
              )}

              <h3>Placement</h3>
              {s.placementRejections && Object.keys(s.placementRejections).length ? (
                <table className="grid">
                  <caption>Workers rejected, by reason</caption>
                  <thead>
                    <tr>
                      <th scope="col">Reason</th>
                      <th scope="col">Count</th>
                    </tr>
                  </thead>
                  <tbody>
                    {Object.entries(s.placementRejections).map(([reason, n]) => (
                      <tr key={reason}>
                        <td>{reason}</td>
                        <td>{n}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p className="muted">No placement rejection recorded.</p>
              )}

              <h3>Allocated ports</h3>
              {s.allocatedPorts && Object.keys(s.allocatedPorts).length ? (
                <ul className="plain">
                  {Object.entries(s.allocatedPorts).map(([name, port]) => (
                    <li key={name}>
                      <code>{name}</code> → {port}
                    </li>
                  ))}
                </ul>
              ) : (
                <p className="muted">None allocated.</p>
              )}

              <h3>LDS devices</h3>
              <p>
                LDS session {s.userSession?.ldsSessionId ?? '—'}: {s.userSession?.status ?? 'none yet'}
                {s.userSession?.loginUrl ? (
                  <>
                    {' '}
                    · <a href={s.userSession.loginUrl}>learner login</a>
                  </>
                ) : null}
              </p>
              <ul className="plain">
                {(def?.devices ?? []).map((d) => (
                  <li key={d.name}>
                    {d.name} {d.protocol ?? ''} {d.nodeLabel ? `on ${d.nodeLabel}` : ''}{' '}
                    {d.portName && s.allocatedPorts?.[d.portName]
                      ? `port ${s.allocatedPorts[d.portName]}`
                      : ''}
                  </li>
                ))}
              </ul>
            </div>
            <div>
              <h3>Score</h3>
              {s.score ? (
                <table className="grid">
                  <caption>
                    {s.score.score}/{s.score.maxScore} {s.score.passed ? 'passed' : 'not passed'} (grading{' '}
                    {s.grading?.status ?? '—'})
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Section</th>
                      <th scope="col">Score</th>
                    </tr>
                  </thead>
                  <tbody>
                    {(s.score.sections ?? []).map((sec) => (
                      <tr key={sec.name}>
                        <td>{sec.name}</td>
                        <td>
                          {sec.score}/{sec.maxScore}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p className="muted">Not graded (grading {s.grading?.status ?? '—'}).</p>
              )}

              <h3>Observation</h3>
              {obs ? (
                <>
                  <p>
                    {formatTime(obs.observedAt)} by {obs.observer}: {obs.totals.nodeCount} nodes,{' '}
                    {obs.totals.cpuCores} CPU, {obs.totals.memoryGb} GB memory, {obs.totals.storageGb} GB
                    storage
                  </p>
                  {obs.drift && !obs.drift.hasDrift ? <p>Port drift: none.</p> : null}
                  {obs.drift?.hasDrift ? (
                    <table className="grid">
                      <caption>Port drift</caption>
                      <thead>
                        <tr>
                          <th scope="col">Change</th>
                          <th scope="col">Port</th>
                        </tr>
                      </thead>
                      <tbody>
                        {(['added', 'removed', 'changed'] as const).flatMap((k) =>
                          (obs.drift?.[k] ?? []).map((p: unknown) => (
                            <tr key={`${k}-${JSON.stringify(p)}`}>
                              <td>{k}</td>
                              <td>
                                <code>{JSON.stringify(p)}</code>
                              </td>
                            </tr>
                          )),
                        )}
                      </tbody>
                    </table>
                  ) : null}
                </>
              ) : (
                <p className="muted">No observation yet.</p>
              )}

              <h3>Cost</h3>
              {s.cost ? (
                <p>
                  {usd(s.cost.costUsd)} {s.cost.final ? '' : '(so far)'}:{' '}
                  {Math.round(s.cost.capacityShare * 100)}% of {s.cost.workerId} ({s.cost.templateName}) for{' '}
                  {s.cost.heldHours.toFixed(2)} h at {usd(s.cost.runningPerHourUsd)}/h
                  {s.cost.priced ? '' : ', template unpriced'}
                </p>
              ) : (
                <p className="muted">No cost (not placed, or not visible to this role).</p>
              )}
            </div>
          </div>
        </>
      ) : null}
    </section>
  );
}
