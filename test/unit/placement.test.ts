import { LICENSE_TYPES, type LicenseType, type PodType, type WorkerStatus } from '@lcm/shared/domain/enums';
import { ValidationError } from '@lcm/shared/domain/errors';
import {
  amiMatches,
  choosePlacement,
  compileGlob,
  type PlacementCandidate,
  type PlacementRequest,
  REJECTION_CATEGORIES,
} from '@lcm/shared/domain/placement';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { candidate } from './builders.ts';

const request = (over: Partial<PlacementRequest> = {}): PlacementRequest => ({
  requirements: { cpuCores: 4, memoryGb: 8, storageGb: 50, nodeCount: 5 },
  licenseAffinity: [],
  podType: 'CML_ON_AWS',
  portsNeeded: 2,
  ...over,
});

const noRejections = { status: 0, license: 0, ami: 0, podType: 0, capacity: 0, ports: 0 };

describe('choosePlacement', () => {
  it('places on an eligible worker with the MostAllocated score', () => {
    const result = choosePlacement(request(), [candidate()]);
    // (4/16 + 8/64 + 50/500 + 5/50) / 4
    expect(result).toEqual({ placed: true, workerId: 'w-1', score: 0.14375, rejections: noRejections });
  });

  it('returns a rejection summary and the number considered when nothing fits', () => {
    const result = choosePlacement(request(), [candidate({ status: 'DRAINING' })]);
    expect(result).toEqual({ placed: false, rejections: { ...noRejections, status: 1 }, considered: 1 });
    expect(choosePlacement(request(), [])).toEqual({
      placed: false,
      rejections: noRejections,
      considered: 0,
    });
  });

  it('counts each rejected worker once, under the first filter that rejects it', () => {
    const fleet = [
      candidate({ id: 'a', status: 'STOPPED', license: { type: 'PERSONAL', status: 'REGISTERED' } }),
      candidate({
        id: 'b',
        license: { type: 'PERSONAL', status: 'REGISTERED' },
        amiName: 'other',
        amiId: 'x',
      }),
      candidate({ id: 'c', amiId: 'ami-other', amiName: 'ubuntu-22.04', podType: 'PROXMOX' }),
      candidate({ id: 'd', podType: 'PROXMOX', leasedPortCount: 10 }),
      candidate({
        id: 'e',
        allocatedCapacity: { cpuCores: 14, memoryGb: 0, storageGb: 0, maxNodes: 0 },
        leasedPortCount: 10,
      }),
      candidate({ id: 'f', leasedPortCount: 9 }),
    ];
    const result = choosePlacement(
      request({ licenseAffinity: ['ENTERPRISE'], amiRequirement: 'cml-2.9.*', portsNeeded: 2 }),
      fleet,
    );
    expect(result).toEqual({
      placed: false,
      rejections: { status: 1, license: 1, ami: 1, podType: 1, capacity: 1, ports: 1 },
      considered: 6,
    });
  });

  it.each<WorkerStatus>([
    'PENDING',
    'PROVISIONING',
    'STARTING',
    'DRAINING',
    'STOPPING',
    'STOPPED',
    'SHUTTING_DOWN',
    'TERMINATED',
    'FAILED',
  ])('skips a %s worker', (status) => {
    expect(choosePlacement(request(), [candidate({ status })]).placed).toBe(false);
  });

  it('treats an empty license affinity as any license, else requires a listed type', () => {
    for (const type of LICENSE_TYPES) {
      const w = candidate({ license: { type, status: 'REGISTERED' } });
      expect(choosePlacement(request({ licenseAffinity: [] }), [w]).placed).toBe(true);
      expect(choosePlacement(request({ licenseAffinity: [type] }), [w]).placed).toBe(true);
      const others = LICENSE_TYPES.filter((t) => t !== type);
      const r = choosePlacement(request({ licenseAffinity: others }), [w]);
      expect(r.rejections.license).toBe(1);
    }
  });

  it('matches the AMI requirement by id or by name glob', () => {
    const w = candidate({ amiId: 'ami-0abc', amiName: 'cml-2.9.1-lcm-2025-05' });
    const placed = (amiRequirement: string | undefined) =>
      choosePlacement(request({ amiRequirement }), [w]).placed;
    expect(placed(undefined)).toBe(true);
    expect(placed('ami-0abc')).toBe(true);
    expect(placed('cml-2.9.1-lcm-2025-05')).toBe(true);
    expect(placed('cml-2.9.*')).toBe(true);
    expect(placed('cml-2.?.1-*')).toBe(true);
    expect(placed('*')).toBe(true);
    expect(placed('cml-2.8.*')).toBe(false);
    expect(placed('cml-2.9')).toBe(false); // anchored: a prefix is not a match
    expect(placed('ami-0ab?')).toBe(false); // globs apply to names, ids must be equal
    expect(
      choosePlacement(request({ amiRequirement: '*' }), [candidate({ amiName: undefined })]).placed,
    ).toBe(false);
  });

  it('treats regex metacharacters in an AMI glob literally', () => {
    expect(compileGlob('cml.2').test('cmlx2')).toBe(false);
    expect(compileGlob('cml.2').test('cml.2')).toBe(true);
    expect(compileGlob('a+(b)[c]{1}$^|\\').test('a+(b)[c]{1}$^|\\')).toBe(true);
    expect(compileGlob('a?c').test('abc')).toBe(true);
    expect(compileGlob('a?c').test('ac')).toBe(false);
    expect(amiMatches(undefined)).toBe(true);
    expect(amiMatches('ami-1', 'ami-1')).toBe(true);
    expect(amiMatches('x*', 'ami-1', 'xyz')).toBe(true);
    expect(amiMatches('x*', 'ami-1')).toBe(false);
  });

  it('requires the same pod type', () => {
    const r = choosePlacement(request({ podType: 'PROXMOX' }), [candidate({ podType: 'CML_ON_AWS' })]);
    expect(r.rejections.podType).toBe(1);
  });

  it('requires capacity in every dimension, inclusive of an exact fit', () => {
    const full = { cpuCores: 12, memoryGb: 56, storageGb: 450, maxNodes: 45 };
    expect(choosePlacement(request(), [candidate({ allocatedCapacity: full })])).toMatchObject({
      placed: true,
      score: 1,
    });
    for (const d of ['cpuCores', 'memoryGb', 'storageGb', 'maxNodes'] as const) {
      const over = { ...full, [d]: full[d] + 1 };
      expect(choosePlacement(request(), [candidate({ allocatedCapacity: over })]).rejections.capacity).toBe(
        1,
      );
    }
  });

  it('does not let float noise reject an exact fit', () => {
    const w = candidate({
      declaredCapacity: { cpuCores: 0.3, memoryGb: 64, storageGb: 500, maxNodes: 50 },
      allocatedCapacity: { cpuCores: 0.1, memoryGb: 0, storageGb: 0, maxNodes: 0 },
    });
    const r = choosePlacement(
      request({ requirements: { cpuCores: 0.2, memoryGb: 1, storageGb: 1, nodeCount: 1 } }),
      [w],
    );
    expect(r.placed).toBe(true);
  });

  it('requires enough free ports in the range', () => {
    // range 2000-2009 = 10 ports
    expect(choosePlacement(request({ portsNeeded: 3 }), [candidate({ leasedPortCount: 7 })]).placed).toBe(
      true,
    );
    expect(
      choosePlacement(request({ portsNeeded: 4 }), [candidate({ leasedPortCount: 7 })]).rejections.ports,
    ).toBe(1);
    expect(choosePlacement(request({ portsNeeded: 0 }), [candidate({ leasedPortCount: 10 })]).placed).toBe(
      true,
    );
  });

  it('prefers the fuller worker (bin packing)', () => {
    const empty = candidate({ id: 'a-empty' });
    const half = candidate({
      id: 'z-half',
      allocatedCapacity: { cpuCores: 8, memoryGb: 32, storageGb: 250, maxNodes: 25 },
    });
    const r = choosePlacement(request(), [empty, half]);
    expect(r).toMatchObject({ placed: true, workerId: 'z-half' });
    if (r.placed) expect(r.score).toBeCloseTo((12 / 16 + 40 / 64 + 300 / 500 + 30 / 50) / 4, 12);
  });

  it('ignores dimensions a worker declares as zero when scoring', () => {
    const w = candidate({ declaredCapacity: { cpuCores: 16, memoryGb: 64, storageGb: 0, maxNodes: 50 } });
    const r = choosePlacement(
      request({ requirements: { cpuCores: 4, memoryGb: 8, storageGb: 0, nodeCount: 5 } }),
      [w],
    );
    expect(r).toMatchObject({ placed: true });
    if (r.placed) expect(r.score).toBeCloseTo((4 / 16 + 8 / 64 + 5 / 50) / 3, 12);
  });

  it('breaks score ties by the lexicographically smaller id, whatever the order', () => {
    const fleet = [candidate({ id: 'w-b' }), candidate({ id: 'w-a' }), candidate({ id: 'w-c' })];
    expect(choosePlacement(request(), fleet)).toMatchObject({ workerId: 'w-a' });
    expect(choosePlacement(request(), [...fleet].reverse())).toMatchObject({ workerId: 'w-a' });
  });

  it.each([
    ['requirements.cpuCores', { cpuCores: -1 }],
    ['requirements.memoryGb', { memoryGb: Number.NaN }],
    ['requirements.storageGb', { storageGb: Number.POSITIVE_INFINITY }],
    ['requirements.nodeCount', { nodeCount: -2 }],
    ['requirements.nodeCount', { nodeCount: 1.5 }],
  ])('rejects an invalid request naming %s', (field, bad) => {
    const req = request({ requirements: { ...request().requirements, ...bad } });
    expect(() => choosePlacement(req, [candidate()])).toThrow(ValidationError);
    try {
      choosePlacement(req, [candidate()]);
    } catch (e) {
      expect((e as ValidationError).field).toBe(field);
      expect((e as ValidationError).code).toBe('VALIDATION');
    }
  });

  it.each([-1, 1.5, Number.NaN])('rejects portsNeeded = %s', (portsNeeded) => {
    expect(() => choosePlacement(request({ portsNeeded }), [])).toThrow(
      expect.objectContaining({ field: 'portsNeeded' }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Properties, checked against a deliberately naive reference implementation.

const STATUSES: WorkerStatus[] = ['RUNNING', 'RUNNING', 'RUNNING', 'RUNNING', 'DRAINING', 'STOPPED'];
const POD_TYPES: PodType[] = ['CML_ON_AWS', 'CML_ON_AWS', 'PROXMOX'];
const AMI_NAMES = ['cml-2.9.1', 'cml-2.9.2', 'cml-2.8.0', 'ubuntu'];
const half = (max: number, min = 0) => fc.integer({ min: min * 2, max: max * 2 }).map((n) => n / 2);

/** Storage may be declared 0 (a dimension the score must ignore). */
const declaredArb = fc.record({
  cpuCores: half(16, 2),
  memoryGb: half(64, 8),
  storageGb: fc.oneof(fc.constant(0), half(200, 20)),
  maxNodes: fc.integer({ min: 2, max: 20 }),
});
/** Mostly within the declared capacity, sometimes beyond it (a worker over-committed by hand). */
const capacitiesArb = declaredArb.chain((declared) =>
  fc.record({
    declaredCapacity: fc.constant(declared),
    allocatedCapacity: fc.record({
      cpuCores: half(declared.cpuCores + 1),
      memoryGb: half(declared.memoryGb + 1),
      storageGb: half(declared.storageGb + 1),
      maxNodes: fc.integer({ min: 0, max: declared.maxNodes + 1 }),
    }),
  }),
);

const workerArb: fc.Arbitrary<PlacementCandidate> = fc
  .record({
    id: fc.stringMatching(/^w-[a-f0-9]{1,3}$/),
    status: fc.constantFrom(...STATUSES),
    license: fc.record({
      type: fc.constantFrom(...LICENSE_TYPES),
      status: fc.constant('REGISTERED' as const),
    }),
    podType: fc.constantFrom(...POD_TYPES),
    amiId: fc.constantFrom('ami-1', 'ami-2'),
    amiName: fc.option(fc.constantFrom(...AMI_NAMES), { nil: undefined, freq: 5 }),
    capacities: capacitiesArb,
    portRange: fc.integer({ min: 2000, max: 2010 }).map((start) => ({ start, end: start + 4 })),
    leasedPortCount: fc.integer({ min: 0, max: 5 }),
  })
  .map(({ capacities, ...w }) => ({ ...w, ...capacities }));

const fleetArb = fc.uniqueArray(workerArb, { selector: (w) => w.id, minLength: 10, maxLength: 60 });

const requestArb: fc.Arbitrary<PlacementRequest> = fc.record({
  requirements: fc.record({
    cpuCores: half(4),
    memoryGb: half(16),
    storageGb: fc.oneof(fc.constant(0), half(50)),
    nodeCount: fc.integer({ min: 0, max: 5 }),
  }),
  licenseAffinity: fc.oneof(fc.constant<LicenseType[]>([]), fc.subarray<LicenseType>([...LICENSE_TYPES])),
  podType: fc.constantFrom<PodType>('CML_ON_AWS', 'CML_ON_AWS', 'PROXMOX'),
  amiRequirement: fc.option(fc.constantFrom('ami-1', 'cml-2.9.*', 'cml-2.?.0', 'nothing'), {
    nil: undefined,
    freq: 2,
  }),
  portsNeeded: fc.integer({ min: 0, max: 4 }),
});

/** Naive glob: recursive backtracking, independent of the RegExp used in production. */
function globMatches(pattern: string, text: string): boolean {
  if (pattern === '') return text === '';
  const [p, rest] = [pattern[0], pattern.slice(1)];
  if (p === '*') return globMatches(rest, text) || (text !== '' && globMatches(pattern, text.slice(1)));
  return text !== '' && (p === '?' || p === text[0]) && globMatches(rest, text.slice(1));
}

function eligible(req: PlacementRequest, w: PlacementCandidate): boolean {
  const need = { ...req.requirements, maxNodes: req.requirements.nodeCount };
  const dims = ['cpuCores', 'memoryGb', 'storageGb', 'maxNodes'] as const;
  return (
    w.status === 'RUNNING' &&
    (req.licenseAffinity.length === 0 || req.licenseAffinity.includes(w.license.type)) &&
    (req.amiRequirement === undefined ||
      w.amiId === req.amiRequirement ||
      (w.amiName !== undefined && globMatches(req.amiRequirement, w.amiName))) &&
    w.podType === req.podType &&
    dims.every((d) => w.allocatedCapacity[d] + need[d] <= w.declaredCapacity[d]) &&
    w.portRange.end - w.portRange.start + 1 - w.leasedPortCount >= req.portsNeeded
  );
}

function referenceScore(req: PlacementRequest, w: PlacementCandidate): number {
  const need = { ...req.requirements, maxNodes: req.requirements.nodeCount };
  const dims = (['cpuCores', 'memoryGb', 'storageGb', 'maxNodes'] as const).filter(
    (d) => w.declaredCapacity[d] > 0,
  );
  if (dims.length === 0) return 0;
  return (
    dims.reduce((s, d) => s + (w.allocatedCapacity[d] + need[d]) / w.declaredCapacity[d], 0) / dims.length
  );
}

describe('choosePlacement properties', () => {
  it('places iff some worker is eligible, and only on an eligible worker', () => {
    fc.assert(
      fc.property(requestArb, fleetArb, (req, fleet) => {
        const result = choosePlacement(req, fleet);
        const eligibleIds = fleet.filter((w) => eligible(req, w)).map((w) => w.id);
        expect(result.placed).toBe(eligibleIds.length > 0);
        if (result.placed) expect(eligibleIds).toContain(result.workerId);
        const rejected = REJECTION_CATEGORIES.reduce((s, c) => s + result.rejections[c], 0);
        expect(rejected).toBe(fleet.length - eligibleIds.length);
      }),
      { numRuns: 500 },
    );
  });

  it('picks the highest score, ties to the smallest id', () => {
    fc.assert(
      fc.property(requestArb, fleetArb, (req, fleet) => {
        const result = choosePlacement(req, fleet);
        if (!result.placed) return;
        const ranked = fleet
          .filter((w) => eligible(req, w))
          .map((w) => ({ id: w.id, score: referenceScore(req, w) }))
          .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
        expect(result.workerId).toBe(ranked[0]!.id);
        expect(result.score).toBeCloseTo(ranked[0]!.score, 12);
      }),
      { numRuns: 500 },
    );
  });

  it('is deterministic under any permutation of the fleet', () => {
    const fleetAndPermutation = fleetArb.chain((fleet) =>
      fc.tuple(fc.constant(fleet), fc.shuffledSubarray(fleet, { minLength: fleet.length })),
    );
    fc.assert(
      fc.property(requestArb, fleetAndPermutation, (req, [fleet, shuffled]) => {
        expect(choosePlacement(req, shuffled)).toEqual(choosePlacement(req, fleet));
      }),
      { numRuns: 300 },
    );
  });
});
