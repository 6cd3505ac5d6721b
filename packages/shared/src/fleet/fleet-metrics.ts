import { CAPACITY_DIMENSIONS } from '../kernel/index.ts';
import type { MetricPoint } from '../platform/index.ts';
import { type FleetGauges, GAUGED_WORKER_STATUSES } from './rules/fleet-gauges.ts';

/**
 * The fleet gauges (rules/fleet-gauges.ts) as business-metric points (platform/runtime/
 * metric-names.ts): FleetWorkers {status}, FleetBillableWorkers and FleetTemplateCostPerHourUsd
 * {template}, FleetCostPerHourUsd, FleetCapacityDeclared and FleetCapacityAllocated {resource}
 * (the capacity dimensions of kernel/capacity.ts). Pure; the scale-up scaler records them.
 */
export function fleetGaugePoints(g: FleetGauges): MetricPoint[] {
  return [
    ...GAUGED_WORKER_STATUSES.map(
      (status): MetricPoint => ({ key: 'fleetWorkers', value: g.byStatus[status], dimensions: { status } }),
    ),
    ...g.byTemplate.flatMap(({ template, billable, costPerHourUsd }): MetricPoint[] => [
      { key: 'fleetBillableWorkers', value: billable, dimensions: { template } },
      { key: 'fleetTemplateCostPerHourUsd', value: costPerHourUsd, dimensions: { template } },
    ]),
    { key: 'fleetCostPerHourUsd', value: g.costPerHourUsd },
    ...CAPACITY_DIMENSIONS.flatMap((resource): MetricPoint[] => [
      { key: 'fleetCapacityDeclared', value: g.declared[resource], dimensions: { resource } },
      { key: 'fleetCapacityAllocated', value: g.allocated[resource], dimensions: { resource } },
    ]),
  ];
}
