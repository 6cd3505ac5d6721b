import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { PortLease } from '../../domain/schemas.ts';
import { isConditionFailed, type StoreConfig } from '../../persistence/dynamo.ts';
import { keys } from '../../persistence/keys.ts';

/**
 * Clearing the port leases a drained worker still holds. Leases are normally deleted by the
 * release transaction of their session; one left on a worker with no active session is a leak
 * (a session that died without its teardown), and a drained worker gives it back before it
 * stops or terminates.
 *
 * TODO(persistence owner): this belongs in PortLeaseStore (`deleteLeases(workerId, leases)`);
 * it lives here until that method exists so the drain does not write around the stores.
 */
export interface LeaseCleaner {
  /** Deletes each lease unless it was re-taken by another session meanwhile; returns how many went. */
  deleteLeases(workerId: string, leases: readonly PortLease[]): Promise<number>;
}

export class DynamoLeaseCleaner implements LeaseCleaner {
  constructor(private readonly cfg: StoreConfig) {}

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
