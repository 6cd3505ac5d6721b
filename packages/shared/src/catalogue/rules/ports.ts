import type { PortAllocations, PortRange, PortTemplate } from '../../kernel/index.ts';
import { DomainError, ValidationError } from '../../kernel/index.ts';

/** Port allocation on one worker: the lowest free outside ports of its PATty range. */

function validateRange(range: PortRange): void {
  for (const f of ['start', 'end'] as const) {
    const v = range?.[f];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65_535) {
      throw new ValidationError(`range.${f}`, `must be an integer port 1-65535, got ${String(v)}`);
    }
  }
  if (range.end < range.start) {
    throw new ValidationError('range.end', `must be >= start (${range.start}), got ${range.end}`);
  }
}

/** Number of ports in an inclusive range. */
export function portRangeSize(range: PortRange): number {
  validateRange(range);
  return range.end - range.start + 1;
}

/** Ports still free given the number of leases held (never negative). */
export function freePortCount(range: PortRange, leasedCount: number): number {
  if (!Number.isInteger(leasedCount) || leasedCount < 0) {
    throw new ValidationError('leasedCount', `must be an integer >= 0, got ${String(leasedCount)}`);
  }
  return Math.max(0, portRangeSize(range) - leasedCount);
}

/**
 * One distinct port per template entry, in template order, taken from the lowest free ports
 * of `range` (ports in `leased` are skipped). Deterministic for the same inputs.
 * Throws NO_CAPACITY (details.category = 'ports') when the range has too few free ports.
 */
export function allocatePorts(
  template: PortTemplate,
  range: PortRange,
  leased: Iterable<number>,
): PortAllocations {
  validateRange(range);
  const names = new Set<string>();
  template.forEach((entry, i) => {
    if (typeof entry?.name !== 'string' || entry.name.length === 0) {
      throw new ValidationError(`template.${i}.name`, 'must be a non-empty string');
    }
    if (names.has(entry.name)) {
      throw new ValidationError(`template.${i}.name`, `duplicate port name ${entry.name}`, {
        name: entry.name,
      });
    }
    names.add(entry.name);
  });

  const taken = new Set<number>();
  for (const port of leased) {
    if (Number.isInteger(port) && port >= range.start && port <= range.end) taken.add(port);
  }
  const free = range.end - range.start + 1 - taken.size;
  if (free < template.length) {
    throw new DomainError(
      'NO_CAPACITY',
      `port range ${range.start}-${range.end} has ${free} free ports, ${template.length} needed`,
      { category: 'ports', needed: template.length, free, range: { start: range.start, end: range.end } },
    );
  }

  const out: PortAllocations = {};
  let port = range.start;
  for (const entry of template) {
    while (taken.has(port)) port++;
    // defineProperty keeps a name such as "__proto__" an ordinary own key.
    Object.defineProperty(out, entry.name, {
      value: port,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    port++;
  }
  return out;
}
