import { readFileSync, writeFileSync } from 'node:fs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createStores } from '@lcm/shared/app';
import type { SessionStatus, WorkerStatus } from '@lcm/shared/kernel';
import {
  ENTITY,
  IDEMPOTENCY_PARTITION,
  json,
  keys,
  runIdempotent,
  sessionIdOfPartition,
} from '@lcm/shared/platform';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { SAMPLE_START, sampleClock, sampleItems, writeSampleData } from './sample-data.ts';

/**
 * docs/data-model.md shows one stored item per entity (and an Idempotency-Key record). This test
 * writes the same data set through the stores (and one record through Powertools idempotency)
 * and compares every example with what DynamoDB really holds, so the document cannot drift from
 * the code. It also renders every key format of `keys` and finds it in the document's key table.
 * PRINT_DATA_MODEL=<file> writes the items as JSON.
 */
const DOC = new URL('../../../docs/data-model.md', import.meta.url);
const markdown = readFileSync(DOC, 'utf8');

/** The Idempotency-Key record is not an entity of a store; its example is headed "Idempotency". */
const IDEMPOTENCY_EXAMPLE = 'Idempotency';

/** ```json blocks that directly follow a heading line "#### <Entity>". */
function docExamples(text: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const re = /^#### `?([A-Za-z]+)`?[^\n]*\n+```json\n([\s\S]*?)\n```/gm;
  for (const m of text.matchAll(re)) out.set(m[1] as string, JSON.parse(m[2] as string));
  return out;
}

interface KeyRow {
  PK: string[];
  SK: string[];
  GSI1: string[];
  GSI2: string[];
  GSI3: string[];
}

/** The "Key formats" table: its rows by the first word of the entity column, each cell's `code` spans. */
function keyTable(text: string): Map<string, KeyRow> {
  const section = text.slice(text.indexOf('## Key formats'));
  const lines = section.split('\n').slice(1);
  const rows = new Map<string, KeyRow>();
  for (const line of lines.slice(lines.findIndex((l) => l.startsWith('|')))) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1);
    const name = cells[0]!.trim().split(/\s+/)[0]!;
    if (name === 'entity' || /^-+$/.test(name)) continue;
    const codes = (cell: string | undefined) => [...(cell ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    rows.set(name, {
      PK: codes(cells[1]),
      SK: codes(cells[2]),
      GSI1: codes(cells[3]),
      GSI2: codes(cells[4]),
      GSI3: codes(cells[5]),
    });
  }
  return rows;
}

/** A placeholder where a builder takes a number or a status: the document's `<port:5>`, `<status>`. */
const slot = <T>(placeholder: string): T => placeholder as unknown as T;

/** Every member of `keys`, rendered with the document's placeholders, and the row that lists it. */
const RENDERED: Record<keyof typeof keys, [row: string, value: unknown]> = {
  worker: ['Worker', keys.worker('<id>')],
  workerByStatus: ['Worker', keys.workerByStatus(slot<WorkerStatus>('<status>'), '<id>')],
  workerStatusPartition: ['Worker', keys.workerStatusPartition(slot<WorkerStatus>('<status>'))],
  workerListing: ['Worker', keys.workerListing('<id>')],
  template: ['WorkerTemplate', keys.template('<name>')],
  templateListing: ['WorkerTemplate', keys.templateListing('<name>')],
  definitionPartition: ['LabletDefinitionVersion', keys.definitionPartition('<id>')],
  definitionVersion: ['LabletDefinitionVersion', keys.definitionVersion('<id>', slot<number>('<version:8>'))],
  definitionVersionPrefix: ['LabletDefinitionVersion', keys.definitionVersionPrefix],
  definitionLatest: ['LabletDefinition', keys.definitionLatest('<id>')],
  definitionListing: ['LabletDefinition', keys.definitionListing('<id>')],
  sessionPartition: ['LabletSession', keys.sessionPartition('<id>')],
  session: ['LabletSession', keys.session('<id>')],
  userSession: ['UserSession', keys.userSession('<id>')],
  grading: ['GradingSession', keys.grading('<id>')],
  score: ['ScoreReport', keys.score('<id>')],
  observation: ['ResourceObservation', keys.observation('<sessionId>', '<observedAt>')],
  observationPrefix: ['ResourceObservation', keys.observationPrefix],
  history: ['SessionHistory', keys.history('<id>', '<at>', slot<number>('<seq:4>'))],
  historyPrefix: ['SessionHistory', keys.historyPrefix],
  sessionByStatus: [
    'LabletSession',
    keys.sessionByStatus(slot<SessionStatus>('<status>'), '<start>', '<id>'),
  ],
  sessionStatusPartition: ['LabletSession', keys.sessionStatusPartition(slot<SessionStatus>('<status>'))],
  sessionListing: ['LabletSession', keys.sessionListing('<start>', '<id>')],
  sessionListingPartition: ['LabletSession', keys.sessionListingPartition],
  reservation: ['Reservation', keys.reservation('<reservationId>')],
  sessionOnWorker: ['LabletSession', keys.sessionOnWorker('<workerId>', '<start>', '<id>')],
  sessionsOnWorkerPartition: ['LabletSession', keys.sessionsOnWorkerPartition('<workerId>')],
  observationOfDefinition: [
    'ResourceObservation',
    keys.observationOfDefinition('<definitionId>', '<observedAt>', '<sessionId>'),
  ],
  observationsOfDefinitionPartition: [
    'ResourceObservation',
    keys.observationsOfDefinitionPartition('<definitionId>'),
  ],
  portLease: ['PortLease', keys.portLease('<workerId>', slot<number>('<port:5>'))],
  portLeasePrefix: ['PortLease', keys.portLeasePrefix],
  processedEvent: ['ProcessedEvent', keys.processedEvent('<source>', '<id>')],
  scalingPartition: ['ScalingDecision', keys.scalingPartition],
  scalingDecision: ['ScalingDecision', keys.scalingDecision('<at>', '<id>')],
  scalingDecisionPrefix: ['ScalingDecision', keys.scalingDecisionPrefix],
  scalerState: ['ScalerState', keys.scalerState('<scope>')],
  leftoverLab: ['LeftoverLab', keys.leftoverLab('<workerId>', '<labId>')],
  leftoverLabPrefix: ['LeftoverLab', keys.leftoverLabPrefix],
  leftoverLabListing: ['LeftoverLab', keys.leftoverLabListing('<workerId>', '<labId>')],
  leftoverLabListingPartition: ['LeftoverLab', keys.leftoverLabListingPartition],
  liveConnectionPartition: ['LiveConnection', keys.liveConnectionPartition('<connectionId>')],
  liveConnection: ['LiveConnection', keys.liveConnection('<connectionId>')],
  liveSubscription: ['LiveSubscription', keys.liveSubscription('<connectionId>', '<topic>')],
  liveSubscriber: ['LiveSubscription', keys.liveSubscriber('<topic>', '<connectionId>')],
  liveTopicPartition: ['LiveSubscription', keys.liveTopicPartition('<topic>')],
  streamFailurePartition: ['StreamFailure', keys.streamFailurePartition],
  streamFailure: ['StreamFailure', keys.streamFailure('<id>')],
  streamFailureByStatus: ['StreamFailure', keys.streamFailureByStatus('<status>', '<id>')],
  streamFailureStatusPartition: ['StreamFailure', keys.streamFailureStatusPartition('<status>')],
  pooledLab: ['PooledLab', keys.pooledLab('<id>')],
  pooledLabListing: ['PooledLab', keys.pooledLabListing('<definitionId>', '<id>')],
  pooledLabListingPartition: ['PooledLab', keys.pooledLabListingPartition],
  idempotencyPartition: [IDEMPOTENCY_EXAMPLE, keys.idempotencyPartition],
  idempotencyKeyPrefix: [IDEMPOTENCY_EXAMPLE, keys.idempotencyKeyPrefix],
};

describe('docs/data-model.md key formats', () => {
  const table = keyTable(markdown);

  it('has one row per entity and one for the Idempotency-Key records', () => {
    expect([...table.keys()].sort()).toEqual([...Object.values(ENTITY), IDEMPOTENCY_EXAMPLE].sort());
  });

  it.each(Object.entries(RENDERED))('lists keys.%s as the code renders it', (_member, [rowName, value]) => {
    const row = table.get(rowName);
    expect(row, `row ${rowName}`).toBeDefined();
    if (typeof value === 'string') {
      // A partition or a prefix: some key of its row is it, or starts with it.
      const all = Object.values(row!).flat();
      expect(
        all.some((k) => k === value || k.startsWith(value)),
        `${value} in ${all.join(', ')}`,
      ).toBe(true);
      return;
    }
    for (const [attribute, rendered] of Object.entries(value as Record<string, string>)) {
      const m = /^(GSI\d)?(PK|SK)$/.exec(attribute);
      expect(m, attribute).not.toBeNull();
      const [, index, part] = m!;
      const cell = index ? row![index as 'GSI1' | 'GSI2' | 'GSI3'] : row![part as 'PK' | 'SK'];
      expect(index ? cell[part === 'PK' ? 0 : 1] : cell[0], `${rowName} ${attribute}`).toBe(rendered);
    }
  });

  it('every row is listed by a member of keys', () => {
    const used = new Set(Object.values(RENDERED).map(([row]) => row));
    expect([...table.keys()].filter((row) => !used.has(row))).toEqual([]);
  });

  it('reads the session id back from a session partition, and nothing from another', () => {
    expect(sessionIdOfPartition(keys.sessionPartition('s-1#x'))).toBe('s-1#x');
    expect(sessionIdOfPartition(keys.worker('w-1').PK)).toBeUndefined();
  });
});

describe('docs/data-model.md examples', () => {
  let t: TestTable;
  let items: Record<string, Record<string, unknown>>;
  beforeAll(async () => {
    t = await createTestTable('doc');
    await writeSampleData(createStores({ client: t.client, tableName: t.tableName, clock: sampleClock() }));
    items = { ...(await sampleItems(t)) };
    items[IDEMPOTENCY_EXAMPLE] = await idempotencyRecord(t);
    // Regenerating the examples: PRINT_DATA_MODEL=/tmp/items.json writes them there.
    if (process.env.PRINT_DATA_MODEL)
      writeFileSync(process.env.PRINT_DATA_MODEL, JSON.stringify(items, null, 2));
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('has one example per entity (and the Idempotency-Key record), each equal to the item the code writes', () => {
    const examples = docExamples(markdown);
    const expected = [...Object.values(ENTITY), IDEMPOTENCY_EXAMPLE];
    expect([...examples.keys()].sort()).toEqual(expected.sort());
    for (const name of expected) expect(examples.get(name), `example of ${name}`).toEqual(items[name]);
  });
});

/**
 * One stored reply of an idempotent POST, as Powertools writes it on the single table, with the
 * wall clock at the sample data's start (Powertools reads Date.now for the expiry times).
 */
async function idempotencyRecord(t: TestTable): Promise<Record<string, unknown>> {
  const env = {
    TABLE_NAME: process.env.TABLE_NAME,
    AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB,
  };
  process.env.TABLE_NAME = t.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = t.endpoint;
  vi.useFakeTimers({ toFake: ['Date'], now: Date.parse(SAMPLE_START) });
  try {
    await runIdempotent(
      {
        callerSub: 'operator@example.com',
        operationId: 'createWorker',
        key: 'b4c1-create-w-7f3a',
        request: { params: {}, query: {}, body: '{"templateName":"m5zn-metal"}' },
      },
      { getRemainingTimeInMillis: () => 30_000 },
      async () => json(201, { id: 'w-7f3a', status: 'PENDING' }, { location: '/v1/workers/w-7f3a' }),
    );
  } finally {
    vi.useRealTimers();
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  const { Items = [] } = await t.client.send(
    new QueryCommand({
      TableName: t.tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': IDEMPOTENCY_PARTITION },
    }),
  );
  expect(Items).toHaveLength(1);
  const { PK, SK, ...rest } = Items[0]!;
  return { PK, SK, ...Object.fromEntries(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1))) };
}
