import type { DefinitionWarning } from '../kernel/index.ts';
import { UnprocessableError } from '../kernel/index.ts';
import { allPages } from '../platform/index.ts';
import {
  type AdmissionResult,
  checkAdmission,
  DEFINITION_FIELD,
  type DefinitionPlacementNeeds,
  holdWarnings,
} from './rules/admission.ts';
import type { ScalingSession } from './rules/scaling/index.ts';
import { placementRequestOf } from './rules/scaling/packing.ts';
import type { WorkerTemplateStore } from './stores/worker-template-store.ts';

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

/**
 * Each definition with its warnings and, while no enabled template could hold one of its sessions,
 * a `NO_TEMPLATE_CAN_HOLD` warning per shortfall (issue 11, item 4). Computed when the definitions
 * are read, from the templates as they are then (one read of the templates for all of them), so the
 * warning comes and goes as templates are enabled, disabled or changed; nothing stored goes stale.
 */
export async function withHoldWarnings<
  D extends DefinitionPlacementNeeds & { warnings?: DefinitionWarning[] },
>(deps: AdmissionDeps, definitions: readonly D[]): Promise<D[]> {
  if (definitions.length === 0) return [];
  const templates = await allPages((p) => deps.templates.list(p));
  return definitions.map((d) => {
    const hold = holdWarnings(d, templates);
    return hold.length === 0 ? d : { ...d, warnings: [...(d.warnings ?? []), ...hold] };
  });
}
