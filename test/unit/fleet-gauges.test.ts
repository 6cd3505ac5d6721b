import { fleetGaugePoints, fleetGauges } from '@lcm/shared/fleet';
import type { Capacity, WorkerStatus } from '@lcm/shared/kernel';
import { METRIC_NAMESPACE, publishMetrics, recordMetrics } from '@lcm/shared/platform';
import { describe, expect, it } from 'vitest';
import { captureEmf, metricsStageForTests } from '../support/emf.ts';
import { template } from './builders.ts';

/**
 * The fleet gauges (issue 13, item 1): the pure rule fleet/rules/fleet-gauges.ts on a hand-made
 * fleet, and its points as Powertools prints them (EMF captured on stdout).
 */

const cap = (cpuCores: number, memoryGb: number, storageGb: number, maxNodes: number): Capacity => ({
  cpuCores,
  memoryGb,
  storageGb,
  maxNodes,
});
const ZERO = cap(0, 0, 0, 0);
const BIG = cap(48, 192, 1000, 100);
const SMALL = cap(16, 64, 500, 40);

const w = (status: WorkerStatus, templateName: string, allocatedCapacity = ZERO) => ({
  status,
  templateName,
  declaredCapacity: templateName === 'big' ? BIG : SMALL,
  allocatedCapacity,
});

const TEMPLATES = [
  template({ name: 'big', costPerHourUsd: 3.96 }),
  template({ name: 'small', costPerHourUsd: 1.2 }),
  template({ name: 'idle', costPerHourUsd: 9 }),
];

const FLEET = [
  w('RUNNING', 'big', cap(12, 40.5, 60, 17)),
  w('RUNNING', 'small', cap(4, 16, 20, 5)),
  w('DRAINING', 'small', cap(2, 8, 10, 3)),
  w('PROVISIONING', 'big'),
  w('STOPPING', 'small'),
  w('STOPPED', 'big'),
  w('SHUTTING_DOWN', 'small'),
  w('FAILED', 'big'),
  w('TERMINATED', 'big'),
  w('TERMINATED', 'small'),
  // Its template was deleted: counted, without a price.
  w('RUNNING', 'gone', cap(1, 1, 1, 1)),
];

describe('fleetGauges (fleet/rules/fleet-gauges.ts)', () => {
  const g = fleetGauges(FLEET, TEMPLATES);

  it('counts every status but TERMINATED, zeros included', () => {
    expect(g.byStatus).toEqual({
      PENDING: 0,
      PROVISIONING: 1,
      STARTING: 0,
      RUNNING: 3,
      DRAINING: 1,
      STOPPING: 1,
      STOPPED: 1,
      SHUTTING_DOWN: 1,
      FAILED: 1,
    });
  });

  it('prices the billable workers (serving, draining, stopping) per template; the fleet cost is their sum', () => {
    expect(g.byTemplate).toEqual([
      // RUNNING + PROVISIONING: 2 × 3.96 (STOPPED, FAILED, TERMINATED are not billed).
      { template: 'big', billable: 2, costPerHourUsd: 7.92, unpriced: false },
      { template: 'gone', billable: 1, costPerHourUsd: 0, unpriced: true },
      { template: 'idle', billable: 0, costPerHourUsd: 0, unpriced: false },
      // RUNNING + DRAINING + STOPPING: 3 × 1.2 (SHUTTING_DOWN is not billed).
      { template: 'small', billable: 3, costPerHourUsd: 3.6, unpriced: false },
    ]);
    expect(g.costPerHourUsd).toBe(11.52);
  });

  it('sums declared and allocated capacity over the live workers (RUNNING, DRAINING) only', () => {
    // big (48/192/1000/100) + small × 2 (16/64/500/40) + gone (its declared: SMALL).
    expect(g.declared).toEqual(cap(96, 384, 2500, 220));
    expect(g.allocated).toEqual(cap(19, 65.5, 91, 26));
  });

  it('an empty fleet is all zeros, and every template still has its gauge', () => {
    const empty = fleetGauges([], [template({ name: 'big' })]);
    expect(Object.values(empty.byStatus).every((n) => n === 0)).toBe(true);
    expect(empty.byTemplate).toEqual([{ template: 'big', billable: 0, costPerHourUsd: 0, unpriced: false }]);
    expect(empty.declared).toEqual(ZERO);
    expect(empty.costPerHourUsd).toBe(0);
  });
});

describe('fleetGaugePoints published as EMF', () => {
  metricsStageForTests('test');

  it('one data point per status, template and resource, with exactly the declared dimensions', async () => {
    const points = await captureEmf(() => {
      recordMetrics(fleetGaugePoints(fleetGauges(FLEET, TEMPLATES)));
      publishMetrics();
    });
    expect(new Set(points.map((p) => p.namespace))).toEqual(new Set([METRIC_NAMESPACE]));
    const of = (name: string) =>
      points
        .filter((p) => p.name === name)
        .map((p): Record<string, unknown> => ({ ...p.dimensions, values: p.values, unit: p.unit }))
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

    const workers = of('FleetWorkers');
    expect(workers).toHaveLength(9);
    expect(workers).toContainEqual({
      service: 'lcm',
      stage: 'test',
      status: 'RUNNING',
      values: [3],
      unit: 'Count',
    });
    expect(workers).toContainEqual({
      service: 'lcm',
      stage: 'test',
      status: 'PENDING',
      values: [0],
      unit: 'Count',
    });
    expect(workers.some((p) => p.status === 'TERMINATED')).toBe(false);

    expect(of('FleetCostPerHourUsd')).toEqual([
      { service: 'lcm', stage: 'test', values: [11.52], unit: 'None' },
    ]);
    expect(of('FleetBillableWorkers')).toEqual([
      { service: 'lcm', stage: 'test', template: 'big', values: [2], unit: 'Count' },
      { service: 'lcm', stage: 'test', template: 'gone', values: [1], unit: 'Count' },
      { service: 'lcm', stage: 'test', template: 'idle', values: [0], unit: 'Count' },
      { service: 'lcm', stage: 'test', template: 'small', values: [3], unit: 'Count' },
    ]);
    expect(of('FleetTemplateCostPerHourUsd').map((p) => [p.template, p.values])).toEqual([
      ['big', [7.92]],
      ['gone', [0]],
      ['idle', [0]],
      ['small', [3.6]],
    ]);
    expect(of('FleetCapacityDeclared').map((p) => [p.resource, (p.values as number[])[0]])).toEqual([
      ['cpuCores', 96],
      ['maxNodes', 220],
      ['memoryGb', 384],
      ['storageGb', 2500],
    ]);
    expect(of('FleetCapacityAllocated').map((p) => [p.resource, (p.values as number[])[0]])).toEqual([
      ['cpuCores', 19],
      ['maxNodes', 26],
      ['memoryGb', 65.5],
      ['storageGb', 91],
    ]);
  });
});
