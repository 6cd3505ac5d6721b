import { allocatePorts, freePortCount, portRangeSize } from '@lcm/shared/catalogue';
import type { PortTemplate } from '@lcm/shared/kernel';
import { DomainError, ValidationError } from '@lcm/shared/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const entries = (...names: string[]): PortTemplate =>
  names.map((name) => ({ name, nodeLabel: name.split('_')[0]!, kind: 'serial' as const }));

const catchError = (fn: () => unknown): DomainError => {
  try {
    fn();
  } catch (e) {
    return e as DomainError;
  }
  throw new Error('expected an error');
};

describe('portRangeSize / freePortCount', () => {
  it('counts an inclusive range', () => {
    expect(portRangeSize({ start: 2000, end: 7999 })).toBe(6000);
    expect(portRangeSize({ start: 5000, end: 5000 })).toBe(1);
  });

  it('never goes below zero', () => {
    expect(freePortCount({ start: 2000, end: 2009 }, 3)).toBe(7);
    expect(freePortCount({ start: 2000, end: 2009 }, 10)).toBe(0);
    expect(freePortCount({ start: 2000, end: 2009 }, 12)).toBe(0);
  });

  it('rejects invalid ranges and counts, naming the field', () => {
    expect(catchError(() => portRangeSize({ start: 2010, end: 2000 }))).toMatchObject({ field: 'range.end' });
    expect(catchError(() => portRangeSize({ start: 0, end: 10 }))).toMatchObject({ field: 'range.start' });
    expect(catchError(() => portRangeSize({ start: 1, end: 70_000 }))).toMatchObject({ field: 'range.end' });
    expect(catchError(() => freePortCount({ start: 1, end: 2 }, -1))).toMatchObject({ field: 'leasedCount' });
  });
});

describe('allocatePorts', () => {
  it('gives the lowest free ports in template order', () => {
    const got = allocatePorts(
      entries('R1_serial', 'R1_ssh', 'PC_vnc'),
      { start: 2000, end: 2009 },
      [2001, 2003],
    );
    expect(got).toEqual({ R1_serial: 2000, R1_ssh: 2002, PC_vnc: 2004 });
    expect(Object.keys(got)).toEqual(['R1_serial', 'R1_ssh', 'PC_vnc']);
  });

  it('ignores leases outside the range and accepts any iterable', () => {
    const leased = new Set([1999, 2000, 8000]);
    expect(allocatePorts(entries('a', 'b'), { start: 2000, end: 2002 }, leased)).toEqual({
      a: 2001,
      b: 2002,
    });
  });

  it('uses the very last free port when that is all there is', () => {
    expect(allocatePorts(entries('a'), { start: 2000, end: 2002 }, [2000, 2001])).toEqual({ a: 2002 });
  });

  it('returns nothing for an empty template, even on a full range', () => {
    expect(allocatePorts([], { start: 2000, end: 2000 }, [2000])).toEqual({});
  });

  it('throws NO_CAPACITY (category ports) when too few ports are free', () => {
    const err = catchError(() =>
      allocatePorts(entries('a', 'b', 'c'), { start: 2000, end: 2003 }, [2000, 2002]),
    );
    expect(err).toBeInstanceOf(DomainError);
    expect(err.code).toBe('NO_CAPACITY');
    expect(err.details).toMatchObject({ category: 'ports', needed: 3, free: 2 });
  });

  it('rejects duplicate entry names', () => {
    const err = catchError(() => allocatePorts(entries('a', 'b', 'a'), { start: 2000, end: 2010 }, []));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'template.2.name' });
  });

  it('keeps an entry named __proto__ as an ordinary key', () => {
    const got = allocatePorts(entries('__proto__', 'x'), { start: 2000, end: 2010 }, []);
    expect(Object.keys(got)).toEqual(['__proto__', 'x']);
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
  });
});

describe('allocatePorts properties', () => {
  const scenario = fc
    .record({ start: fc.integer({ min: 1, max: 65_000 }), size: fc.integer({ min: 1, max: 40 }) })
    .chain(({ start, size }) => {
      const range = { start, end: start + size - 1 };
      return fc.record({
        range: fc.constant(range),
        // Leases inside the range plus a few strays around it.
        leased: fc.uniqueArray(fc.integer({ min: start - 3, max: range.end + 3 }), { maxLength: size + 6 }),
        needed: fc.integer({ min: 0, max: size + 2 }),
      });
    });

  it('allocates distinct, in-range, unleased ports, the lowest ones, iff enough are free', () => {
    fc.assert(
      fc.property(scenario, ({ range, leased, needed }) => {
        const template = entries(...Array.from({ length: needed }, (_, i) => `n${i}_serial`));
        const freePorts: number[] = [];
        for (let p = range.start; p <= range.end; p++) if (!leased.includes(p)) freePorts.push(p);

        if (freePorts.length < needed) {
          expect(catchError(() => allocatePorts(template, range, leased))).toMatchObject({
            code: 'NO_CAPACITY',
          });
          return;
        }
        const got = allocatePorts(template, range, leased);
        const ports = template.map((e) => got[e.name]!);
        expect(new Set(ports).size).toBe(needed);
        for (const p of ports) {
          expect(p).toBeGreaterThanOrEqual(range.start);
          expect(p).toBeLessThanOrEqual(range.end);
          expect(leased).not.toContain(p);
        }
        expect(ports).toEqual(freePorts.slice(0, needed));
        expect(allocatePorts(template, range, [...leased].reverse())).toEqual(got);
      }),
      { numRuns: 500 },
    );
  });
});
