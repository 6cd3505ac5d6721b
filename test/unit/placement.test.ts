import {
  ALIGNMENT_WEIGHT,
  amiMatches,
  choosePlacement,
  compileGlob,
  endAlignment,
  instantMs,
  type PlacementCandidate,
  type PlacementRequest,
  REJECTION_CATEGORIES,
} from '@lcm/shared/fleet';
import {
  LICENSE_TYPES,
  type LicenseType,
  type PodType,
  ValidationError,
  type WorkerStatus,
} from '@lcm/shared/kernel';
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

const NODE_DEF = {
  cpus: 1,
  ramMb: 512,
  diskGb: 1,
  bootSeconds: 60,
  serialConsoles: 1,
  vnc: false,
  countsAsNode: true,
};

const noRejections = {
  status: 0,
  license: 0,
  ami: 0,
  podType: 0,
  'node-definitions': 0,
  capacity: 0,
  ports: 0,
};

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
      candidate({
        id: 'g',
        cmlDefinitions: {
          refreshedAt: '2026-01-01T00:00:00.000Z',
          nodeDefinitions: [{ ...NODE_DEF, id: 'iosv' }],
          imageDefinitions: [],
        },
      }),
    ];
    const result = choosePlacement(
      request({
        licenseAffinity: ['ENTERPRISE'],
        amiRequirement: 'cml-2.9.*',
        portsNeeded: 2,
        nodeDefinitions: ['IOSV', 'csr1000v'],
      }),
      fleet,
    );
    expect(result).toEqual({
      placed: false,
      rejections: {
        status: 1,
        license: 1,
        ami: 1,
        podType: 1,
        'node-definitions': 1,
        capacity: 1,
        ports: 1,
      },
      considered: 7,
    });
  });

  it('rejects a worker whose CML lacks a node or image definition; one never read is not rejected', () => {
    const defs = (nodes: string[], images: string[]) => ({
      refreshedAt: '2026-01-01T00:00:00.000Z',
      nodeDefinitions: nodes.map((id) => ({ ...NODE_DEF, id })),
      imageDefinitions: images.map((id) => ({ id })),
    });
    const req = request({ nodeDefinitions: ['iosv', 'ASAv'], imageDefinitions: ['asav-9-22-1-1'] });
    expect(
      choosePlacement(req, [candidate({ id: 'a', cmlDefinitions: defs(['iosv', 'asav'], []) })]).rejections[
        'node-definitions'
      ],
    ).toBe(1);
    expect(
      choosePlacement(req, [candidate({ id: 'a', cmlDefinitions: defs(['iosv'], ['asav-9-22-1-1']) })])
        .placed,
    ).toBe(false);
    expect(
      choosePlacement(req, [
        candidate({ id: 'a', cmlDefinitions: defs(['iosv', 'asav'], ['asav-9-22-1-1']) }),
      ]),
    ).toMatchObject({ placed: true, workerId: 'a' });
    expect(choosePlacement(req, [candidate({ id: 'a' })])).toMatchObject({ placed: true, workerId: 'a' });
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

describe('choosePlacement end-time alignment', () => {
  const END = '2025-06-01T16:00:00.000Z';
  /** ISO instant `minutes` after END. */
  const end = (minutes: number) => new Date(Date.parse(END) + minutes * 60_000).toISOString();
  const MINUTE = 60_000;
  const loaded = { cpuCores: 4, memoryGb: 16, storageGb: 100, maxNodes: 10 };
  const fuller = { cpuCores: 8, memoryGb: 32, storageGb: 250, maxNodes: 25 };

  it('scores 1 when ends match, down to 0 at a 4 h outliving, 0 at a 1 h and -1 from a 2 h extension', () => {
    const e = Date.parse(END);
    expect(endAlignment(e, e)).toBe(1);
    expect(endAlignment(e + 120 * MINUTE, e)).toBe(0.5);
    expect(endAlignment(e + 240 * MINUTE, e)).toBe(0);
    expect(endAlignment(e + 900 * MINUTE, e)).toBe(0);
    expect(endAlignment(e - 30 * MINUTE, e)).toBe(0.5);
    expect(endAlignment(e - 60 * MINUTE, e)).toBe(0);
    expect(endAlignment(e - 120 * MINUTE, e)).toBe(-1);
    expect(endAlignment(e - 900 * MINUTE, e)).toBe(-1);
  });

  it('adds ALIGNMENT_WEIGHT × alignment to the MostAllocated score', () => {
    const r = choosePlacement(request({ sessionEnd: END }), [
      candidate({ allocatedCapacity: loaded, latestSessionEnd: end(120) }),
    ]);
    const packing = (8 / 16 + 24 / 64 + 150 / 500 + 15 / 50) / 4;
    expect(r).toMatchObject({ placed: true, workerId: 'w-1' });
    if (r.placed) expect(r.score).toBeCloseTo(packing + ALIGNMENT_WEIGHT * 0.5, 12);
  });

  it('prefers the worker whose sessions end with this one, then the closest later one', () => {
    const fleet = [
      candidate({ id: 'a-earlier', allocatedCapacity: loaded, latestSessionEnd: end(-45) }),
      candidate({ id: 'b-much-later', allocatedCapacity: loaded, latestSessionEnd: end(180) }),
      candidate({ id: 'c-later', allocatedCapacity: loaded, latestSessionEnd: end(30) }),
      candidate({ id: 'd-same', allocatedCapacity: loaded, latestSessionEnd: end(0) }),
    ];
    expect(choosePlacement(request({ sessionEnd: END }), fleet)).toMatchObject({ workerId: 'd-same' });
    const withoutSame = fleet.filter((w) => w.id !== 'd-same');
    expect(choosePlacement(request({ sessionEnd: END }), withoutSame)).toMatchObject({ workerId: 'c-later' });
    // Without the session end, MostAllocated ties and the smallest id wins, as before.
    expect(choosePlacement(request(), fleet)).toMatchObject({ workerId: 'a-earlier' });
  });

  it('outweighs packing: an aligned worker beats a fuller one whose sessions end earlier', () => {
    const fleet = [
      candidate({ id: 'a-fuller', allocatedCapacity: fuller, latestSessionEnd: end(-90) }),
      candidate({ id: 'b-aligned', allocatedCapacity: loaded, latestSessionEnd: end(15) }),
    ];
    expect(choosePlacement(request({ sessionEnd: END }), fleet)).toMatchObject({ workerId: 'b-aligned' });
    expect(choosePlacement(request(), fleet)).toMatchObject({ workerId: 'a-fuller' });
  });

  it('prefers an empty worker to extending one whose sessions all end much earlier, not to a short extension', () => {
    const empty = candidate({ id: 'z-empty' });
    const early = candidate({ id: 'a-early', allocatedCapacity: fuller, latestSessionEnd: end(-180) });
    expect(choosePlacement(request({ sessionEnd: END }), [empty, early])).toMatchObject({
      workerId: 'z-empty',
    });
    const nearly = candidate({ id: 'a-nearly', allocatedCapacity: fuller, latestSessionEnd: end(-10) });
    expect(choosePlacement(request({ sessionEnd: END }), [empty, nearly])).toMatchObject({
      workerId: 'a-nearly',
    });
  });

  it('compares instants, not text: offsets are honoured', () => {
    // 18:00+02:00 is END; 17:30+02:00 sorts after END as text but is 30 min before it.
    const fleet = [
      candidate({
        id: 'a-before',
        allocatedCapacity: loaded,
        latestSessionEnd: '2025-06-01T17:30:00.000+02:00',
      }),
      candidate({ id: 'b-same', allocatedCapacity: loaded, latestSessionEnd: '2025-06-01T18:00:00+02:00' }),
    ];
    const r = choosePlacement(request({ sessionEnd: END }), fleet);
    expect(r).toMatchObject({ workerId: 'b-same' });
  });

  it('treats a worker end that does not parse as absent, and rejects a session end that does not', () => {
    const fleet = [
      candidate({ id: 'a', allocatedCapacity: loaded, latestSessionEnd: 'not a date' }),
      candidate({ id: 'b', allocatedCapacity: loaded }),
    ];
    expect(choosePlacement(request({ sessionEnd: END }), fleet)).toEqual(choosePlacement(request(), fleet));
    for (const sessionEnd of ['tomorrow', '', 42 as unknown as string]) {
      expect(() => choosePlacement(request({ sessionEnd }), fleet)).toThrow(
        expect.objectContaining({ field: 'sessionEnd', code: 'VALIDATION' }),
      );
    }
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

// End-time alignment: the same properties with session and worker ends, against a reference.
const END_BASE_MS = Date.parse('2025-06-01T08:00:00.000Z');
/** An instant `minutes` after the base, written in UTC or with a +02:00 offset. */
const instantArb = (minMinutes: number, maxMinutes: number) =>
  fc.tuple(fc.integer({ min: minMinutes, max: maxMinutes }), fc.boolean()).map(([minutes, offset]) => {
    const ms = END_BASE_MS + minutes * 60_000;
    if (!offset) return new Date(ms).toISOString();
    return new Date(ms + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
  });
/** Ends on a coarse grid (ties are common) or anywhere. */
const endMinutesArb = (lo: number, hi: number) =>
  fc.oneof(
    fc.integer({ min: lo / 15, max: hi / 15 }).chain((q) => instantArb(q * 15, q * 15)),
    instantArb(lo, hi),
  );

const alignedFleetArb = fc.uniqueArray(
  fc
    .tuple(workerArb, fc.option(endMinutesArb(0, 720), { nil: undefined, freq: 4 }))
    .map(([w, latestSessionEnd]) => (latestSessionEnd === undefined ? w : { ...w, latestSessionEnd })),
  { selector: (w) => w.id, minLength: 10, maxLength: 60 },
);
const alignedRequestArb = fc
  .tuple(requestArb, endMinutesArb(60, 600))
  .map(([req, sessionEnd]) => ({ ...req, sessionEnd }));

/** Reference alignment, piecewise as documented in placement.ts (ms, same constants). */
function referenceAlignment(req: PlacementRequest, w: PlacementCandidate): number {
  if (req.sessionEnd === undefined || w.latestSessionEnd === undefined) return 0;
  const d = Date.parse(w.latestSessionEnd) - Date.parse(req.sessionEnd);
  const outlive = 4 * 3_600_000;
  const extend = 3_600_000;
  if (d >= outlive) return 0;
  if (d >= 0) return 1 - d / outlive;
  if (d <= -2 * extend) return -1;
  return 1 + d / extend;
}

describe('instantMs', () => {
  it('equals Date.parse on every instant toISOString writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
        const iso = new Date(ms).toISOString();
        expect(instantMs(iso)).toBe(Date.parse(iso));
      }),
      { numRuns: 2000 },
    );
  });

  it('equals Date.parse (NaN included) on near-canonical text', () => {
    const digit = fc.constantFrom(...'0123456789');
    const two = (hi: string) => fc.tuple(fc.constantFrom(...hi), digit).map(([a, b]) => a + b);
    const textArb = fc
      .tuple(
        fc.tuple(digit, digit, digit, digit).map((d) => d.join('')),
        two('01'),
        two('0123'),
        two('012'),
        two('0123456'),
        two('0123456'),
        fc.tuple(digit, digit, digit).map((d) => d.join('')),
        fc.constantFrom('Z', 'Z', 'Z', 'z', '+'),
        fc.constantFrom('-', '-', '-', '/'),
      )
      .map(([y, mo, d, h, mi, se, ms, z, sep]) => `${y}${sep}${mo}-${d}T${h}:${mi}:${se}.${ms}${z}`);
    fc.assert(
      fc.property(textArb, (text) => {
        expect(Object.is(instantMs(text), Date.parse(text))).toBe(true);
      }),
      { numRuns: 3000 },
    );
    for (const text of ['2025-06-01T12:00:00Z', '2025-06-01T14:00:00.000+02:00', '', 'x'.repeat(24)]) {
      expect(Object.is(instantMs(text), Date.parse(text))).toBe(true);
    }
  });
});

describe('choosePlacement end-time alignment properties', () => {
  it('changes nothing unless both the session end and the worker end are known', () => {
    const strip = (fleet: PlacementCandidate[]) =>
      fleet.map(({ latestSessionEnd: _l, ...w }) => w as PlacementCandidate);
    fc.assert(
      fc.property(alignedRequestArb, alignedFleetArb, (req, fleet) => {
        const { sessionEnd: _e, ...blind } = req;
        const old = choosePlacement(blind, strip(fleet));
        expect(choosePlacement(blind, fleet)).toEqual(old);
        expect(choosePlacement(req, strip(fleet))).toEqual(old);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the filters: places iff some worker is eligible, and only there', () => {
    fc.assert(
      fc.property(alignedRequestArb, alignedFleetArb, (req, fleet) => {
        const result = choosePlacement(req, fleet);
        const eligibleIds = fleet.filter((w) => eligible(req, w)).map((w) => w.id);
        expect(result.placed).toBe(eligibleIds.length > 0);
        if (result.placed) expect(eligibleIds).toContain(result.workerId);
      }),
      { numRuns: 300 },
    );
  });

  it('picks the highest MostAllocated + weight × alignment, ties to the smallest id', () => {
    fc.assert(
      fc.property(alignedRequestArb, alignedFleetArb, (req, fleet) => {
        const result = choosePlacement(req, fleet);
        if (!result.placed) return;
        const ranked = fleet
          .filter((w) => eligible(req, w))
          .map((w) => ({
            id: w.id,
            score: referenceScore(req, w) + ALIGNMENT_WEIGHT * referenceAlignment(req, w),
          }))
          .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
        expect(result.workerId).toBe(ranked[0]!.id);
        expect(result.score).toBeCloseTo(ranked[0]!.score, 12);
      }),
      { numRuns: 500 },
    );
  });

  it('stays within [-1, 1], is 1 only for equal ends, and is monotone on each side of the end', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000, max: 10_000 }),
        fc.integer({ min: -10_000, max: 10_000 }),
        (a, b) => {
          const e = END_BASE_MS;
          const x = endAlignment(e + a * 60_000, e);
          expect(x).toBeGreaterThanOrEqual(-1);
          expect(x).toBeLessThanOrEqual(1);
          expect(x === 1).toBe(a === 0);
          // Among workers that end before the session, the one ending later is never worse.
          if (a < b && b <= 0) expect(endAlignment(e + b * 60_000, e)).toBeGreaterThanOrEqual(x);
          // Among workers that outlive it, the one ending sooner is never worse.
          if (0 <= a && a < b) expect(endAlignment(e + b * 60_000, e)).toBeLessThanOrEqual(x);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is deterministic under any permutation of the fleet', () => {
    const fleetAndPermutation = alignedFleetArb.chain((fleet) =>
      fc.tuple(fc.constant(fleet), fc.shuffledSubarray(fleet, { minLength: fleet.length })),
    );
    fc.assert(
      fc.property(alignedRequestArb, fleetAndPermutation, (req, [fleet, shuffled]) => {
        expect(choosePlacement(req, shuffled)).toEqual(choosePlacement(req, fleet));
      }),
      { numRuns: 300 },
    );
  });
});
