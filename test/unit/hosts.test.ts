import {
  candidateToken,
  fallbackTemplates,
  observedBootSeconds,
  subnetOrder,
  virtualisationProblems,
} from '@lcm/shared/fleet';
import { describe, expect, it } from 'vitest';
import { template } from './builders.ts';

describe('observedBootSeconds (issue 10, item 5)', () => {
  it('the prior alone without boots; the prior fills the sample below minSamples', () => {
    expect(observedBootSeconds([], 900)).toBe(900);
    // One fast boot does not shorten the look-ahead: [600, 900, 900] → p95 900.
    expect(observedBootSeconds([600], 900)).toBe(900);
    // A slow one lengthens it at once.
    expect(observedBootSeconds([1500], 900)).toBe(1500);
  });

  it('p95 (nearest rank) of the last N boots', () => {
    const boots = Array.from({ length: 20 }, (_, i) => 600 + i * 30); // 600 … 1170
    expect(observedBootSeconds(boots, 900)).toBe(1140); // rank ceil(0.95 × 20) = 19
    // Only the last 10 count: 900 … 1170, rank 10.
    expect(observedBootSeconds(boots, 900, { lastN: 10 })).toBe(1170);
    expect(observedBootSeconds([...boots, -1, Number.NaN], 900, { lastN: 20 })).toBe(1140);
  });
});

describe('virtualisationProblems (issue 10, item 4)', () => {
  const metal = { bareMetal: true, nestedVirtualisation: false, vCpus: 48, memoryGib: 192 };
  const nested = { bareMetal: false, nestedVirtualisation: true, vCpus: 32, memoryGib: 64 };
  const neither = { bareMetal: false, nestedVirtualisation: false, vCpus: 32, memoryGib: 128 };
  it('accepts metal on bare metal and nested on a nested-capable type; names the field otherwise', () => {
    expect(virtualisationProblems({ instanceType: 'm5zn.metal', virtualisation: 'metal' }, metal)).toEqual(
      [],
    );
    expect(virtualisationProblems({ instanceType: 'c8i.8xlarge', virtualisation: 'nested' }, nested)).toEqual(
      [],
    );
    expect(
      virtualisationProblems({ instanceType: 'm7i.8xlarge', virtualisation: 'nested' }, neither).map(
        (p) => p.path,
      ),
    ).toEqual(['instanceType']);
    expect(
      virtualisationProblems({ instanceType: 'c8i.8xlarge', virtualisation: 'metal' }, nested).map(
        (p) => p.path,
      ),
    ).toEqual(['virtualisation']);
    expect(
      virtualisationProblems({ instanceType: 'nope', virtualisation: 'metal' }, undefined)[0]!.path,
    ).toBe('instanceType');
  });
});

describe('launch fallback (issue 10, item 5)', () => {
  it('subnets from the worker’s own round the list; tokens per candidate within 64 characters', () => {
    expect(subnetOrder('b', ['a', 'b', 'c'])).toEqual(['b', 'c', 'a']);
    expect(subnetOrder(undefined, [])).toEqual([undefined]);
    expect(candidateToken('w-1', 0)).toBe('w-1');
    expect(candidateToken('w-1', 3)).toBe('w-1~3');
    expect(candidateToken('x'.repeat(80), 12)).toHaveLength(64);
  });

  it('fitting templates: enabled, same licence and pod type, covering capacity and ports, cheapest first', () => {
    const w = {
      templateName: 'own',
      declaredCapacity: { cpuCores: 48, memoryGb: 192, storageGb: 500, maxNodes: 40 },
      license: { type: 'ENTERPRISE' as const, status: 'UNREGISTERED' as const },
      podType: 'CML_ON_AWS' as const,
      portRange: { start: 2000, end: 2009 },
    };
    const big = { cpuCores: 96, memoryGb: 384, storageGb: 1000, maxNodes: 100 };
    const out = fallbackTemplates(w, [
      template({ name: 'own', capacity: big, costPerHourUsd: 1 }),
      template({ name: 'dear', capacity: big, costPerHourUsd: 5 }),
      template({ name: 'cheap', capacity: big, costPerHourUsd: 2 }),
      template({ name: 'off', capacity: big, costPerHourUsd: 0.5, enabled: false }),
      template({ name: 'small', capacity: { ...big, cpuCores: 1 }, costPerHourUsd: 0.1 }),
      template({ name: 'eval', capacity: big, costPerHourUsd: 0.2, licenseType: 'EVALUATION' }),
      template({
        name: 'few-ports',
        capacity: big,
        costPerHourUsd: 0.3,
        portRange: { start: 2000, end: 2001 },
      }),
    ]);
    expect(out.map((t) => t.name)).toEqual(['cheap', 'dear']);
  });
});
