import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { type PortLease, PortLeaseSchema } from '../../kernel/index.ts';
import { isConditionFailed, keys, parseItem, queryAll, type StoreConfig } from '../../platform/index.ts';

/**
 * Access pattern 9: the port leases of a worker (items `WORKER#<id> / PORT#<port>` in the
 * worker's partition). Leases are written and deleted by the placement transactions; a drained
 * worker gives back the leases it still holds (a session that died without its teardown) with
 * deleteLeases.
 */
export interface PortLeaseStore {
  /** Every lease on the worker, ordered by port (strongly consistent). */
  listByWorker(workerId: string): Promise<PortLease[]>;
  /** Deletes each lease unless it was re-taken by another session meanwhile; returns how many went. */
  deleteLeases(workerId: string, leases: readonly PortLease[]): Promise<number>;
}

export class DynamoPortLeaseStore implements PortLeaseStore {
  constructor(private readonly cfg: StoreConfig) {}

  async listByWorker(workerId: string): Promise<PortLease[]> {
    const items = await queryAll(this.cfg.client, this.cfg.tableName, {
      pk: keys.worker(workerId).PK,
      sk: { beginsWith: keys.portLeasePrefix },
      consistent: true,
    });
    return items.map((i) => parseItem(PortLeaseSchema, i));
  }

  async deleteLeases(workerId: string, leases: readonly PortLease[]): Promise<number> {
    let deleted = 0;
    for (const lease of leases) {
      try {
        await this.cfg.client.send(
          new DeleteCommand({
            TableName: this.cfg.tableName,
            Key: keys.portLease(workerId, lease.port),
            ConditionExpression: 'sessionId = :sid',
            ExpressionAttributeValues: { ':sid': lease.sessionId },
          }),
        );
        deleted++;
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
      }
    }
    return deleted;
  }
}
