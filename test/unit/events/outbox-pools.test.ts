import type { Item } from '@lcm/shared/events';
import { OUTBOUND_EVENT_TYPES, outboxEventsFor } from '@lcm/shared/events';
import { describe, expect, it } from 'vitest';
import { insert, modify, T } from './records.ts';

/** pool.lab-changed (issue 15, item 3): one event per status change of a pooled lab, none otherwise. */

const lab = (over: Item = {}): Item => ({
  PK: 'POOLLAB#pool-1',
  SK: 'POOLLAB',
  entity: 'PooledLab',
  id: 'pool-1',
  definitionId: 'ccna-ospf',
  definitionVersion: 3,
  status: 'PLACED',
  workerId: 'w-1',
  allocatedPorts: { R1_serial: 5000 },
  createdAt: T,
  updatedAt: T,
  version: 0,
  ...over,
});

describe('outboxEventsFor: pool.lab-changed', () => {
  it('placed (INSERT): from null, on the pool of its definition', () => {
    const events = outboxEventsFor(insert(lab()));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: 'pools/ccna-ospf/pool-1/v0/lab-changed',
      type: OUTBOUND_EVENT_TYPES.poolLabChanged,
      subject: 'pools/ccna-ospf',
      time: T,
      data: {
        labId: 'pool-1',
        definitionId: 'ccna-ospf',
        definitionVersion: 3,
        from: null,
        to: 'PLACED',
        workerId: 'w-1',
      },
    });
    expect(events[0]?.type).toBe('io.lablet.lcm.pool.lab-changed.v1');
  });

  it('claimed and released name the session and the reason; a change without a status change is silent', () => {
    const ready = lab({ status: 'READY', version: 2 });
    const claimed = outboxEventsFor(modify(ready, lab({ status: 'CLAIMED', claimedBy: 's-9', version: 3 })));
    expect(claimed[0]?.data).toMatchObject({ from: 'READY', to: 'CLAIMED', claimedBy: 's-9' });
    const released = outboxEventsFor(
      modify(
        ready,
        lab({ status: 'RELEASED', releaseReason: 'definition ccna-ospf is DEPRECATED', version: 3 }),
      ),
    );
    expect(released[0]?.data).toMatchObject({ to: 'RELEASED', reason: 'definition ccna-ospf is DEPRECATED' });
    expect(outboxEventsFor(modify(ready, lab({ status: 'READY', version: 3, cmlLabId: 'lab-1' })))).toEqual(
      [],
    );
  });
});
