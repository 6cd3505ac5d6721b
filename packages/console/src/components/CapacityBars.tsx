import type { components } from '../api/schema.gen.ts';
import { capacityBars } from '../lib/fleet.ts';

type Capacity = components['schemas']['Capacity'];

/** Allocated against declared, one labelled meter per dimension. */
export function CapacityBars({
  declared,
  allocated,
  owner,
}: {
  declared: Capacity;
  allocated: Capacity;
  owner: string;
}) {
  return (
    <ul className="bars">
      {capacityBars(declared, allocated).map((b) => (
        <li key={b.key}>
          <span className="bar-label">{b.label}</span>
          <meter
            aria-label={`${owner} ${b.label}: ${b.allocated} of ${b.declared} allocated`}
            min={0}
            max={b.declared || 1}
            value={Math.min(b.allocated, b.declared || 1)}
            high={(b.declared || 1) * 0.85}
            optimum={0}
          />
          <span className={b.over ? 'over' : ''}>
            {b.allocated}/{b.declared}
          </span>
        </li>
      ))}
    </ul>
  );
}
