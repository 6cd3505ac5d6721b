import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type * as z from 'zod';
import { DuplicateError, NotFoundError, ValidationError, VersionConflictError } from '../../kernel/index.ts';
import { nowIso } from '../runtime/clock.ts';
import { Expr, validatePatch } from './expressions.ts';
import { type Item, parseItem, type StoreConfig } from './items.ts';
import { TABLE } from './table.ts';

/**
 * Conditional writes: new items, transactions and versioned single-item updates (optimistic
 * concurrency), with failed conditions mapped to typed domain errors.
 */

/** DynamoDB's limit on the number of items in one TransactWriteItems call. */
export const MAX_TRANSACTION_ITEMS = 100;

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

/** An entity whose items an update patches: where one lives, what may change, how it reads back. */
export interface PatchableEntity<S extends z.ZodType> {
  entity: string;
  key: (id: string) => Record<string, string>;
  /** The editable part of the entity schema (validatePatch). */
  editable: z.ZodObject;
  schema: S;
}

/**
 * The stores' `update(id, patch, expectedVersion)`: validates the patch against the editable
 * fields, applies it at the expected version (versionedUpdate) and returns the parsed new item.
 */
export async function patchVersioned<S extends z.ZodType>(
  cfg: StoreConfig,
  target: PatchableEntity<S>,
  id: string,
  patch: Item,
  expectedVersion: number,
): Promise<z.output<S>> {
  const { sets, removes } = validatePatch(target.editable, patch);
  const item = await versionedUpdate(cfg.client, cfg.tableName, {
    key: target.key(id),
    entity: target.entity,
    id,
    sets,
    removes,
    expectedVersion,
    updatedAt: nowIso(cfg.clock),
  });
  return parseItem(target.schema, item);
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
