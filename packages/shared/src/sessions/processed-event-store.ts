import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../kernel/index.ts';
import { ENTITY, isConditionFailed, keys, type StoreConfig, TABLE } from '../platform/index.ts';

/**
 * Access pattern 10: inbound CloudEvents already handled, keyed by (source, id) and expiring
 * by TTL. Handlers call markProcessed first and skip the event when it returns false.
 */
export interface ProcessedEventStore {
  /** true the first time (source, id) is seen within ttlSeconds, false on a repeat. */
  markProcessed(source: string, id: string, ttlSeconds: number): Promise<boolean>;
  /**
   * Forgets the (source, id) claim written by markProcessed, so a delivery retried after a
   * transient failure is handled again.
   */
  release(source: string, id: string): Promise<void>;
}

export class DynamoProcessedEventStore implements ProcessedEventStore {
  constructor(private readonly cfg: StoreConfig) {}

  async markProcessed(source: string, id: string, ttlSeconds: number): Promise<boolean> {
    if (!source) throw new ValidationError('source', 'must not be empty');
    if (!id) throw new ValidationError('id', 'must not be empty');
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
      throw new ValidationError('ttlSeconds', `must be an integer >= 1, got ${String(ttlSeconds)}`);
    }
    const now = (this.cfg.clock ? this.cfg.clock() : new Date()).getTime();
    const nowSeconds = Math.floor(now / 1000);
    try {
      await this.cfg.client.send(
        new PutCommand({
          TableName: this.cfg.tableName,
          Item: {
            ...keys.processedEvent(source, id),
            [TABLE.entityAttribute]: ENTITY.processedEvent,
            source,
            id,
            processedAt: new Date(now).toISOString(),
            [TABLE.ttlAttribute]: nowSeconds + ttlSeconds,
          },
          // TTL deletes lazily (up to days later in AWS): an expired marker counts as absent.
          ConditionExpression: 'attribute_not_exists(PK) OR #ttl < :now',
          ExpressionAttributeNames: { '#ttl': TABLE.ttlAttribute },
          ExpressionAttributeValues: { ':now': nowSeconds },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  async release(source: string, id: string): Promise<void> {
    await this.cfg.client.send(
      new DeleteCommand({ TableName: this.cfg.tableName, Key: keys.processedEvent(source, id) }),
    );
  }
}
