import { fits, requirementsAsCapacity } from './capacity.ts';
import type { LicenseType, PodType } from './enums.ts';
import { ValidationError } from './errors.ts';
import type { ResourceRequirements, Worker } from './schemas.ts';

/**
 * Placement in the spirit of the Kubernetes scheduler: a chain of filters, then a score
 * (MostAllocated, i.e. bin packing) over the survivors. Pure and allocation-free per worker,
 * so it stays well under 2 ms for a fleet of 1,000 (bench/placement.bench.ts).
 */

export interface PlacementRequest {
  requirements: ResourceRequirements;
  licenseAffinity: LicenseType[];
  podType: PodType;
  amiRequirement?: string | undefined;
  portsNeeded: number;
}

export type PlacementCandidate = Pick<
  Worker,
  | 'id'
  | 'status'
  | 'license'
  | 'podType'
  | 'amiId'
  | 'amiName'
  | 'declaredCapacity'
  | 'allocatedCapacity'
  | 'portRange'
  | 'leasedPortCount'
>;

export const REJECTION_CATEGORIES = ['status', 'license', 'ami', 'podType', 'capacity', 'ports'] as const;
export type RejectionCategory = (typeof REJECTION_CATEGORIES)[number];

export type PlacementResult =
  | { placed: true; workerId: string; score: number; rejections: Record<RejectionCategory, number> }
  | { placed: false; rejections: Record<RejectionCategory, number>; considered: number };

const REQUIREMENT_FIELDS = ['cpuCores', 'memoryGb', 'storageGb', 'nodeCount'] as const;

function validateRequest(req: PlacementRequest): void {
  for (const f of REQUIREMENT_FIELDS) {
    const v = req.requirements?.[f];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ValidationError(`requirements.${f}`, `must be a finite number >= 0, got ${String(v)}`);
    }
  }
  if (!Number.isInteger(req.requirements.nodeCount)) {
    throw new ValidationError(
      'requirements.nodeCount',
      `must be an integer, got ${req.requirements.nodeCount}`,
    );
  }
  const p = req.portsNeeded;
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0) {
    throw new ValidationError('portsNeeded', `must be an integer >= 0, got ${String(p)}`);
  }
  if (!Array.isArray(req.licenseAffinity)) {
    throw new ValidationError('licenseAffinity', 'must be an array (empty = any license)');
  }
  if (req.amiRequirement !== undefined && typeof req.amiRequirement !== 'string') {
    throw new ValidationError('amiRequirement', 'must be a string (AMI id or name glob)');
  }
}

/** `*` = any run of characters, `?` = one character, everything else literal; anchored. */
export function compileGlob(pattern: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/** Whether a worker's AMI satisfies a requirement (id equality or name glob). */
export function amiMatches(requirement: string | undefined, amiId?: string, amiName?: string): boolean {
  if (requirement === undefined) return true;
  if (amiId === requirement) return true;
  return amiName !== undefined && compileGlob(requirement).test(amiName);
}

const emptyRejections = (): Record<RejectionCategory, number> => ({
  status: 0,
  license: 0,
  ami: 0,
  podType: 0,
  capacity: 0,
  ports: 0,
});

/**
 * Picks the worker for a session, or explains why none fits. Each rejected worker is counted
 * once, under the first filter that rejects it (status → license → AMI → pod type → capacity
 * → ports). Ties on score go to the lexicographically smaller id, so the choice does not
 * depend on the order of `workers`.
 */
export function choosePlacement(
  req: PlacementRequest,
  workers: readonly PlacementCandidate[],
): PlacementResult {
  validateRequest(req);
  const need = requirementsAsCapacity(req.requirements);
  const needCpu = need.cpuCores;
  const needMem = need.memoryGb;
  const needDisk = need.storageGb;
  const needNodes = need.maxNodes;
  const licenses = req.licenseAffinity;
  const anyLicense = licenses.length === 0;
  const podType = req.podType;
  const amiRequirement = req.amiRequirement;
  const amiGlob = amiRequirement === undefined ? undefined : compileGlob(amiRequirement);
  const portsNeeded = req.portsNeeded;

  const rejections = emptyRejections();
  let bestId: string | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;

  for (let i = 0; i < workers.length; i++) {
    const w = workers[i]!;
    if (w.status !== 'RUNNING') {
      rejections.status++;
      continue;
    }
    if (!anyLicense && !licenses.includes(w.license.type)) {
      rejections.license++;
      continue;
    }
    if (
      amiGlob !== undefined &&
      w.amiId !== amiRequirement &&
      (w.amiName === undefined || !amiGlob.test(w.amiName))
    ) {
      rejections.ami++;
      continue;
    }
    if (w.podType !== podType) {
      rejections.podType++;
      continue;
    }
    const declared = w.declaredCapacity;
    const allocated = w.allocatedCapacity;
    if (!fits(declared, allocated, need)) {
      rejections.capacity++;
      continue;
    }
    if (w.portRange.end - w.portRange.start + 1 - w.leasedPortCount < portsNeeded) {
      rejections.ports++;
      continue;
    }

    // MostAllocated: mean utilisation after placing, over the dimensions the worker declares.
    let sum = 0;
    let dims = 0;
    if (declared.cpuCores > 0) {
      sum += (allocated.cpuCores + needCpu) / declared.cpuCores;
      dims++;
    }
    if (declared.memoryGb > 0) {
      sum += (allocated.memoryGb + needMem) / declared.memoryGb;
      dims++;
    }
    if (declared.storageGb > 0) {
      sum += (allocated.storageGb + needDisk) / declared.storageGb;
      dims++;
    }
    if (declared.maxNodes > 0) {
      sum += (allocated.maxNodes + needNodes) / declared.maxNodes;
      dims++;
    }
    const score = dims === 0 ? 0 : sum / dims;
    if (score > bestScore || (score === bestScore && bestId !== undefined && w.id < bestId)) {
      bestScore = score;
      bestId = w.id;
    }
  }

  if (bestId === undefined) return { placed: false, rejections, considered: workers.length };
  return { placed: true, workerId: bestId, score: bestScore, rejections };
}
