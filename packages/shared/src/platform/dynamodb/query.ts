import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../../kernel/index.ts';
import type { Item } from './items.ts';
import { type IndexName, TABLE } from './table.ts';

/** Paged queries with opaque cursors, checked against the query they are used with. */

export interface PageRequest {
  /** 1..1000; each store has its own default. */
  limit?: number | undefined;
  /** Opaque cursor returned by the previous page. */
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** Present when there may be more items: pass it back to get the next page. */
  cursor?: string | undefined;
}

export const MAX_PAGE_SIZE = 1000;

/**
 * Every item of a paged listing, page after page of `limit` (default MAX_PAGE_SIZE). With a `cap`,
 * reading stops with `cap.tooMany()` as soon as more than `cap.max` items have come back (a read
 * whose size the caller bounds, e.g. a report over a window that must be narrowed).
 */
export async function allPages<T>(
  list: (page: PageRequest) => Promise<Page<T>>,
  limit = MAX_PAGE_SIZE,
  cap?: { max: number; tooMany: () => Error },
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ limit, cursor });
    items.push(...page.items);
    if (cap && items.length > cap.max) throw cap.tooMany();
    cursor = page.cursor;
  } while (cursor !== undefined);
  return items;
}

export function checkLimit(limit: number | undefined, fallback: number, field = 'limit'): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError(field, `must be an integer 1..${MAX_PAGE_SIZE}, got ${String(limit)}`);
  }
  return limit;
}

// ---------------------------------------------------------------------------------------------
// Cursors: base64url(JSON(LastEvaluatedKey)), checked against the query they are used with.

export function encodeCursor(lastKey: Item | undefined): string | undefined {
  if (!lastKey) return undefined;
  return Buffer.from(JSON.stringify(lastKey), 'utf8').toString('base64url');
}

interface QueryShape {
  index?: IndexName | undefined;
  pk: string;
}

function keyAttributesOf(index: IndexName | undefined): { partition: string; all: string[] } {
  const base = [TABLE.partitionKey, TABLE.sortKey];
  if (index === undefined) return { partition: TABLE.partitionKey, all: base };
  const def = TABLE.indexes.find((i) => i.indexName === index);
  if (!def) throw new Error(`unknown index ${index}`);
  return { partition: def.partitionKey, all: [...base, def.partitionKey, def.sortKey] };
}

export function decodeCursor(cursor: string | undefined, shape: QueryShape): Item | undefined {
  if (cursor === undefined) return undefined;
  const bad = (why: string) => new ValidationError('cursor', `invalid cursor (${why})`);
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 4096) throw bad('length');
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad('not base64url');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor of this API');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('not an object');
  const { partition, all } = keyAttributesOf(shape.index);
  const entries = Object.entries(parsed);
  if (entries.length !== all.length || !all.every((a) => a in parsed)) throw bad('wrong keys');
  if (!entries.every(([, v]) => typeof v === 'string' && v.length > 0 && v.length <= 2048)) {
    throw bad('wrong values');
  }
  if ((parsed as Item)[partition] !== shape.pk) throw bad('belongs to another listing');
  return parsed as Item;
}

// ---------------------------------------------------------------------------------------------
// Queries

export type SortKeyCondition =
  | { beginsWith: string }
  | { between: [string, string] }
  | { gte: string }
  | { lte: string };

export interface QuerySpec extends QueryShape {
  sk?: SortKeyCondition | undefined;
  /** false = descending (newest first for time-ordered keys). */
  forward?: boolean | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
  /** Strongly consistent read (base table only; GSIs are eventually consistent). */
  consistent?: boolean | undefined;
}

function queryInput(
  tableName: string,
  spec: QuerySpec,
  exclusiveStartKey: Item | undefined,
): QueryCommandInput {
  const { partition, all } = keyAttributesOf(spec.index);
  const sortAttr = spec.index === undefined ? TABLE.sortKey : (all[3] as string);
  const values: Item = { ':pk': spec.pk };
  let condition = '#pk = :pk';
  const sk = spec.sk;
  if (sk) {
    if ('beginsWith' in sk) {
      condition += ' AND begins_with(#sk, :sk)';
      values[':sk'] = sk.beginsWith;
    } else if ('between' in sk) {
      condition += ' AND #sk BETWEEN :from AND :to';
      values[':from'] = sk.between[0];
      values[':to'] = sk.between[1];
    } else if ('gte' in sk) {
      condition += ' AND #sk >= :sk';
      values[':sk'] = sk.gte;
    } else {
      condition += ' AND #sk <= :sk';
      values[':sk'] = sk.lte;
    }
  }
  return {
    TableName: tableName,
    ...(spec.index ? { IndexName: spec.index } : {}),
    KeyConditionExpression: condition,
    ExpressionAttributeNames: sk ? { '#pk': partition, '#sk': sortAttr } : { '#pk': partition },
    ExpressionAttributeValues: values,
    ScanIndexForward: spec.forward ?? true,
    ...(spec.limit !== undefined ? { Limit: spec.limit } : {}),
    ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
    ...(spec.consistent && !spec.index ? { ConsistentRead: true } : {}),
  };
}

/** One page of a query; the cursor is validated against the query before it is used. */
export async function queryPage(
  client: DynamoDBDocumentClient,
  tableName: string,
  spec: QuerySpec,
): Promise<{ items: Item[]; cursor?: string | undefined }> {
  const start = decodeCursor(spec.cursor, spec);
  try {
    const out = await client.send(new QueryCommand(queryInput(tableName, spec, start)));
    return {
      items: (out.Items ?? []) as Item[],
      cursor: encodeCursor(out.LastEvaluatedKey as Item | undefined),
    };
  } catch (e) {
    // A well-formed cursor from another key range: DynamoDB rejects it, the caller sent it.
    if (start && (e as Error).name === 'ValidationException') {
      throw new ValidationError('cursor', 'invalid cursor (outside this listing)');
    }
    throw e;
  }
}

/** Every item of a query, following LastEvaluatedKey. */
export async function queryAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  spec: Omit<QuerySpec, 'cursor' | 'limit'>,
): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out = await client.send(new QueryCommand(queryInput(tableName, spec, start)));
    items.push(...((out.Items ?? []) as Item[]));
    start = out.LastEvaluatedKey as Item | undefined;
  } while (start);
  return items;
}
