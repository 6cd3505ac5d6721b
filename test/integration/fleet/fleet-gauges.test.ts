import { createStores, type Stores } from '@lcm/shared/app';
import { DEFAULT_SCALING_CONFIG, runScaleUp } from '@lcm/shared/fleet';
import { publishMetrics, RecordingFleetWorkflows } from '@lcm/shared/platform';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureEmf, metricsStageForTests } from '../../support/emf.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { newTemplate, newWorker } from '../persistence/builders.ts';

/**
 * The fleet gauges (issue 13, item 1) from the scale-up scaler's run over DynamoDB Local: the
 * workers and templates it reads anyway give FleetWorkers by status, the billable workers and
 * cost per template, the fleet's cost per hour and the live capacity, as Powertools prints them.
 */

let t: TestTable;
let s: Stores;
const NOW = new Date('2031-03-01T09:00:00.000Z');

beforeEach(async () => {
  t = await createTestTable('fleet-gauges');
  s = createStores({ client: t.client, tableName: t.tableName });
});

afterEach(async () => {
  await t.cleanup();
});

describe('runScaleUp records the fleet gauges', () => {
  metricsStageForTests('test');

  it('from the stored workers and templates, before it acts', async () => {
    const small = { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 40 };
    await s.templates.create(newTemplate({ name: 'small', capacity: small, costPerHourUsd: 1.25 }));
    await s.templates.create(newTemplate({ name: 'large', costPerHourUsd: 4 }));
    await s.workers.create(
      newWorker({
        id: 'w-run',
        templateName: 'small',
        declaredCapacity: small,
        allocatedCapacity: { cpuCores: 4, memoryGb: 16, storageGb: 20, maxNodes: 5 },
      }),
    );
    await s.workers.create(
      newWorker({ id: 'w-drain', templateName: 'small', status: 'DRAINING', declaredCapacity: small }),
    );
    await s.workers.create(newWorker({ id: 'w-stopped', templateName: 'large', status: 'STOPPED' }));
    await s.workers.create(newWorker({ id: 'w-gone', templateName: 'large', status: 'TERMINATED' }));

    const points = await captureEmf(async () => {
      const run = await runScaleUp({
        workers: s.workers,
        templates: s.templates,
        sessions: s.sessions,
        scaling: s.scaling,
        workflows: new RecordingFleetWorkflows(),
        config: DEFAULT_SCALING_CONFIG,
        clock: () => NOW,
      });
      expect(run.actions).toEqual([]);
      publishMetrics();
    });

    const value = (name: string, dims: Record<string, string> = {}) =>
      points
        .filter((p) => p.name === name && Object.entries(dims).every(([k, v]) => p.dimensions[k] === v))
        .map((p) => p.values);
    expect(value('FleetWorkers', { status: 'RUNNING' })).toEqual([[1]]);
    expect(value('FleetWorkers', { status: 'DRAINING' })).toEqual([[1]]);
    expect(value('FleetWorkers', { status: 'STOPPED' })).toEqual([[1]]);
    expect(value('FleetWorkers', { status: 'TERMINATED' })).toEqual([]);
    expect(value('FleetBillableWorkers', { template: 'small' })).toEqual([[2]]);
    expect(value('FleetBillableWorkers', { template: 'large' })).toEqual([[0]]);
    expect(value('FleetCostPerHourUsd')).toEqual([[2.5]]);
    expect(value('FleetCapacityDeclared', { resource: 'cpuCores' })).toEqual([[32]]);
    expect(value('FleetCapacityAllocated', { resource: 'cpuCores' })).toEqual([[4]]);
    expect(value('FleetCapacityAllocated', { resource: 'maxNodes' })).toEqual([[5]]);
    for (const p of points) expect(p.dimensions.stage).toBe('test');
  });
});
