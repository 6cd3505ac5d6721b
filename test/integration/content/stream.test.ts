import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localContentTriggers } from '@lcm/sandbox/content/index';
import { type StreamPoller, startStreamPoller } from '@lcm/sandbox/streams/index';
import { TRIGGERS_CONSUMER } from '@lcm/shared/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as definitionsHandler } from '../../../functions/api/definitions.ts';
import { type CallOptions, call } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { TOPOLOGY, zipOf } from '../../unit/content/packages.ts';

/**
 * The local stack's wiring: DynamoDB Local's stream → the local stream poller with the triggers
 * consumer (its filters, batch settings) → the triggers handler reading the folder bucket. Only
 * API calls start anything.
 */

let t: TestTable;
let dir: string;
let poller: StreamPoller | undefined;
beforeAll(async () => {
  t = await createTestTable('content-stream');
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  dir = mkdtempSync(join(tmpdir(), 'lcm-content-stream-'));
  const { handlers } = localContentTriggers({ dir });
  poller = await startStreamPoller({
    endpoint: t.endpoint,
    tableName: t.tableName,
    consumers: [TRIGGERS_CONSUMER],
    handlers,
    pollIntervalMs: 50,
  });
});
afterAll(async () => {
  await poller?.stop();
  await t?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const api = (operationId: string, opts: CallOptions = {}) =>
  call(definitionsHandler, operationId, { role: 'admin', ...opts });

describe('content sync through the local stream poller', () => {
  it('creating a definition from a shipped sample syncs it; a broken package later fails cleanly', async () => {
    const created = await api('createDefinition', {
      body: {
        id: 'streamed',
        name: 'Streamed',
        contentUri: 's3://lcm-content/pav1-ospf-lab.zip',
        maxDurationMinutes: 60,
      },
    });
    expect(created.status).toBe(201);
    await poller!.idle(30_000);
    const synced = (await api('getDefinition', { params: { id: 'streamed' } })).body;
    expect(synced).toMatchObject({
      version: 2,
      sync: { status: 'SUCCEEDED' },
      formQualifiedName: 'SAMPLE-OSPF-1.0-LAB-2',
    });

    writeFileSync(join(dir, 'broken.zip'), zipOf({ 'cml.yaml': TOPOLOGY.replace('n2: n1', 'n2: n7') }));
    await api('updateDefinition', {
      params: { id: 'streamed' },
      body: { contentUri: 's3://lcm-content/broken.zip' },
    });
    await poller!.idle(30_000);
    const failed = (await api('getDefinition', { params: { id: 'streamed' } })).body;
    expect(failed.version).toBe(3);
    expect(failed.sync).toMatchObject({
      status: 'FAILED',
      diagnostic: 'INVALID_TOPOLOGY cml.yaml: link l0: n2 references unknown node n7',
    });
    expect(poller!.deadLetters).toEqual([]);
    expect(poller!.stats.delivered.triggers).toBe(2);
  });
});
