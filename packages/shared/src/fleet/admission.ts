import { UnprocessableError } from '../kernel/index.ts';
import { allPages } from '../platform/index.ts';
import { type AdmissionResult, type AdmissionShortfall, checkAdmission } from './rules/admission.ts';
import type { ScalingSession } from './rules/scaling/index.ts';
import { placementRequestOf } from './rules/scaling/packing.ts';
import type { WorkerTemplateStore } from './stores/worker-template-store.ts';

/** The definition field each shortfall is about (what an author would change). */
const DEFINITION_FIELD: Record<AdmissionShortfall['dimension'], string> = {
  cpuCores: 'resourceRequirements.cpuCores',
  memoryGb: 'resourceRequirements.memoryGb',
  storageGb: 'resourceRequirements.storageGb',
  maxNodes: 'resourceRequirements.nodeCount',
  license: 'licenseAffinity',
  podType: 'podType',
  ami: 'amiRequirement',
  ports: 'portTemplate',
  'node-definitions': 'nodeDefinitions',
  templates: 'definitionId',
};

export interface AdmissionDeps {
  templates: Pick<WorkerTemplateStore, 'list'>;
}

/**
 * Refuses a booking that no enabled template could ever hold (issue 10, item 2): a 422 naming each
 * failing dimension of the definition's requirements ("cpuCores 301 > 96 on every template"), so
 * a booking that is sure to fail is refused when it is made, not discovered at the slot.
 */
export async function admitBooking(
  deps: AdmissionDeps,
  session: ScalingSession & { definitionId: string; definitionVersion: number },
): Promise<AdmissionResult & { admitted: true }> {
  const templates = await allPages((p) => deps.templates.list(p));
  const result = checkAdmission(placementRequestOf(session), templates);
  if (result.admitted) return result;
  const label = `definition ${session.definitionId} v${session.definitionVersion}`;
  throw new UnprocessableError(
    `${label} cannot be placed on any enabled worker template: ${result.shortfalls.map((s) => s.message).join('; ')}`,
    result.shortfalls.map((s) => ({ path: DEFINITION_FIELD[s.dimension], message: s.message })),
    {
      definitionId: session.definitionId,
      definitionVersion: session.definitionVersion,
      shortfalls: result.shortfalls,
    },
  );
}
