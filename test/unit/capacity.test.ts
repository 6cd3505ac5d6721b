import type { Capacity } from '@lcm/shared/kernel';
import {
  addCapacity,
  CAPACITY_DIMENSIONS,
  fits,
  freeCapacity,
  requirementsAsCapacity,
  shortfall,
  subtractCapacity,
  utilisation,
  ValidationError,
  ZERO_CAPACITY,
} from '@lcm/shared/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const cap = (cpuCores: number, memoryGb: number, storageGb: number, maxNodes: number): Capacity => ({
  cpuCores,
  memoryGb,
  storageGb,
  maxNodes,
});

describe('capacity arithmetic', () => {
  it('adds and subtracts per dimension', () => {
    expect(addCapacity(cap(1, 2, 3, 4), cap(0.5, 1.5, 10, 1))).toEqual(cap(1.5, 3.5, 13, 5));
    expect(subtractCapacity(cap(1.5, 3.5, 13, 5), cap(0.5, 1.5, 10, 1))).toEqual(cap(1, 2, 3, 4));
  });

  it('refuses to release more than was allocated, naming the dimension', () => {
    expect(() => subtractCapacity(cap(1, 1, 1, 1), cap(0, 0, 0, 2))).toThrow(
      expect.objectContaining({ field: 'maxNodes' }),
    );
    expect(() => subtractCapacity(cap(1, 1, 1, 1), cap(1.001, 0, 0, 0))).toThrow(ValidationError);
  });

  it.each([
    ['a.cpuCores', cap(-1, 0, 0, 0), ZERO_CAPACITY],
    ['a.memoryGb', cap(0, Number.NaN, 0, 0), ZERO_CAPACITY],
    ['b.storageGb', ZERO_CAPACITY, cap(0, 0, Number.POSITIVE_INFINITY, 0)],
  ])('rejects invalid input naming %s', (field, a, b) => {
    expect(() => addCapacity(a, b)).toThrow(expect.objectContaining({ field }));
  });

  it('maps requirements to capacity, nodeCount → maxNodes', () => {
    expect(requirementsAsCapacity({ cpuCores: 2, memoryGb: 4, storageGb: 8, nodeCount: 3 })).toEqual(
      cap(2, 4, 8, 3),
    );
    expect(() => requirementsAsCapacity({ cpuCores: -2, memoryGb: 4, storageGb: 8, nodeCount: 3 })).toThrow(
      expect.objectContaining({ field: 'requirements.cpuCores' }),
    );
  });

  it('fits inclusive of an exact fit, in every dimension', () => {
    const declared = cap(8, 32, 100, 10);
    expect(fits(declared, cap(4, 16, 50, 5), cap(4, 16, 50, 5))).toBe(true);
    for (const d of CAPACITY_DIMENSIONS) {
      const need = { ...cap(4, 16, 50, 5), [d]: cap(4, 16, 50, 5)[d] + 1 };
      expect(fits(declared, cap(4, 16, 50, 5), need)).toBe(false);
      expect(shortfall(declared, cap(4, 16, 50, 5), need)).toEqual([d]);
    }
    expect(shortfall(declared, ZERO_CAPACITY, ZERO_CAPACITY)).toEqual([]);
  });

  it('does not let float noise decide a fit (0.1 + 0.2 within 0.3)', () => {
    expect(fits(cap(0.3, 0, 0, 0), cap(0.1, 0, 0, 0), cap(0.2, 0, 0, 0))).toBe(true);
    expect(fits(cap(0.3, 0, 0, 0), cap(0.1, 0, 0, 0), cap(0.21, 0, 0, 0))).toBe(false);
  });

  it('reports free capacity floored at zero and utilisation in [0, 1]', () => {
    expect(freeCapacity(cap(8, 32, 100, 10), cap(2.5, 40, 100, 3))).toEqual(cap(5.5, 0, 0, 7));
    expect(utilisation(cap(8, 32, 0, 10), cap(2, 40, 5, 5))).toEqual({
      cpuCores: 0.25,
      memoryGb: 1,
      storageGb: 0,
      maxNodes: 0.5,
    });
  });

  it('does not drift over many additions and releases', () => {
    const step = cap(0.1, 0.3, 0.7, 1);
    let total = ZERO_CAPACITY;
    for (let i = 0; i < 10_000; i++) total = addCapacity(total, step);
    expect(total).toEqual(cap(1000, 3000, 7000, 10_000));
    for (let i = 0; i < 10_000; i++) total = subtractCapacity(total, step);
    expect(total).toEqual(ZERO_CAPACITY);
  });

  it('returns exactly to the start after any interleaving of allocations and releases', () => {
    // Sessions request capacity in thousandths, as the API accepts them.
    const milli = fc.integer({ min: 0, max: 64_000 }).map((n) => n / 1000);
    const amount = fc.record({
      cpuCores: milli,
      memoryGb: milli,
      storageGb: milli,
      maxNodes: fc.integer({ min: 0, max: 50 }),
    });
    fc.assert(
      fc.property(
        fc.array(amount, { minLength: 1, maxLength: 60 }),
        fc.infiniteStream(fc.nat()),
        (amounts, choices) => {
          const start = cap(1.234, 5.678, 9.1, 3);
          let total = start;
          const held: Capacity[] = [];
          const pending = [...amounts];
          // Allocate in order; now and then release one of the held amounts, chosen at random.
          const next = choices[Symbol.iterator]();
          while (pending.length > 0 || held.length > 0) {
            const n = next.next().value as number;
            if (held.length > 0 && (pending.length === 0 || n % 3 === 0)) {
              total = subtractCapacity(total, held.splice(Math.floor(n / 3) % held.length, 1)[0]!);
            } else {
              const a = pending.shift()!;
              total = addCapacity(total, a);
              held.push(a);
            }
          }
          expect(total).toEqual(start);
        },
      ),
      { numRuns: 300 },
    );
  });
});
