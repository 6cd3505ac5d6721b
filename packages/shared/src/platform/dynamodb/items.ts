import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod';
import { NotFoundError, ValidationError } from '../../kernel/index.ts';
import { TABLE } from './table.ts';

/**
 * Plumbing shared by the DynamoDB repositories (with query.ts, expressions.ts and writes.ts):
 * item <-> entity mapping and input validation. Nothing here knows an entity.
 */

/** Everything a DynamoDB store needs; `clock` makes timestamps testable. */
export interface StoreConfig {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock?: () => Date;
}

export type Item = Record<string, unknown>;

/**
 * What a store's create takes: the entity's input without the fields the store stamps
 * (`Stamped`: timestamps, version, ...; a caller may still give them) and without those it owns
 * outright (`Owned`: never given by a caller).
 */
export type NewEntity<
  S extends z.ZodType,
  Stamped extends keyof z.output<S> & keyof z.input<S>,
  Owned extends keyof z.input<S> = never,
> = Omit<z.input<S>, Stamped | Owned> & Partial<Pick<z.output<S>, Stamped>>;

const KEY_ATTRIBUTES: ReadonlySet<string> = new Set([
  TABLE.partitionKey,
  TABLE.sortKey,
  ...TABLE.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
]);

/** Drops the key attributes (PK/SK/GSI*) and the entity marker, leaving the entity's fields. */
export function stripKeys(item: Item): Item {
  const out: Item = {};
  for (const [k, v] of Object.entries(item)) {
    if (!KEY_ATTRIBUTES.has(k) && k !== TABLE.entityAttribute) out[k] = v;
  }
  return out;
}

/**
 * Parses a stored item with the entity's schema (unknown attributes such as keys are
 * dropped). A stored item that does not parse is corruption, not bad input: plain Error.
 */
export function parseItem<S extends z.ZodType>(schema: S, item: Item): z.output<S> {
  const result = schema.safeParse(stripKeys(item));
  if (!result.success) {
    const where = `${String(item[TABLE.partitionKey])} / ${String(item[TABLE.sortKey])}`;
    throw new Error(`stored item ${where} does not match its schema: ${result.error.message}`);
  }
  return result.data;
}

/** Validates input with an entity schema; failures become a ValidationError naming the field. */
export function validateInput<S extends z.ZodType>(schema: S, value: unknown, root = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = [root, ...(issue?.path ?? []).map(String)].filter((p) => p !== '').join('.');
    throw new ValidationError(path || 'body', issue?.message ?? 'invalid', { issues: result.error.issues });
  }
  return result.data;
}

/** Timestamps inside keys are normalised to UTC ISO (ms precision) so lexical order is time order. */
export function utcKey(iso: string, field: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new ValidationError(field, `not an ISO date-time: ${iso}`);
  return new Date(ms).toISOString();
}

/** One consistent GetItem parsed with `schema`; a missing item is a NotFoundError (entity, id). */
export async function getParsed<S extends z.ZodType>(
  cfg: StoreConfig,
  key: Item,
  schema: S,
  entity: string,
  id: string,
): Promise<z.output<S>> {
  const out = await cfg.client.send(
    new GetCommand({ TableName: cfg.tableName, Key: key, ConsistentRead: true }),
  );
  if (!out.Item) throw new NotFoundError(entity, id);
  return parseItem(schema, out.Item);
}
