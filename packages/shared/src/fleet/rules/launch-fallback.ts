import type { Capacity, Worker, WorkerTemplate } from '../../kernel/index.ts';
import { CAPACITY_DIMENSIONS } from '../../kernel/index.ts';

/**
 * Where a worker's launch goes when EC2 has no capacity (issue 10, item 5), pure: the worker's own
 * template in each configured subnet, starting from the worker's own subnet and going round the
 * list (each subnet is one AZ's capacity pool), then the next-cheapest enabled template that fits
 * what the worker was made for, in each subnet again, and so on.
 *
 * A template fits when it can stand in for the worker's: the same licence type and pod type, at
 * least the worker's declared capacity in every dimension (the sessions the scaler planned on it
 * still fit) and at least as many console ports. Its virtualisation may differ (a c8i host with
 * nested virtualisation can replace a bare-metal one). Cheaper-first: the planner chose the
 * worker's template as the cheapest for the demand, so anything that fits costs the same or more.
 */

export interface LaunchCandidate {
  readonly template: WorkerTemplate;
  readonly subnetId: string | undefined;
  /** Position in the plan: 0 is the worker's own template in its own subnet. */
  readonly index: number;
}

const covers = (offer: Capacity, need: Capacity): boolean =>
  CAPACITY_DIMENSIONS.every((d) => offer[d] >= need[d]);

const portCount = (r: { start: number; end: number }): number => r.end - r.start + 1;

/** The enabled templates that can stand in for the worker's, cheapest first (name breaks ties). */
export function fallbackTemplates(
  worker: Pick<Worker, 'templateName' | 'declaredCapacity' | 'license' | 'podType' | 'portRange'>,
  templates: readonly WorkerTemplate[],
): WorkerTemplate[] {
  return templates
    .filter(
      (t) =>
        t.enabled &&
        t.name !== worker.templateName &&
        t.licenseType === worker.license.type &&
        t.podType === worker.podType &&
        covers(t.capacity, worker.declaredCapacity) &&
        portCount(t.portRange) >= portCount(worker.portRange),
    )
    .sort((a, b) => a.costPerHourUsd - b.costPerHourUsd || a.name.localeCompare(b.name));
}

/** The subnets in the order a worker tries them: its own first, then round the list. */
export function subnetOrder(first: string | undefined, subnetIds: readonly string[]): (string | undefined)[] {
  if (subnetIds.length === 0) return [undefined];
  const start = first === undefined ? 0 : Math.max(0, subnetIds.indexOf(first));
  return subnetIds.map((_, i) => subnetIds[(start + i) % subnetIds.length]);
}

/**
 * The whole plan: (own template, then each fallback) × (subnets from the worker's own). At most
 * `maxTemplates` templates (the own one included).
 */
export function launchCandidates(
  own: WorkerTemplate,
  fallbacks: readonly WorkerTemplate[],
  subnets: readonly (string | undefined)[],
  maxTemplates = 3,
): LaunchCandidate[] {
  const out: LaunchCandidate[] = [];
  for (const template of [own, ...fallbacks].slice(0, Math.max(1, maxTemplates))) {
    for (const subnetId of subnets) out.push({ template, subnetId, index: out.length });
  }
  return out;
}

/**
 * The EC2 ClientToken of a candidate: the worker id for the first (as before, so a retried step
 * finds the instance it launched), the worker id with the candidate's index after it for the others
 * (EC2 refuses one token with other parameters). At most 64 characters, EC2's limit.
 */
export function candidateToken(workerId: string, index: number): string {
  if (index === 0) return workerId;
  const suffix = `~${index}`;
  return `${workerId.slice(0, 64 - suffix.length)}${suffix}`;
}
