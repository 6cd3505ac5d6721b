import type { Capacity, CapacityDimension, DefinitionWarning, LabletDefinition } from '../../kernel/index.ts';
import { CAPACITY_DIMENSIONS, requirementsAsCapacity } from '../../kernel/index.ts';
import { choosePlacement, type PlacementRequest, type RejectionCategory } from './placement.ts';
import type { ScalingTemplate } from './scaling/index.ts';
import { virtualFromTemplate } from './scaling/packing.ts';

/**
 * Booking admission (issue 10, item 2), pure: could any enabled template, as a fresh empty
 * worker, hold this session on its own? Decided by `choosePlacement` on a virtual worker per
 * template (the very filters the workflow places with and the scaler packs with), so admission can
 * never refuse what placement would accept, nor accept what no host could ever take.
 *
 * A refusal says why in terms a portal can show:
 * - per capacity dimension the session needs more of than every enabled template declares:
 *   `cpuCores 301 > 96 on every template` (the largest template's figure);
 * - otherwise what the templates that are big enough lack (licence, pod type, AMI, console ports),
 *   or that no single template is big enough in every dimension at once.
 */

export interface AdmissionShortfall {
  /** A capacity dimension (`cpuCores`, …, `maxNodes`) or another placement filter (`license`, `ports`, …). */
  readonly dimension: CapacityDimension | Exclude<RejectionCategory, 'capacity' | 'status'> | 'templates';
  readonly message: string;
  /** What the session needs and the most any enabled template offers, for capacity dimensions. */
  readonly required?: number;
  readonly largest?: number;
}

export type AdmissionResult =
  | { readonly admitted: true; readonly templates: readonly string[] }
  | { readonly admitted: false; readonly shortfalls: readonly AdmissionShortfall[] };

/** The requirement name of a capacity dimension as a definition states it (maxNodes ↔ nodeCount). */
const REQUIREMENT_NAME: Record<CapacityDimension, string> = {
  cpuCores: 'cpuCores',
  memoryGb: 'memoryGb',
  storageGb: 'storageGb',
  maxNodes: 'nodeCount',
};

const FILTER_WORDS: Record<Exclude<RejectionCategory, 'capacity' | 'status'>, string> = {
  license: 'a licence type the definition accepts',
  podType: 'the pod type the definition needs',
  ami: 'the AMI the definition requires',
  ports: 'enough console ports in its port range',
  'node-definitions': 'the node and image definitions the lab uses',
};

export function checkAdmission(
  req: PlacementRequest,
  templates: readonly ScalingTemplate[],
): AdmissionResult {
  const enabled = templates.filter((t) => t.enabled);
  if (enabled.length === 0) {
    return {
      admitted: false,
      shortfalls: [{ dimension: 'templates', message: 'no worker template is enabled' }],
    };
  }
  const fitting = enabled.filter((t) => choosePlacement(req, [virtualFromTemplate(t, t.name)]).placed);
  if (fitting.length > 0) return { admitted: true, templates: fitting.map((t) => t.name) };

  const need = requirementsAsCapacity(req.requirements);
  const largest = largestOf(enabled);
  const shortfalls: AdmissionShortfall[] = [];
  for (const d of CAPACITY_DIMENSIONS) {
    if (need[d] > largest[d]) {
      shortfalls.push({
        dimension: d,
        required: need[d],
        largest: largest[d],
        message: `${REQUIREMENT_NAME[d]} ${need[d]} > ${largest[d]} on every template`,
      });
    }
  }
  if (shortfalls.length > 0) return { admitted: false, shortfalls };

  // Every dimension fits some template: say what the others lack, first filter that rejects each.
  const counts = new Map<RejectionCategory, string[]>();
  for (const t of enabled) {
    const r = choosePlacement(req, [virtualFromTemplate(t, t.name)]);
    const category = (Object.keys(r.rejections) as RejectionCategory[]).find((c) => r.rejections[c] > 0);
    if (category === undefined) continue;
    counts.set(category, [...(counts.get(category) ?? []), t.name]);
  }
  for (const [category, names] of counts) {
    if (category === 'capacity' || category === 'status') {
      shortfalls.push({
        dimension: 'templates',
        message: `no single template is large enough in every dimension at once (${names.join(', ')} each lack one)`,
      });
    } else {
      shortfalls.push({
        dimension: category,
        message: `no enabled template offers ${FILTER_WORDS[category]} (${names.join(', ')})`,
      });
    }
  }
  return { admitted: false, shortfalls };
}

function largestOf(templates: readonly ScalingTemplate[]): Capacity {
  const out = { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 };
  for (const t of templates) for (const d of CAPACITY_DIMENSIONS) out[d] = Math.max(out[d], t.capacity[d]);
  return out;
}

/** What of a definition decides whether a template can hold its sessions (as newSession copies it). */
export type DefinitionPlacementNeeds = Pick<
  LabletDefinition,
  'resourceRequirements' | 'licenseAffinity' | 'podType' | 'amiRequirement' | 'portTemplate'
>;

/**
 * The warning a definition carries while no enabled template could hold one of its sessions
 * (issue 11, item 4): the same admission decision a booking gets (its 422), said ahead of any
 * booking, one warning per shortfall. Empty when some enabled template holds it.
 */
export function holdWarnings(
  definition: DefinitionPlacementNeeds,
  templates: readonly ScalingTemplate[],
): DefinitionWarning[] {
  const result = checkAdmission(
    {
      requirements: definition.resourceRequirements,
      licenseAffinity: definition.licenseAffinity,
      podType: definition.podType,
      amiRequirement: definition.amiRequirement,
      portsNeeded: definition.portTemplate.length,
    },
    templates,
  );
  if (result.admitted) return [];
  return result.shortfalls.map((s) => ({
    code: 'NO_TEMPLATE_CAN_HOLD',
    message: `No enabled worker template can hold a session of this definition: ${s.message}; a booking is refused (422).`,
    // No field when the fleet, not the definition, is short (no template enabled at all).
    ...(s.dimension === 'templates' ? {} : { field: DEFINITION_FIELD[s.dimension] }),
  }));
}

/** The definition field each shortfall is about (what an author would change). */
export const DEFINITION_FIELD: Record<AdmissionShortfall['dimension'], string> = {
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
