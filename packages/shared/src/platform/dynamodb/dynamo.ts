import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type * as z from 'zod';
import { DuplicateError, NotFoundError, ValidationError, VersionConflictError } from '../../kernel/index.ts';
import { type IndexName, TABLE } from './table.ts';

/**
 * Plumbing shared by the DynamoDB repositories: item <-> entity mapping, opaque cursors,
 * paged queries, expression placeholders and the mapping of failed conditions to typed
 * domain errors. Nothing here knows an entity.
 */

/** Everything a DynamoDB store needs; `clock` makes timestamps testable. */
export interface StoreConfig {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock?: () => Date;
}

export type Item = Record<string, unknown>;

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
/** DynamoDB's limit on the number of items in one TransactWriteItems call. */
export const MAX_TRANSACTION_ITEMS = 100;

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

// ---------------------------------------------------------------------------------------------
// Expressions

/** Allocates #n/:v placeholders so attribute names never clash with reserved words. */
export class Expr {
  readonly names: Record<string, string> = {};
  readonly values: Item = {};
  private n = 0;
  private v = 0;
  private readonly nameOf = new Map<string, string>();

  name(attribute: string): string {
    let placeholder = this.nameOf.get(attribute);
    if (!placeholder) {
      placeholder = `#n${this.n++}`;
      this.nameOf.set(attribute, placeholder);
      this.names[placeholder] = attribute;
    }
    return placeholder;
  }

  value(v: unknown): string {
    const placeholder = `:v${this.v++}`;
    this.values[placeholder] = v;
    return placeholder;
  }

  /** `#a = :v` for every defined entry (undefined entries are skipped). */
  assignments(sets: Item): string[] {
    return Object.entries(sets)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${this.name(k)} = ${this.value(v)}`);
  }

  update(sets: string[], removes: string[] = []): string {
    const parts: string[] = [];
    if (sets.length) parts.push(`SET ${sets.join(', ')}`);
    if (removes.length) parts.push(`REMOVE ${removes.map((r) => this.name(r)).join(', ')}`);
    return parts.join(' ');
  }

  /** Names/values for a command, omitting empty maps (DynamoDB rejects them). */
  attributes(): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Item } {
    return {
      ...(Object.keys(this.names).length ? { ExpressionAttributeNames: this.names } : {}),
      ...(Object.keys(this.values).length ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

/**
 * A patch where `null` removes an optional attribute and undefined leaves it alone; split
 * into SET and REMOVE parts.
 */
export function splitPatch(patch: Item): { sets: Item; removes: string[] } {
  const sets: Item = {};
  const removes: string[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) removes.push(k);
    else if (v !== undefined) sets[k] = v;
  }
  return { sets, removes };
}

/**
 * Validates a patch against the editable part of an entity schema: every named field must be
 * editable, set values must parse, and only optional fields may be removed (`null`).
 */
export function validatePatch(
  editable: z.ZodObject,
  patch: Item,
  root = '',
): { sets: Item; removes: string[] } {
  const shape = editable.shape as Record<string, z.ZodType>;
  const field = (k: string) => (root ? `${root}.${k}` : k);
  for (const k of Object.keys(patch)) {
    if (!(k in shape)) throw new ValidationError(field(k), 'cannot be changed here');
  }
  const { sets, removes } = splitPatch(patch);
  for (const k of removes) {
    if (!(shape[k] as z.ZodType).safeParse(undefined).success) {
      throw new ValidationError(field(k), 'is required and cannot be removed');
    }
  }
  const valid = validateInput(editable.partial(), sets, root) as Item;
  return { sets: pickDefined(valid, Object.keys(sets)), removes };
}

/** The named fields of `source` that are defined (validated patches keep only what was sent). */
export function pickDefined(source: Item, names: readonly string[]): Item {
  const out: Item = {};
  for (const n of names) if (source[n] !== undefined) out[n] = source[n];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Failed conditions → typed errors

export const isConditionFailed = (e: unknown): e is ConditionalCheckFailedException =>
  e instanceof ConditionalCheckFailedException ||
  (e as Error | undefined)?.name === 'ConditionalCheckFailedException';

/** The item as it was when the condition failed (ReturnValuesOnConditionCheckFailure: ALL_OLD). */
export function oldItemOf(e: ConditionalCheckFailedException): Item | undefined {
  const raw = (e as { Item?: Parameters<typeof unmarshall>[0] }).Item;
  return raw ? (unmarshall(raw) as Item) : undefined;
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export interface TxOp {
  item: TransactItem;
  /** Builds the error when this item's condition fails; `old` is the item as it was (if any). */
  onConditionFailed: (old: Item | undefined) => Error;
  /** For errors that are not tied to one condition (e.g. transaction conflicts). */
  entity: string;
  id: string;
}

/**
 * Runs TransactWriteItems and, when it is cancelled, throws the typed error of the first item
 * whose condition failed (every item asks for ALL_OLD so the error can say what it found).
 * A TransactionConflict (AWS only, never DynamoDB Local) is a retryable VersionConflictError.
 */
export async function transactWrite(
  client: DynamoDBDocumentClient,
  ops: TxOp[],
  token?: string,
): Promise<void> {
  if (ops.length === 0) return;
  if (ops.length > MAX_TRANSACTION_ITEMS) {
    throw new ValidationError('transaction', `at most ${MAX_TRANSACTION_ITEMS} items, got ${ops.length}`);
  }
  const TransactItems = ops.map(({ item }) => withOldValues(item));
  try {
    await client.send(
      new TransactWriteCommand({ TransactItems, ...(token ? { ClientRequestToken: token } : {}) }),
    );
  } catch (e) {
    if (
      !(e instanceof TransactionCanceledException) &&
      (e as Error).name !== 'TransactionCanceledException'
    ) {
      throw e;
    }
    const reasons = (e as TransactionCanceledException).CancellationReasons ?? [];
    const failed = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
    if (failed >= 0) {
      const raw = reasons[failed]?.Item;
      const op = ops[failed] as TxOp;
      throw op.onConditionFailed(raw ? (unmarshall(raw) as Item) : undefined);
    }
    const conflict = reasons.findIndex((r) => r.Code === 'TransactionConflict');
    if (conflict >= 0) {
      const op = ops[conflict] as TxOp;
      throw new VersionConflictError(op.entity, op.id, 'a concurrent transaction touched the same item');
    }
    throw e;
  }
}

function withOldValues(item: TransactItem): TransactItem {
  const add = <T extends object>(x: T & { ConditionExpression?: string }) =>
    x.ConditionExpression ? { ...x, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : x;
  if (item.Put) return { Put: add(item.Put) };
  if (item.Update) return { Update: add(item.Update) };
  if (item.Delete) return { Delete: add(item.Delete) };
  if (item.ConditionCheck) return { ConditionCheck: add(item.ConditionCheck) };
  return item;
}

// ---------------------------------------------------------------------------------------------
// Versioned single-item updates (optimistic concurrency)

export interface VersionedUpdate {
  key: Record<string, string>;
  entity: string;
  id: string;
  /** Attributes to SET (undefined skipped); version and updatedAt are added here. */
  sets: Item;
  removes?: string[] | undefined;
  /** Condition `version = :expected`; omitted = any version (used with a status condition). */
  expectedVersion?: number | undefined;
  /** Condition on the current status (status changes). */
  expectedStatus?: string | undefined;
  /** Extra SET clauses written with the same placeholders (e.g. list_append). */
  rawSets?: (e: Expr) => string[];
  updatedAt: string;
}

/**
 * Updates one item under `attribute_exists(PK)` plus the expected version and/or status,
 * incrementing `version`; returns the new item. Unknown item → NotFoundError; lost condition
 * → VersionConflictError saying what was found.
 */
export async function versionedUpdate(
  client: DynamoDBDocumentClient,
  tableName: string,
  u: VersionedUpdate,
): Promise<Item> {
  const e = new Expr();
  const conditions = [`attribute_exists(${e.name(TABLE.partitionKey)})`];
  if (u.expectedVersion !== undefined)
    conditions.push(`${e.name('version')} = ${e.value(u.expectedVersion)}`);
  if (u.expectedStatus !== undefined) conditions.push(`${e.name('status')} = ${e.value(u.expectedStatus)}`);
  const sets = [
    ...e.assignments({ ...u.sets, updatedAt: u.updatedAt }),
    `${e.name('version')} = ${e.name('version')} + ${e.value(1)}`,
    ...(u.rawSets ? u.rawSets(e) : []),
  ];
  try {
    const out = await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: u.key,
        UpdateExpression: e.update(sets, u.removes ?? []),
        ConditionExpression: conditions.join(' AND '),
        ...e.attributes(),
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return (out.Attributes ?? {}) as Item;
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
    throw conditionError(u.entity, u.id, oldItemOf(err), u.expectedVersion, u.expectedStatus);
  }
}

/** The typed error for a failed `exists AND version AND status` condition, given the old item. */
export function conditionError(
  entity: string,
  id: string,
  old: Item | undefined,
  expectedVersion?: number,
  expectedStatus?: string,
): Error {
  if (!old) return new NotFoundError(entity, id);
  if (expectedStatus !== undefined && old.status !== expectedStatus) {
    return new VersionConflictError(
      entity,
      id,
      `status is ${String(old.status)}, expected ${expectedStatus}`,
    );
  }
  if (expectedVersion !== undefined && old.version !== expectedVersion) {
    return new VersionConflictError(
      entity,
      id,
      `version is ${String(old.version)}, expected ${expectedVersion}`,
    );
  }
  return new VersionConflictError(entity, id);
}

/** Puts a new item; an item already at its key is a DuplicateError (entity, id). */
export async function putNew(cfg: StoreConfig, item: Item, entity: string, id: string): Promise<void> {
  try {
    await cfg.client.send(
      new PutCommand({
        TableName: cfg.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  } catch (e) {
    if (isConditionFailed(e)) throw new DuplicateError(entity, id);
    throw e;
  }
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
