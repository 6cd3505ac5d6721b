import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { type LeftoverLab, LeftoverLabSchema } from '../../kernel/index.ts';
import {
  ENTITY,
  isConditionFailed,
  keys,
  nowIso,
  parseItem,
  queryAll,
  type StoreConfig,
  validateInput,
} from '../../platform/index.ts';

/**
 * Access pattern 13: CML labs left on a live worker (`WORKER#<id> / LAB#<labId>`, listed on GSI2
 * `TYPE#LeftoverLab`). A force-release records the lab it could not delete; the health sweep
 * (fleet/leftover-labs.ts) deletes it once the worker's CML answers and removes the record.
 */
export interface LeftoverLabStore {
  /** Records the lab (idempotent: a lab already recorded keeps its record). Returns the record. */
  record(input: { workerId: string; cmlLabId: string; sessionId: string; by: string }): Promise<LeftoverLab>;
  /** Every recorded lab, all workers (GSI2, eventually consistent). */
  listAll(): Promise<LeftoverLab[]>;
  /** The recorded labs of one worker (consistent). */
  listByWorker(workerId: string): Promise<LeftoverLab[]>;
  /** One more failed deletion attempt, with its error. */
  noteAttempt(workerId: string, cmlLabId: string, error: string): Promise<void>;
  /** The lab is gone: the record goes (a missing record is fine). */
  remove(workerId: string, cmlLabId: string): Promise<void>;
}

const RecordInput = z.object({
  workerId: LeftoverLabSchema.shape.workerId,
  cmlLabId: LeftoverLabSchema.shape.cmlLabId,
  sessionId: LeftoverLabSchema.shape.sessionId,
  by: LeftoverLabSchema.shape.recordedBy,
});

export class DynamoLeftoverLabStore implements LeftoverLabStore {
  constructor(private readonly cfg: StoreConfig) {}

  async record(input: z.input<typeof RecordInput>): Promise<LeftoverLab> {
    const { workerId, cmlLabId, sessionId, by } = validateInput(RecordInput, input);
    const lab: LeftoverLab = {
      workerId,
      cmlLabId,
      sessionId,
      recordedAt: nowIso(this.cfg.clock),
      recordedBy: by,
      attempts: 0,
    };
    try {
      await this.cfg.client.send(
        new PutCommand({
          TableName: this.cfg.tableName,
          Item: {
            ...keys.leftoverLab(workerId, cmlLabId),
            ...keys.leftoverLabListing(workerId, cmlLabId),
            entity: ENTITY.leftoverLab,
            ...lab,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return lab;
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      const existing = (await this.listByWorker(workerId)).find((l) => l.cmlLabId === cmlLabId);
      return existing ?? lab;
    }
  }

  async listAll(): Promise<LeftoverLab[]> {
    const items = await queryAll(this.cfg.client, this.cfg.tableName, {
      index: 'GSI2',
      pk: keys.leftoverLabListingPartition,
    });
    return items.map((i) => parseItem(LeftoverLabSchema, i));
  }

  async listByWorker(workerId: string): Promise<LeftoverLab[]> {
    const items = await queryAll(this.cfg.client, this.cfg.tableName, {
      pk: keys.worker(workerId).PK,
      sk: { beginsWith: keys.leftoverLabPrefix },
      consistent: true,
    });
    return items.map((i) => parseItem(LeftoverLabSchema, i));
  }

  async noteAttempt(workerId: string, cmlLabId: string, error: string): Promise<void> {
    try {
      await this.cfg.client.send(
        new UpdateCommand({
          TableName: this.cfg.tableName,
          Key: keys.leftoverLab(workerId, cmlLabId),
          UpdateExpression: 'SET #a = if_not_exists(#a, :zero) + :one, #t = :t, #e = :e',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: { '#a': 'attempts', '#t': 'lastAttemptAt', '#e': 'lastError' },
          ExpressionAttributeValues: {
            ':zero': 0,
            ':one': 1,
            ':t': nowIso(this.cfg.clock),
            ':e': error.slice(0, 2000),
          },
        }),
      );
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
  }

  async remove(workerId: string, cmlLabId: string): Promise<void> {
    await this.cfg.client.send(
      new DeleteCommand({ TableName: this.cfg.tableName, Key: keys.leftoverLab(workerId, cmlLabId) }),
    );
  }
}
