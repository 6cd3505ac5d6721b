import type { components } from '../api/schema.gen.ts';

type Definition = components['schemas']['LabletDefinition'];
type Requirements = Definition['resourceRequirements'];
type Observations = components['schemas']['DefinitionObservations'];

export interface DiffRow {
  readonly section: 'requirements' | 'ports' | 'topology' | 'settings' | 'warnings';
  readonly field: string;
  readonly a: string;
  readonly b: string;
}

export interface TopologySummary {
  readonly nodes: readonly { label: string; nodeDefinition: string; tags: readonly string[] }[];
  readonly links: number;
}

const REQUIREMENT_KEYS = ['cpuCores', 'memoryGb', 'storageGb', 'nodeCount'] as const;

const show = (v: unknown): string => (v === undefined || v === null ? '—' : String(v));

const portKey = (p: NonNullable<Definition['portTemplate']>[number]) => `${p.nodeLabel}/${p.name}`;
const portDesc = (p: NonNullable<Definition['portTemplate']>[number] | undefined) =>
  p
    ? `${p.kind}${p.insidePort ? `:${p.insidePort}` : ''}${p.templatePort ? ` → ${p.templatePort}` : ''}`
    : '—';

/**
 * Warnings a version carries, as the console shows them: what makes it unplaceable or
 * unreachable (no nodes, no ports, failed content sync, not active).
 */
export function warningsOf(d: Definition): string[] {
  const w: string[] = [];
  if (d.status !== 'ACTIVE') w.push(`status ${d.status}`);
  if ((d.portTemplate ?? []).length === 0) w.push('no console ports');
  if (d.resourceRequirements.nodeCount === 0) w.push('no nodes');
  if (d.sync?.status === 'FAILED')
    w.push(`content sync failed${d.sync.diagnostic ? `: ${d.sync.diagnostic}` : ''}`);
  if (!d.topologyYaml && !d.contentUri) w.push('no topology');
  return w;
}

/**
 * What a learner of this definition may count on (issue 15): time extension, idle auto-finish and
 * the hot-start pool, each as a label and a sentence ('off' when the definition does not use it).
 */
export function learnerSettings(d: Definition): { label: string; value: string }[] {
  const ext = d.maxExtensionMinutes ?? 0;
  const pool = d.warmPoolDepth ?? 0;
  return [
    {
      label: 'Time extension',
      value:
        ext > 0 ? `up to ${ext} min in all, within the ${d.maxDurationMinutes} min longest timeslot` : 'off',
    },
    {
      label: 'Idle auto-finish',
      value: d.idlePolicy
        ? `warned after ${d.idlePolicy.limitMinutes} min paused, finished and graded ${d.idlePolicy.graceMinutes} min later`
        : 'off',
    },
    { label: 'Hot-start pool', value: pool > 0 ? `${pool} lab${pool === 1 ? '' : 's'} kept ready` : 'off' },
  ];
}

/** What changed from version `a` to version `b`: requirements, ports, topology summary, settings, warnings. */
export function diffDefinitions(
  a: Definition,
  b: Definition,
  topo?: { a: TopologySummary | null; b: TopologySummary | null },
): DiffRow[] {
  const rows: DiffRow[] = [];
  for (const k of REQUIREMENT_KEYS) {
    if (a.resourceRequirements[k] !== b.resourceRequirements[k]) {
      rows.push({
        section: 'requirements',
        field: k,
        a: show(a.resourceRequirements[k]),
        b: show(b.resourceRequirements[k]),
      });
    }
  }
  const pa = new Map((a.portTemplate ?? []).map((p) => [portKey(p), p]));
  const pb = new Map((b.portTemplate ?? []).map((p) => [portKey(p), p]));
  for (const key of [...new Set([...pa.keys(), ...pb.keys()])].sort()) {
    const da = portDesc(pa.get(key));
    const db = portDesc(pb.get(key));
    if (da !== db) rows.push({ section: 'ports', field: key, a: da, b: db });
  }
  if (topo?.a || topo?.b) {
    const na = topo.a?.nodes.length ?? 0;
    const nb = topo.b?.nodes.length ?? 0;
    if (na !== nb) rows.push({ section: 'topology', field: 'nodes', a: String(na), b: String(nb) });
    const la = topo.a?.links ?? 0;
    const lb = topo.b?.links ?? 0;
    if (la !== lb) rows.push({ section: 'topology', field: 'links', a: String(la), b: String(lb) });
    const defs = (t: TopologySummary | null) =>
      (t?.nodes ?? [])
        .map((n) => `${n.label}:${n.nodeDefinition}`)
        .sort()
        .join(', ') || '—';
    if (defs(topo.a) !== defs(topo.b))
      rows.push({ section: 'topology', field: 'node definitions', a: defs(topo.a), b: defs(topo.b) });
  }
  if (a.contentHash !== b.contentHash)
    rows.push({
      section: 'topology',
      field: 'content hash',
      a: show(a.contentHash?.slice(0, 12)),
      b: show(b.contentHash?.slice(0, 12)),
    });
  for (const k of [
    'maxDurationMinutes',
    'podType',
    'amiRequirement',
    'maxExtensionMinutes',
    'warmPoolDepth',
    'status',
    'name',
  ] as const) {
    if (show(a[k]) !== show(b[k])) rows.push({ section: 'settings', field: k, a: show(a[k]), b: show(b[k]) });
  }
  const idle = (d: Definition) =>
    d.idlePolicy ? `${d.idlePolicy.limitMinutes} + ${d.idlePolicy.graceMinutes} min` : 'off';
  if (idle(a) !== idle(b)) rows.push({ section: 'settings', field: 'idlePolicy', a: idle(a), b: idle(b) });
  const wa = warningsOf(a).join('; ') || '—';
  const wb = warningsOf(b).join('; ') || '—';
  if (wa !== wb) rows.push({ section: 'warnings', field: 'warnings', a: wa, b: wb });
  return rows;
}

/**
 * What apply-observed would write, computed from the aggregated observations the API returned:
 * `max` takes the largest observed of each dimension, `latest` the newest session's totals.
 * Only the dimensions that change are listed (the API writes no new version when none do).
 */
export function applyObservedPreview(
  obs: Observations,
  strategy: 'max' | 'latest',
): { field: (typeof REQUIREMENT_KEYS)[number]; before: number; after: number }[] {
  const source: Requirements | null = strategy === 'max' ? obs.max : obs.latest;
  if (obs.sessionCount === 0 || !source) return [];
  return REQUIREMENT_KEYS.filter((k) => source[k] !== obs.current[k]).map((k) => ({
    field: k,
    before: obs.current[k],
    after: source[k],
  }));
}

/** Nodes and links of a CML topology YAML, read loosely (the API validated it when it was stored). */
export function summariseTopology(doc: unknown): TopologySummary | null {
  if (typeof doc !== 'object' || doc === null) return null;
  const d = doc as { nodes?: unknown; links?: unknown };
  const nodes = Array.isArray(d.nodes) ? d.nodes : [];
  return {
    nodes: nodes.map((n: Record<string, unknown>) => ({
      label: String(n.label ?? n.id ?? '?'),
      nodeDefinition: String(n.node_definition ?? '?'),
      tags: Array.isArray(n.tags) ? n.tags.map(String) : [],
    })),
    links: Array.isArray(d.links) ? d.links.length : 0,
  };
}
