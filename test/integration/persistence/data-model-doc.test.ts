import { readFileSync, writeFileSync } from 'node:fs';
import { createStores } from '@lcm/shared/app';
import { ENTITY } from '@lcm/shared/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { sampleClock, sampleItems, writeSampleData } from './sample-data.ts';

/**
 * docs/data-model.md shows one stored item per entity. This test writes the same data set
 * through the stores and compares every example with what DynamoDB really holds, so the
 * document cannot drift from the code. PRINT_DATA_MODEL=<file> writes the items as JSON.
 */
const DOC = new URL('../../../docs/data-model.md', import.meta.url);

/** ```json blocks that directly follow a heading line "#### <Entity>". */
function docExamples(markdown: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const re = /^#### `?([A-Za-z]+)`?[^\n]*\n+```json\n([\s\S]*?)\n```/gm;
  for (const m of markdown.matchAll(re)) out.set(m[1] as string, JSON.parse(m[2] as string));
  return out;
}

describe('docs/data-model.md examples', () => {
  let t: TestTable;
  let items: Awaited<ReturnType<typeof sampleItems>>;
  beforeAll(async () => {
    t = await createTestTable('doc');
    await writeSampleData(createStores({ client: t.client, tableName: t.tableName, clock: sampleClock() }));
    items = await sampleItems(t);
    // Regenerating the examples: PRINT_DATA_MODEL=/tmp/items.json writes them there.
    if (process.env.PRINT_DATA_MODEL)
      writeFileSync(process.env.PRINT_DATA_MODEL, JSON.stringify(items, null, 2));
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('has one example per entity, each equal to the item the code writes', () => {
    const examples = docExamples(readFileSync(DOC, 'utf8'));
    expect([...examples.keys()].sort()).toEqual(Object.values(ENTITY).sort());
    for (const entity of Object.values(ENTITY)) {
      expect(examples.get(entity), `example of ${entity}`).toEqual(items[entity]);
    }
  });
});
