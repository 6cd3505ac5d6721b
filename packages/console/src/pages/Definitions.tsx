import { useEffect, useState } from 'react';
import { type Api, idempotencyKey, unwrap } from '../api/client.ts';
import type { components } from '../api/schema.gen.ts';
import { ConfirmAction } from '../components/ConfirmAction.tsx';
import { ProblemBox } from '../components/ProblemBox.tsx';
import { useConsole } from '../lib/context.ts';
import {
  applyObservedPreview,
  diffDefinitions,
  learnerSettings,
  summariseTopology,
  type TopologySummary,
  warningsOf,
} from '../lib/definitions.ts';
import { formatTime } from '../lib/fleet.ts';
import { useLoad } from '../lib/hooks.ts';
import { can } from '../lib/permissions.ts';
import { type Problem, problemOf } from '../lib/problem.ts';
import { href } from '../lib/route.ts';

type Definition = components['schemas']['LabletDefinition'];

export function DefinitionsPage() {
  const { api } = useConsole();
  const list = useLoad(
    () => unwrap(api.GET('/v1/definitions', { params: { query: { limit: 100 } } })),
    [api],
  );
  return (
    <section aria-labelledby="defs-h">
      <h2 id="defs-h">Definitions</h2>
      <ProblemBox problem={list.problem} />
      <table className="grid">
        <caption>Lablet definitions, latest versions</caption>
        <thead>
          <tr>
            <th scope="col">Definition</th>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Requirements</th>
            <th scope="col">Content sync</th>
            <th scope="col">Warnings</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.items ?? []).map((d) => (
            <tr key={d.id}>
              <th scope="row">
                <a href={href(['definitions', d.id])}>{d.name}</a> <span className="muted">{d.id}</span>
              </th>
              <td>{d.version}</td>
              <td>{d.status}</td>
              <td>
                {d.resourceRequirements.cpuCores} CPU, {d.resourceRequirements.memoryGb} GB,{' '}
                {d.resourceRequirements.nodeCount} nodes
              </td>
              <td>{d.sync?.status ?? 'NONE'}</td>
              <td>{warningsOf(d).join('; ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/**
 * A version's topology, summarised. Replies carry only its reference (`topology`: hash and size);
 * the YAML comes with `?include=topology`, fetched once per hash (content-addressed: it never
 * changes). A topology too large for a reply comes as a pre-signed URL, which the page offers as a
 * download instead (the content bucket serves no CORS to the console). YAML is parsed only on this
 * page (the parser is loaded on demand, out of the first load).
 */
const topologies = new Map<string, Promise<TopologySummary | null>>();

const fullVersion = (api: Api, d: Definition) =>
  unwrap(
    api.GET('/v1/definitions/{id}/versions/{version}', {
      params: { path: { id: d.id, version: d.version }, query: { include: 'topology' } },
    }),
  );

function topologyOf(api: Api, d: Definition | undefined): Promise<TopologySummary | null> {
  if (!d) return Promise.resolve(null);
  const key = d.topology?.hash ?? (d.topologyYaml ? `inline:${d.id}@${d.version}` : undefined);
  if (!key) return Promise.resolve(null);
  let summary = topologies.get(key);
  if (!summary) {
    summary = (async () => {
      const yamlText = d.topologyYaml ?? (await fullVersion(api, d)).topologyYaml;
      if (yamlText === undefined) return null;
      const { parse } = await import('yaml');
      return summariseTopology(parse(yamlText));
    })().catch(() => {
      topologies.delete(key);
      return null;
    });
    topologies.set(key, summary);
  }
  return summary;
}

/** Saves a version's topology YAML: from the reply when it fits one, else through its pre-signed URL. */
async function downloadTopology(api: Api, d: Definition): Promise<void> {
  const full = await fullVersion(api, d);
  if (full.topologyUrl) {
    window.location.assign(full.topologyUrl);
    return;
  }
  const url = URL.createObjectURL(new Blob([full.topologyYaml ?? ''], { type: 'application/yaml' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `${d.id}-v${d.version}.yaml`;
  a.click();
  URL.revokeObjectURL(url);
}

export function DefinitionDetailPage({ id }: { id: string }) {
  const { api, caller } = useConsole();
  const versions = useLoad(
    async () =>
      (await unwrap(api.GET('/v1/definitions/{id}/versions', { params: { path: { id } } }))).items.sort(
        (a, b) => a.version - b.version,
      ),
    [api, id],
  );
  const observations = useLoad(
    () => unwrap(api.GET('/v1/definitions/{id}/observations', { params: { path: { id } } })),
    [api, id],
  );
  const all = versions.data ?? [];
  const latest = all.at(-1);
  const [a, setA] = useState<number | null>(null);
  const [b, setB] = useState<number | null>(null);
  const va = all.find((v) => v.version === (a ?? all.at(-2)?.version ?? latest?.version));
  const vb = all.find((v) => v.version === (b ?? latest?.version));
  const [topo, setTopo] = useState<{
    a: TopologySummary | null;
    b: TopologySummary | null;
    latest: TopologySummary | null;
  }>({
    a: null,
    b: null,
    latest: null,
  });
  useEffect(() => {
    Promise.all([topologyOf(api, va), topologyOf(api, vb), topologyOf(api, latest)]).then(([ta, tb, tl]) =>
      setTopo({ a: ta, b: tb, latest: tl }),
    );
  }, [api, va, vb, latest]);
  const [strategy, setStrategy] = useState<'max' | 'latest'>('max');
  const [withPorts, setWithPorts] = useState(false);
  const [downloadProblem, setDownloadProblem] = useState<Problem | null>(null);
  const [applied, setApplied] = useState<string | null>(null);
  const preview = observations.data ? applyObservedPreview(observations.data, strategy) : [];
  const reload = () => {
    versions.reload();
    observations.reload();
  };
  return (
    <section aria-labelledby="def-h">
      <p>
        <a href={href(['definitions'])}>← Definitions</a>
      </p>
      <h2 id="def-h">
        {latest?.name ?? id} <span className="muted">{id}</span>
      </h2>
      <ProblemBox problem={versions.problem} />
      {latest ? (
        <p data-testid="latest-version">
          Latest version {latest.version}, {latest.status}, created {formatTime(latest.createdAt)} by{' '}
          {latest.createdBy}
        </p>
      ) : null}

      {latest ? (
        <>
          <h3>Learner settings</h3>
          <table className="grid" aria-label="Learner settings">
            <tbody>
              {learnerSettings(latest).map((row) => (
                <tr key={row.label}>
                  <th scope="row">{row.label}</th>
                  <td>{row.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}

      <h3>Content sync</h3>
      <p>
        Status {latest?.sync?.status ?? 'NONE'}
        {latest?.sync?.at ? ` at ${formatTime(latest.sync.at)}` : ''}
        {latest?.sync?.diagnostic ? `: ${latest.sync.diagnostic}` : ''}
        {latest?.contentUri ? (
          <>
            {' '}
            from <code>{latest.contentUri}</code>
          </>
        ) : null}
      </p>
      {can(caller, 'syncDefinitionContent') && latest?.contentUri ? (
        <ConfirmAction
          label="Sync content"
          question={`Sync ${id}'s content from ${latest.contentUri}?`}
          run={() =>
            unwrap(
              api.POST('/v1/definitions/{id}/sync', {
                params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey() } },
              }),
            )
          }
          onDone={reload}
        />
      ) : null}

      <h3>Versions</h3>
      <div className="filters">
        <p className="field">
          <label htmlFor="diff-a">Compare version</label>
          <select id="diff-a" value={va?.version ?? ''} onChange={(e) => setA(Number(e.target.value))}>
            {all.map((v) => (
              <option key={v.version} value={v.version}>
                {v.version}
              </option>
            ))}
          </select>
        </p>
        <p className="field">
          <label htmlFor="diff-b">with version</label>
          <select id="diff-b" value={vb?.version ?? ''} onChange={(e) => setB(Number(e.target.value))}>
            {all.map((v) => (
              <option key={v.version} value={v.version}>
                {v.version}
              </option>
            ))}
          </select>
        </p>
      </div>
      {va && vb ? (
        <DiffTable rows={diffDefinitions(va, vb, { a: topo.a, b: topo.b })} a={va.version} b={vb.version} />
      ) : null}

      <h3>Topology</h3>
      {latest?.topology ? (
        <p>
          {(latest.topology.sizeBytes / 1024).toFixed(1)} KiB of YAML,{' '}
          <code>{latest.topology.hash.slice(0, 19)}…</code>{' '}
          <button
            type="button"
            onClick={() => {
              setDownloadProblem(null);
              downloadTopology(api, latest).catch((e: unknown) => setDownloadProblem(problemOf(e)));
            }}
          >
            Download YAML
          </button>
        </p>
      ) : null}
      <ProblemBox problem={downloadProblem} />
      {topo.latest ? (
        <table className="grid">
          <caption>
            {topo.latest.nodes.length} nodes, {topo.latest.links} links, and their consoles
          </caption>
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Node definition</th>
              <th scope="col">Consoles</th>
            </tr>
          </thead>
          <tbody>
            {topo.latest.nodes.map((n) => (
              <tr key={n.label}>
                <td>{n.label}</td>
                <td>{n.nodeDefinition}</td>
                <td>
                  {(latest?.portTemplate ?? [])
                    .filter((p) => p.nodeLabel === n.label)
                    .map((p) => `${p.name} (${p.kind}${p.insidePort ? ` ${p.insidePort}` : ''})`)
                    .join(', ') || '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">
          {latest?.topology
            ? 'Not summarised here (too large for a reply, or not read yet).'
            : 'No topology stored with this version.'}
        </p>
      )}

      <h3>Observations</h3>
      <ProblemBox problem={observations.problem} />
      {observations.data ? (
        <>
          <table className="grid">
            <caption>
              {observations.data.sessionCount} observed sessions (versions{' '}
              {observations.data.versions.join(', ') || '—'}), {observations.data.driftSessions} with port
              drift
            </caption>
            <thead>
              <tr>
                <th scope="col">Dimension</th>
                <th scope="col">Current</th>
                <th scope="col">Max observed</th>
                <th scope="col">Average</th>
                <th scope="col">Latest</th>
              </tr>
            </thead>
            <tbody>
              {(['cpuCores', 'memoryGb', 'storageGb', 'nodeCount'] as const).map((k) => (
                <tr key={k}>
                  <td>{k}</td>
                  <td>{observations.data?.current[k]}</td>
                  <td>{observations.data?.max?.[k] ?? '—'}</td>
                  <td>{observations.data?.avg?.[k] ?? '—'}</td>
                  <td>{observations.data?.latest?.[k] ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {can(caller, 'applyObservedToDefinition') && observations.data.sessionCount === 0 ? (
            <p className="muted">No observed session yet: nothing to apply.</p>
          ) : null}
          {can(caller, 'applyObservedToDefinition') && observations.data.sessionCount > 0 ? (
            <fieldset className="apply">
              <legend>Apply observed values</legend>
              <p className="field">
                <label htmlFor="strategy">Strategy</label>
                <select
                  id="strategy"
                  value={strategy}
                  onChange={(e) => setStrategy(e.target.value as 'max' | 'latest')}
                >
                  <option value="max">max: the largest observed</option>
                  <option value="latest">latest: the newest session's</option>
                </select>
              </p>
              <p className="check">
                <input
                  id="with-ports"
                  type="checkbox"
                  checked={withPorts}
                  onChange={(e) => setWithPorts(e.target.checked)}
                />
                <label htmlFor="with-ports">Also take the port template from the latest observation</label>
              </p>
              <table className="grid" aria-label="Apply-observed preview">
                <caption>Preview: what version {(latest?.version ?? 0) + 1} would change</caption>
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Now</th>
                    <th scope="col">New</th>
                  </tr>
                </thead>
                <tbody>
                  {preview.map((p) => (
                    <tr key={p.field}>
                      <td>{p.field}</td>
                      <td>{p.before}</td>
                      <td>{p.after}</td>
                    </tr>
                  ))}
                  {preview.length === 0 ? (
                    <tr>
                      <td colSpan={3}>No requirement would change{withPorts ? ' (ports may)' : ''}.</td>
                    </tr>
                  ) : null}
                </tbody>
              </table>
              <ConfirmAction
                label="Apply"
                question={`Write a new version of ${id} from the observed values (${strategy})?`}
                run={async () => {
                  const r = await unwrap(
                    api.POST('/v1/definitions/{id}/apply-observed', {
                      params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey() } },
                      body: {
                        strategy,
                        limit: observations.data?.limit ?? 20,
                        portTemplate: withPorts,
                        ...(latest ? { expectedVersion: latest.version } : {}),
                      },
                    }),
                  );
                  setApplied(
                    r.changed
                      ? `Version ${r.after.version} written (was ${r.before.version}).`
                      : `Nothing changed: version ${r.before.version} stays.`,
                  );
                }}
                onDone={reload}
              />
              {applied ? <p role="status">{applied}</p> : null}
            </fieldset>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function DiffTable({ rows, a, b }: { rows: ReturnType<typeof diffDefinitions>; a: number; b: number }) {
  return (
    <table className="grid">
      <caption>
        Version {a} → version {b}:{' '}
        {rows.length === 1 ? '1 difference' : rows.length ? `${rows.length} differences` : 'no difference'}
      </caption>
      <thead>
        <tr>
          <th scope="col">Section</th>
          <th scope="col">Field</th>
          <th scope="col">Version {a}</th>
          <th scope="col">Version {b}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={`${r.section}-${r.field}`}>
            <td>{r.section}</td>
            <td>{r.field}</td>
            <td>{r.a}</td>
            <td>{r.b}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
