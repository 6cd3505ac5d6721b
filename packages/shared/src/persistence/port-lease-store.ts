import { type PortLease, PortLeaseSchema } from '../domain/schemas.ts';
import { parseItem, queryAll, type StoreConfig } from './dynamo.ts';
import { keys } from './keys.ts';

/**
 * Access pattern 9: the port leases of a worker (items `WORKER#<id> / PORT#<port>` in the
 * worker's partition). Leases are written and deleted only by the placement transactions.
 */
export interface PortLeaseStore {
  /** Every lease on the worker, ordered by port (strongly consistent). */
  listByWorker(workerId: string): Promise<PortLease[]>;
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
}
