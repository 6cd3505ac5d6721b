import type { Capacity, Worker, WorkerStatus, WorkerTemplate } from '../../kernel/index.ts';
import {
  addCapacity,
  BILLABLE_WORKER_STATUSES,
  LIVE_WORKER_STATUSES,
  WORKER_STATUSES,
  ZERO_CAPACITY,
} from '../../kernel/index.ts';

/**
 * The fleet's gauges at one instant (issue 13, item 1), computed from the workers and templates a
 * periodic run has read anyway (the scale-up scaler, every minute): how many workers are in each
 * status, what the billable ones cost per hour, and how much of the live workers' declared
 * capacity sessions hold. Pure; fleet/fleet-metrics.ts turns them into business-metric points.
 *
 * - `byStatus`: every status but TERMINATED (a worker that is gone stays in the table forever,
 *   so its count only grows), zeros included so a graph falls back to zero.
 * - `byTemplate`: per template (every template given, and any template a worker still names),
 *   the billable workers (BILLABLE_WORKER_STATUSES: holding a running instance) and their cost
 *   per hour, the template's `costPerHourUsd` each. A worker whose template is no longer there
 *   is counted with no price (`unpriced`), so the cost is a floor then.
 * - `declared` / `allocated`: summed over the live workers (RUNNING, DRAINING: CML up, sessions
 *   may run on it), so allocated ÷ declared is the utilisation of the fleet that can serve.
 * - `costPerHourUsd`: the sum over the templates.
 */

/** Statuses the gauges count (TERMINATED is not a fleet size). */
export type GaugedWorkerStatus = Exclude<WorkerStatus, 'TERMINATED'>;
export const GAUGED_WORKER_STATUSES: readonly GaugedWorkerStatus[] = WORKER_STATUSES.filter(
  (s): s is GaugedWorkerStatus => s !== 'TERMINATED',
);

export interface TemplateGauge {
  readonly template: string;
  /** Workers of the template holding a running instance. */
  readonly billable: number;
  /** billable × the template's costPerHourUsd (0 when the template is unknown). */
  readonly costPerHourUsd: number;
  /** True when no template of that name was given: its workers are counted without a price. */
  readonly unpriced: boolean;
}

export interface FleetGauges {
  readonly byStatus: Readonly<Record<GaugedWorkerStatus, number>>;
  /** Sorted by template name. */
  readonly byTemplate: readonly TemplateGauge[];
  /** Declared capacity of the live workers. */
  readonly declared: Capacity;
  /** Capacity the sessions placed on the live workers hold. */
  readonly allocated: Capacity;
  readonly costPerHourUsd: number;
}

/** Money to 1/10000 USD, so sums of prices do not show float noise. */
const usd = (n: number): number => Math.round(n * 10_000) / 10_000;

export function fleetGauges(
  workers: readonly Pick<Worker, 'status' | 'templateName' | 'declaredCapacity' | 'allocatedCapacity'>[],
  templates: readonly Pick<WorkerTemplate, 'name' | 'costPerHourUsd'>[],
): FleetGauges {
  const byStatus = Object.fromEntries(GAUGED_WORKER_STATUSES.map((s) => [s, 0])) as Record<
    GaugedWorkerStatus,
    number
  >;
  const price = new Map(templates.map((t) => [t.name, t.costPerHourUsd]));
  const billable = new Map<string, number>(templates.map((t) => [t.name, 0]));
  let declared = ZERO_CAPACITY;
  let allocated = ZERO_CAPACITY;
  for (const w of workers) {
    if (w.status === 'TERMINATED') continue;
    byStatus[w.status] += 1;
    if (BILLABLE_WORKER_STATUSES.includes(w.status)) {
      billable.set(w.templateName, (billable.get(w.templateName) ?? 0) + 1);
    }
    if (LIVE_WORKER_STATUSES.includes(w.status)) {
      declared = addCapacity(declared, w.declaredCapacity);
      allocated = addCapacity(allocated, w.allocatedCapacity);
    }
  }
  const byTemplate = [...billable]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([template, count]): TemplateGauge => {
      const each = price.get(template);
      return {
        template,
        billable: count,
        costPerHourUsd: usd(count * (each ?? 0)),
        unpriced: each === undefined,
      };
    });
  const costPerHourUsd = usd(byTemplate.reduce((sum, t) => sum + t.costPerHourUsd, 0));
  return { byStatus, byTemplate, declared, allocated, costPerHourUsd };
}
