import type * as z from 'zod';
import {
  CmlTopologySchema,
  detectPortDrift,
  extractPortTemplate,
  nodeDefaults,
} from '../../catalogue/index.ts';
import type { LabletSession, PortAllocations, ResourceObservation } from '../../kernel/index.ts';
import { DomainError } from '../../kernel/index.ts';
import type { CmlApi, CmlInterfaceInfo, CmlNodeInfo, CmlSimulationStats } from '../../platform/index.ts';
import {
  EVIDENCE_MANIFEST_VERSION,
  type EvidenceDevice,
  type EvidenceManifest,
  evidenceKeys,
  nowOf,
} from '../../platform/index.ts';
import { advance, assertNotTerminated, type SessionStepDeps, WORKFLOW_ACTOR } from './deps.ts';
import { SessionStepInput, workerOf } from './instantiate.ts';
import { WaitOutput } from './running.ts';

export const CollectEvidenceInput = SessionStepInput.extend({ end: WaitOutput });

export interface CollectEvidenceOutput {
  evidenceUri: string;
  devices: number;
  /** Devices whose configuration was extracted (the others are unsupported or failed). */
  extracted: number;
  /** Nodes whose collection failed (listed in the manifest's `failed`), `*` counting as one. */
  failed: number;
  /** The definition has grading rules: the state machine grades after the observation. */
  hasGrading: boolean;
}

/** Who ended the work and how, for the RUNNING → COLLECTING history entry. */
function endCause(end: z.output<typeof WaitOutput>): { by: string; reason: string } {
  switch (end?.ended) {
    case 'FINISHED':
      // The finish command's source (default api; the idle sweep's is lcm) and its reason, if any.
      return {
        by: end.by ? `${end.source ?? 'api'}:${end.by}` : (end.source ?? 'api'),
        reason: end.reason ?? 'the learner finished',
      };
    case 'ENDED':
      return { by: 'lds', reason: 'the LDS session ended' };
    case 'TIMESLOT_END':
      return { by: WORKFLOW_ACTOR, reason: 'the timeslot ended' };
    default:
      return { by: WORKFLOW_ACTOR, reason: 'the work ended' };
  }
}

/**
 * CollectEvidence: RUNNING → COLLECTING (attributed to whoever ended the work), then every node's
 * configuration extracted through CML (`extract_configuration`; nodes that cannot extract are
 * recorded as unsupported and skipped) and written to the evidence store — one object per
 * device and the manifest the Grading Engine reads. Keys are per session, so a retry overwrites.
 * Collection never blocks grading: a node whose extraction (or its write) fails is listed in the
 * manifest's `failed` and the others are kept; a lab whose nodes cannot be listed at all gives a
 * manifest with no devices and `*` in `failed`. Only the table writes (the transition) may fail
 * the step.
 */
export async function collectEvidenceStep(
  deps: SessionStepDeps,
  input: z.input<typeof CollectEvidenceInput>,
): Promise<CollectEvidenceOutput> {
  const { sessionId, end } = CollectEvidenceInput.parse(input);
  const aggregate = await deps.stores.sessions.get(sessionId);
  let session = aggregate.session;
  assertNotTerminated(session);
  const cause = endCause(end);
  session = await advance(
    deps,
    session,
    'RUNNING',
    'COLLECTING',
    cause.by,
    cause.reason,
    session.pendingWait?.kind === 'END' ? { pendingWait: null } : {},
  );
  const now = nowOf(deps).toISOString();
  if (aggregate.userSession && ['PROVISIONED', 'ACTIVE', 'PAUSED'].includes(aggregate.userSession.status)) {
    await deps.stores.sessions.putUserSession(sessionId, {
      ...aggregate.userSession,
      status: 'ENDED',
      updatedAt: now,
    });
  }
  if (!session.cmlLabId) throw new Error(`session ${sessionId} has no CML lab`);
  const labId = session.cmlLabId;
  const definition = await deps.stores.definitions.getVersion(
    session.definitionId,
    session.definitionVersion,
  );

  // Best effort, per node (issue 12, item 5): a node that fails is listed, the others are kept,
  // and grading goes on with what was collected.
  const devices: EvidenceDevice[] = [];
  const failed: NonNullable<EvidenceManifest['failed']> = [];
  let nodes: CmlNodeInfo[] = [];
  let cml: CmlApi | undefined;
  try {
    ({ cml } = await workerOf(deps, session));
    nodes = await cml.listNodes(labId);
  } catch (e) {
    failed.push({ name: '*', error: `the lab's nodes could not be listed: ${errorText(e)}` });
  }
  for (const node of nodes) {
    const base = { name: node.label, nodeId: node.id, nodeDefinition: node.node_definition };
    try {
      const result = await cml!.extractConfiguration(labId, node.id);
      if (!result.supported) {
        devices.push({
          ...base,
          supported: false,
          configuration: null,
          reason: result.reason.slice(0, 2000),
        });
        continue;
      }
      await deps.evidence.put(evidenceKeys.deviceConfig(sessionId, node.label), result.configuration);
      devices.push({ ...base, supported: true, configuration: result.configuration });
    } catch (e) {
      const error = errorText(e);
      failed.push({ name: node.label, nodeId: node.id, error });
      devices.push({ ...base, supported: true, collected: false, configuration: null, reason: error });
    }
  }
  const manifest: EvidenceManifest = {
    schemaVersion: EVIDENCE_MANIFEST_VERSION,
    lcmSessionId: sessionId,
    cmlLabId: labId,
    collectedAt: now,
    devices,
    ...(failed.length > 0 ? { failed } : {}),
  };
  const { uri } = await deps.evidence.put(
    evidenceKeys.manifest(sessionId),
    JSON.stringify(manifest, null, 2),
    'application/json',
  );
  return {
    evidenceUri: uri,
    devices: devices.length,
    extracted: devices.filter((d) => d.supported && d.collected !== false).length,
    failed: failed.length,
    hasGrading: Boolean(definition.gradingRulesRef),
  };
}

const errorText = (e: unknown): string =>
  (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).slice(0, 2000);

// ---------------------------------------------------------------------------------------------
// ObserveLab

export interface ObserveLabOutput {
  hasGrading: boolean;
  hasDrift: boolean;
}

/** The ports a running lab really uses, read from its nodes' PATty tags (names as in the template). */
export function observedPorts(
  nodes: readonly Pick<CmlNodeInfo, 'id' | 'label' | 'node_definition' | 'tags'>[],
): {
  ports: PortAllocations;
  error?: string;
} {
  const topology = CmlTopologySchema.parse({
    lab: { version: 'observed' },
    nodes: nodes.map((n) => ({ id: n.id, label: n.label, node_definition: n.node_definition, tags: n.tags })),
    links: [],
  });
  try {
    const ports: PortAllocations = {};
    for (const entry of extractPortTemplate(topology)) {
      if (entry.templatePort !== undefined) ports[entry.name] = entry.templatePort;
    }
    return { ports };
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    return { ports: {}, error: e.message };
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
const clampPercent = (n: number | null | undefined): number | undefined =>
  n === null || n === undefined ? undefined : Math.min(100, Math.max(0, n));

/** Totals and per-node figures of what the lab was running with (operational data first). */
export function observeNodes(
  nodes: readonly CmlNodeInfo[],
  stats: CmlSimulationStats,
): Pick<ResourceObservation, 'nodes' | 'totals'> {
  let cpu = 0;
  let ramMb = 0;
  let diskGb = 0;
  let nodeCount = 0;
  const observed = nodes.map((n) => {
    const d = nodeDefaults(n.node_definition);
    const op = n.operational;
    const cpus = op?.cpus ?? n.cpus ?? (d.countsAsNode ? d.cpus : 0);
    const ram = op?.ram ?? n.ram ?? (d.countsAsNode ? d.ramMb : 0);
    if (d.countsAsNode) {
      nodeCount++;
      cpu += cpus * ((op?.cpu_limit ?? n.cpu_limit ?? 100) / 100);
      ramMb += ram;
      diskGb += (op?.boot_disk_size ?? d.diskGb) + (op?.data_volume ?? 0);
    }
    const usage = clampPercent(stats.nodes[n.id]?.cpu_usage);
    return {
      label: n.label,
      nodeDefinition: n.node_definition,
      ...(n.state ? { state: n.state } : {}),
      cpus,
      ramMb: ram,
      ...(usage !== undefined ? { cpuUsagePercent: usage } : {}),
      tags: [...n.tags],
    };
  });
  return {
    nodes: observed,
    totals: {
      cpuCores: round1(cpu),
      memoryGb: Math.ceil((ramMb / 1024) * 2) / 2,
      storageGb: Math.ceil(diskGb),
      nodeCount,
    },
  };
}

function interfaceSummary(byNode: ReadonlyArray<{ node: CmlNodeInfo; interfaces: CmlInterfaceInfo[] }>) {
  return byNode.map(({ node, interfaces }) => ({
    node: node.label,
    interfaces: interfaces.map((i) => ({
      label: i.label ?? i.id,
      type: i.type ?? undefined,
      connected: i.is_connected ?? undefined,
      state: i.state ?? undefined,
    })),
  }));
}

const OBSERVER = 'workflow:ObserveLab';

/**
 * ObserveLab: a resource observation of the running lab — nodes with cpu/ram (operational data)
 * and CPU usage, tags → observed ports, interfaces, simulation stats — with port drift against
 * the allocated ports and conflicts with other sessions' leases on the worker. One observation
 * per lab (a retry does not add a second). Tells the state machine whether to grade.
 */
export async function observeLabStep(
  deps: SessionStepDeps,
  input: z.input<typeof SessionStepInput>,
): Promise<ObserveLabOutput> {
  const { sessionId } = SessionStepInput.parse(input);
  const aggregate = await deps.stores.sessions.get(sessionId);
  const session: LabletSession = aggregate.session;
  assertNotTerminated(session);
  const definition = await deps.stores.definitions.getVersion(
    session.definitionId,
    session.definitionVersion,
  );
  const hasGrading = Boolean(definition.gradingRulesRef);
  const existing = aggregate.observations.find(
    (o) => o.observer === OBSERVER && o.cmlLabId === session.cmlLabId,
  );
  if (existing) return { hasGrading, hasDrift: existing.drift?.hasDrift === true };
  if (!session.cmlLabId || !session.workerId) throw new Error(`session ${sessionId} has no lab`);
  const labId = session.cmlLabId;
  const { cml } = await workerOf(deps, session);

  const nodes = await cml.listNodes(labId);
  const [stats, interfaces, leases] = await Promise.all([
    cml.simulationStats(labId),
    Promise.all(nodes.map(async (node) => ({ node, interfaces: await cml.nodeInterfaces(labId, node.id) }))),
    deps.stores.leases.listByWorker(session.workerId),
  ]);
  const { ports, error: tagError } = observedPorts(nodes);
  const otherLeases = leases.filter((l) => l.sessionId !== sessionId);
  const drift = detectPortDrift(session.allocatedPorts ?? {}, ports, otherLeases);
  const { nodes: observedNodes, totals } = observeNodes(nodes, stats);
  await deps.stores.sessions.addObservation({
    sessionId,
    definitionId: session.definitionId,
    definitionVersion: session.definitionVersion,
    workerId: session.workerId,
    cmlLabId: labId,
    observedAt: nowOf(deps).toISOString(),
    observer: OBSERVER,
    nodes: observedNodes,
    totals,
    observedPorts: ports,
    drift,
    stats: {
      simulation: { nodes: stats.nodes, linkCount: Object.keys(stats.links).length },
      interfaces: interfaceSummary(interfaces),
      ...(tagError ? { tagError } : {}),
    },
  });
  return { hasGrading, hasDrift: drift.hasDrift };
}
