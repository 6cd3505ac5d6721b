import type { LicenseType, PodType, ResourceRequirements, Worker } from '../../kernel/index.ts';
import { fits, requirementsAsCapacity, ValidationError } from '../../kernel/index.ts';

/**
 * Placement in the spirit of the Kubernetes scheduler: a chain of filters, then a score over the
 * survivors. Pure and allocation-free per worker, so it stays well under 2 ms for a fleet of
 * 1,000 (bench/placement.bench.ts).
 *
 * Score (the `score` of a placed result) = MostAllocated + ALIGNMENT_WEIGHT × endAlignment;
 * highest wins, ties to the smaller id.
 * - MostAllocated (bin packing), in [0, 1]: mean utilisation after placing, over the dimensions
 *   the worker declares.
 * - endAlignment, in [-1, 1], only when the request has `sessionEnd` and the worker has
 *   `latestSessionEnd` (the latest timeslot end of the sessions on it); otherwise 0, so without
 *   both fields the choice is exactly MostAllocated's. A host lives until its last session ends,
 *   so a session that ends with (or before) the worker's last one rides along for free, while
 *   one that ends later extends the life of the whole host: alignment is 1 when both end
 *   together, falls to 0 as the worker outlives the session by up to 4 h (keeping longer-lived
 *   hosts for longer sessions), and falls four times as fast on the other side (0 at a 1-hour
 *   extension, -1 from 2 h) so that an empty worker is preferred to a host whose sessions all
 *   end much earlier. Sessions that end together thus share hosts, and hosts empty together.
 *   With weight 2 alignment outweighs packing between well- and badly-aligned workers; packing
 *   decides among equally aligned ones. The form and the constants were chosen on the fleet
 *   simulator (docs/benchmarks.md, "## Fleet"), where a tie-break on alignment alone changed
 *   nothing (MostAllocated scores are rarely equal).
 */

export interface PlacementRequest {
  requirements: ResourceRequirements;
  licenseAffinity: LicenseType[];
  podType: PodType;
  amiRequirement?: string | undefined;
  portsNeeded: number;
  /** End of the session's timeslot (ISO instant); enables the end-time alignment term. */
  sessionEnd?: string | undefined;
  /** CML node definitions the lab uses: a worker whose CML is known to lack one is rejected. */
  nodeDefinitions?: readonly string[] | undefined;
  /** Image definitions the lab's nodes pin: likewise. */
  imageDefinitions?: readonly string[] | undefined;
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
  | 'latestSessionEnd'
> &
  Partial<Pick<Worker, 'cmlDefinitions'>>;

export const REJECTION_CATEGORIES = [
  'status',
  'license',
  'ami',
  'podType',
  'node-definitions',
  'capacity',
  'ports',
] as const;
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
  const end = req.sessionEnd;
  if (end !== undefined && (typeof end !== 'string' || Number.isNaN(Date.parse(end)))) {
    throw new ValidationError('sessionEnd', `must be an ISO instant, got ${String(req.sessionEnd)}`);
  }
}

/** The number in `s[from, from + n)`, or -1 when a character there is not a digit. */
function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * `Date.parse(s)`, about twice as fast for the form `toISOString()` writes
 * (`YYYY-MM-DDTHH:MM:SS.sssZ`, what the stores keep): placement parses one per eligible worker.
 * Anything else (offsets, other precisions, days past the 28th, years before 100) goes to
 * `Date.parse`.
 */
export function instantMs(s: string): number {
  if (
    s.length === 24 &&
    s.charCodeAt(23) === 90 && // Z
    s.charCodeAt(4) === 45 && // -
    s.charCodeAt(7) === 45 &&
    s.charCodeAt(10) === 84 && // T
    s.charCodeAt(13) === 58 && // :
    s.charCodeAt(16) === 58 &&
    s.charCodeAt(19) === 46 // .
  ) {
    const year = digits(s, 0, 4);
    const month = digits(s, 5, 2);
    const day = digits(s, 8, 2);
    const hour = digits(s, 11, 2);
    const minute = digits(s, 14, 2);
    const second = digits(s, 17, 2);
    const ms = digits(s, 20, 3);
    // Date.UTC reads years 0–99 as 1900–1999: those go to Date.parse too.
    if (
      year >= 100 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= 28 &&
      hour >= 0 &&
      hour <= 23 &&
      minute >= 0 &&
      minute <= 59 &&
      second >= 0 &&
      second <= 59 &&
      ms >= 0
    ) {
      return Date.UTC(year, month - 1, day, hour, minute, second, ms);
    }
  }
  return Date.parse(s);
}

/** Weight of the end-time alignment term against MostAllocated (which lies in [0, 1]). */
export const ALIGNMENT_WEIGHT = 2;
/** A worker that outlives the session by this much or more gets no alignment credit. */
const OUTLIVE_HORIZON_MS = 4 * 60 * 60_000;
/** Extending a worker's life by this much scores like an empty worker (0); twice as much, -1. */
const EXTEND_HORIZON_MS = 60 * 60_000;

/**
 * End-time alignment of placing a session that ends at `endMs` on a worker whose latest session
 * ends at `latestEndMs`, in [-1, 1]: 1 when they end together, falling linearly to 0 as the
 * worker outlives the session by up to 4 h, and falling four times as fast (0 at 1 h, -1 from
 * 2 h) as the session would extend the worker's life beyond its last session.
 */
export function endAlignment(latestEndMs: number, endMs: number): number {
  const d = latestEndMs - endMs;
  if (d >= 0) return 1 - Math.min(d, OUTLIVE_HORIZON_MS) / OUTLIVE_HORIZON_MS;
  return Math.max(-1, 1 + d / EXTEND_HORIZON_MS);
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
  'node-definitions': 0,
  capacity: 0,
  ports: 0,
});

/** Per worker definitions object, the ids it offers (node definitions lower-cased), built once. */
const offeredCache = new WeakMap<object, { nodes: Set<string>; images: Set<string> }>();

function offered(defs: NonNullable<PlacementCandidate['cmlDefinitions']>) {
  let o = offeredCache.get(defs);
  if (!o) {
    o = {
      nodes: new Set(defs.nodeDefinitions.map((d) => d.id.toLowerCase())),
      images: new Set(defs.imageDefinitions.map((d) => d.id)),
    };
    offeredCache.set(defs, o);
  }
  return o;
}

/**
 * Whether a worker's CML offers every node and image definition the lab needs. A worker whose
 * definitions were never read (no health sweep yet) is not rejected: unknown is not absent.
 */
export function offersDefinitions(
  w: Pick<PlacementCandidate, 'cmlDefinitions'>,
  nodeDefinitions: readonly string[],
  imageDefinitions: readonly string[],
): boolean {
  if (!w.cmlDefinitions) return true;
  const o = offered(w.cmlDefinitions);
  for (const d of nodeDefinitions) if (!o.nodes.has(d)) return false;
  for (const d of imageDefinitions) if (!o.images.has(d)) return false;
  return true;
}

/**
 * Picks the worker for a session, or explains why none fits. Each rejected worker is counted
 * once, under the first filter that rejects it (status → license → AMI → pod type → node
 * definitions → capacity → ports). Survivors are ranked by the score described at the top of this module; ties go to
 * the lexicographically smaller id, so the choice does not depend on the order of `workers`. A
 * worker's `latestSessionEnd` that does not parse is treated as absent (no alignment term).
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
  const nodeDefinitions = (req.nodeDefinitions ?? []).map((d) => d.toLowerCase());
  const imageDefinitions = req.imageDefinitions ?? [];
  const checkDefinitions = nodeDefinitions.length > 0 || imageDefinitions.length > 0;
  const endMs = req.sessionEnd === undefined ? Number.NaN : Date.parse(req.sessionEnd);
  const aligned = !Number.isNaN(endMs);

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
    if (checkDefinitions && !offersDefinitions(w, nodeDefinitions, imageDefinitions)) {
      rejections['node-definitions']++;
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

    // MostAllocated: mean utilisation after placing, over the dimensions the worker declares;
    // then the end-time alignment term (see the top of the module).
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
    let score = dims === 0 ? 0 : sum / dims;
    if (aligned && w.latestSessionEnd !== undefined) {
      const latestMs = instantMs(w.latestSessionEnd);
      if (!Number.isNaN(latestMs)) score += ALIGNMENT_WEIGHT * endAlignment(latestMs, endMs);
    }
    if (score > bestScore || (score === bestScore && bestId !== undefined && w.id < bestId)) {
      bestScore = score;
      bestId = w.id;
    }
  }

  if (bestId === undefined) return { placed: false, rejections, considered: workers.length };
  return { placed: true, workerId: bestId, score: bestScore, rejections };
}
