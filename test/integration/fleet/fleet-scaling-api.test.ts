import { createStores, type Stores } from '@lcm/shared/app';
import { ScalingDecisionSchema } from '@lcm/shared/kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/api/fleet.ts';
import { type CallOptions, type CallResult, call } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';

/** GET /v1/fleet/scaling: the scaling audit trail, newest first, paged with an opaque cursor. */

let t: TestTable;
let s: Stores;

beforeAll(async () => {
  t = await createTestTable('api-fleet-scaling');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  s = createStores({ client: t.client, tableName: t.tableName });
});

afterAll(async () => {
  await t.cleanup();
});

const api = (opts: CallOptions = {}): Promise<CallResult> =>
  call(handler, 'getFleetScaling', { role: 'viewer', ...opts });

const T0 = Date.parse('2031-05-01T10:00:00.000Z');

describe('GET /v1/fleet/scaling (getFleetScaling)', () => {
  it('an empty trail', async () => {
    const res = await api();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [] });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('pages newest first with a cursor until the end', async () => {
    const kinds = ['SCALE_UP', 'NONE', 'START_STOPPED', 'DRAIN', 'TERMINATE'] as const;
    for (const [i, kind] of kinds.entries()) {
      await s.scaling.putDecision({
        id: `d-${i}`,
        at: new Date(T0 + i * 60_000).toISOString(),
        kind,
        ...(kind === 'NONE' ? {} : { workerId: `w-${i}`, templateName: 'small' }),
        reason: `decision ${i}`,
        inputs: { scaler: i % 2 ? 'scale-down' : 'scale-up', summary: { demand: { total: i } } },
      });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await api({ query: { limit: '2', ...(cursor ? { cursor } : {}) } });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      for (const item of res.body.items) seen.push(ScalingDecisionSchema.parse(item).id);
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 10);
    expect(seen).toEqual(['d-4', 'd-3', 'd-2', 'd-1', 'd-0']);
    expect(pages).toBeGreaterThanOrEqual(3);

    const first = await api({ query: { limit: '1' } });
    expect(first.body.items[0]).toEqual({
      id: 'd-4',
      at: new Date(T0 + 4 * 60_000).toISOString(),
      kind: 'TERMINATE',
      workerId: 'w-4',
      templateName: 'small',
      reason: 'decision 4',
      inputs: { scaler: 'scale-up', summary: { demand: { total: 4 } } },
    });
  });

  it('needs fleet:read; bad paging input is a 400 naming the field', async () => {
    expect((await api({ role: undefined })).status).toBe(401);
    expect((await api({ role: 'portal' })).status).toBe(403);
    expect((await api({ role: 'operator' })).status).toBe(200);
    const bad = await api({ query: { limit: '0' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('limit');
    const cursor = await api({ query: { cursor: 'not-a-cursor' } });
    expect(cursor.status).toBe(400);
  });
});
