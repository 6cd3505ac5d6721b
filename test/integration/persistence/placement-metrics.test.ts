import { createStores, type Stores } from '@lcm/shared/app';
import { discardMetrics, publishMetrics } from '@lcm/shared/platform';
import { placeSession } from '@lcm/shared/sessions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureEmf } from '../../support/emf.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { newSession, newWorker, steppingClock } from './builders.ts';

/** Placement attempts and rejections by category, as placement decides (sessions/place-session.ts). */

let t: TestTable;
let s: Stores;

beforeAll(async () => {
  t = await createTestTable('placement-metrics');
  s = createStores({ client: t.client, tableName: t.tableName, clock: steppingClock() });
});
afterAll(async () => {
  await t.cleanup();
});
beforeEach(() => discardMetrics());

describe('placement metrics on DynamoDB Local', () => {
  it('a placement counts PLACED; one that fits nowhere NO_FIT and its rejections by category; a replay nothing', async () => {
    await s.workers.create(newWorker({ id: 'w-m1', portRange: { start: 5000, end: 5099 } }));
    await s.workers.create(newWorker({ id: 'w-m2', portRange: { start: 6000, end: 6099 } }));
    await s.sessions.create(newSession({ id: 's-m1', reservationId: 'r-m1' }));
    await s.sessions.create(
      newSession({
        id: 's-m2',
        reservationId: 'r-m2',
        requirements: { cpuCores: 4096, memoryGb: 8, storageGb: 20, nodeCount: 4 },
      }),
    );
    const points = await captureEmf(async () => {
      expect(await placeSession(s, 's-m1')).toMatchObject({ placed: true });
      // Already placed: its placement is returned, no new decision.
      expect(await placeSession(s, 's-m1')).toMatchObject({ placed: true });
      expect(await placeSession(s, 's-m2')).toMatchObject({ placed: false, considered: 2 });
      publishMetrics();
    });
    const summary = points.map((p) => [p.name, p.dimensions.reason, p.values]);
    expect(summary).toEqual(
      expect.arrayContaining([
        ['PlacementAttempts', 'PLACED', [1]],
        ['PlacementAttempts', 'NO_FIT', [1]],
        ['PlacementRejections', 'capacity', [2]],
      ]),
    );
    expect(summary).toHaveLength(3);
  });
});
