import { DEFAULT_SCALING_CONFIG, overdueBoots, planScaleUp, type ScalingWorker } from '@lcm/shared/fleet';
import { describe, expect, it } from 'vitest';
import { template } from './builders.ts';

/** Issue 10, item 5: a launch past its expected boot time is replaced at once, not at the provisioning bound. */

const NOW = '2025-06-01T12:00:00.000Z';
const nowMs = Date.parse(NOW);
const at = (minutes: number): string => new Date(nowMs + minutes * 60_000).toISOString();
const T = template({ name: 'big', bootMinutes: 15 });
const config = { ...DEFAULT_SCALING_CONFIG, lookAheadMarginMinutes: 10 };

const booting = (
  id: string,
  launchedMinutesAgo: number,
  status: ScalingWorker['status'] = 'PROVISIONING',
) => ({
  id,
  templateName: 'big',
  status,
  license: { type: T.licenseType, status: 'REGISTERED' as const },
  podType: T.podType,
  amiId: T.amiId,
  declaredCapacity: T.capacity,
  allocatedCapacity: { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 },
  portRange: T.portRange,
  leasedPortCount: 0,
  launchedAt: at(-launchedMinutesAgo),
});
const session = (startIn: number) => ({
  id: 's-1',
  status: 'PENDING' as const,
  timeslot: { start: at(startIn), end: at(startIn + 60) },
  requirements: { cpuCores: 4, memoryGb: 16, storageGb: 20, nodeCount: 4 },
  licenseAffinity: [],
  podType: 'CML_ON_AWS' as const,
});

describe('overdueBoots', () => {
  it('a launch older than the expected boot (observed p95, else the template figure) plus grace', () => {
    const ws = [booting('fresh', 10), booting('late', 16), booting('starting', 40, 'STARTING')];
    expect(overdueBoots(ws, [T], nowMs)).toEqual(new Set(['late']));
    // Observed p95 of 25 min: the 16-minute-old launch is still on time.
    expect(overdueBoots(ws, [T], nowMs, { big: 25 * 60 })).toEqual(new Set());
    expect(overdueBoots(ws, [T], nowMs, undefined, 2)).toEqual(new Set());
    // Unknown template or no launch time: never overdue.
    expect(overdueBoots([{ ...booting('x', 99), templateName: 'gone' }], [T], nowMs)).toEqual(new Set());
    const { launchedAt: _l, ...noLaunch } = booting('y', 99);
    expect(overdueBoots([noLaunch], [T], nowMs)).toEqual(new Set());
  });

  it('scale-up does not count an overdue launch as supply: its session gets a replacement now', () => {
    const input = {
      now: NOW,
      sessions: [session(10)],
      templates: [T],
      config,
      bootSeconds: { big: 20 * 60 },
    };
    const onTime = planScaleUp({ ...input, workers: [booting('w-1', 12)] });
    expect(onTime.actions).toEqual([]);
    expect(onTime.summary.overdueBoots).toEqual([]);
    const overdue = planScaleUp({ ...input, workers: [booting('w-1', 21)] });
    expect(overdue.actions).toEqual([expect.objectContaining({ kind: 'LAUNCH', templateName: 'big' })]);
    expect(overdue.summary.overdueBoots).toEqual(['w-1']);
    expect(overdue.reason).toMatch(/1 launch\(es\) past their expected boot time/);
    // It still counts toward maxWorkers: with room for one worker only, no replacement.
    const capped = planScaleUp({
      ...input,
      config: { ...config, maxWorkers: 1 },
      workers: [booting('w-1', 21)],
    });
    expect(capped.actions).toEqual([]);
    expect(capped.summary.dropped.maxWorkers).toBe(1);
  });
});
