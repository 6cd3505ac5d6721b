import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ENTITY, type Item, keys, queryAll, type StoreConfig, TABLE } from '../platform/index.ts';
import {
  LIVE_CONNECTION_TTL_SECONDS,
  type LiveConnection,
  type LiveStore,
  type LiveSubscriber,
} from './live.ts';
import { ROLES, type Role } from './roles.ts';

/**
 * Access pattern 14 (docs/data-model.md): WebSocket connections and their topic subscriptions.
 * A connection's item and its subscriptions share the partition `LIVE#<connectionId>`, so
 * $disconnect (or a gone connection found by the broadcaster) removes them with one query; each
 * subscription also carries GSI2 `LIVE#TOPIC#<topic>` / `<connectionId>`, the subscribers of a
 * topic. Every item expires by TTL (a connection lives at most 2 h in API Gateway), so a
 * connection whose $disconnect never ran does not stay. Who is on the connection (sub, roles,
 * tenant) is copied onto each subscription: the broadcaster reads one index query per topic.
 */
export class DynamoLiveStore implements LiveStore {
  constructor(private readonly cfg: StoreConfig) {}

  private now(): Date {
    return this.cfg.clock ? this.cfg.clock() : new Date();
  }

  private expiresAt(): number {
    return Math.floor(this.now().getTime() / 1000) + LIVE_CONNECTION_TTL_SECONDS;
  }

  async putConnection(c: LiveConnection): Promise<void> {
    await this.cfg.client.send(
      new PutCommand({
        TableName: this.cfg.tableName,
        Item: {
          ...keys.liveConnection(c.connectionId),
          [TABLE.entityAttribute]: ENTITY.liveConnection,
          ...connectionAttributes(c),
          [TABLE.ttlAttribute]: this.expiresAt(),
        },
      }),
    );
  }

  async getConnection(connectionId: string): Promise<LiveConnection | undefined> {
    const out = await this.cfg.client.send(
      new GetCommand({
        TableName: this.cfg.tableName,
        Key: keys.liveConnection(connectionId),
        ConsistentRead: true,
      }),
    );
    const item = out.Item as Item | undefined;
    if (!item) return undefined;
    const expiresAt = item[TABLE.ttlAttribute];
    // TTL deletes lazily: an expired connection counts as absent.
    if (typeof expiresAt === 'number' && expiresAt * 1000 < this.now().getTime()) return undefined;
    return connectionOf(item);
  }

  async subscribe(c: LiveConnection, topic: string): Promise<void> {
    await this.cfg.client.send(
      new PutCommand({
        TableName: this.cfg.tableName,
        Item: {
          ...keys.liveSubscription(c.connectionId, topic),
          ...keys.liveSubscriber(topic, c.connectionId),
          [TABLE.entityAttribute]: ENTITY.liveSubscription,
          topic,
          ...connectionAttributes(c),
          [TABLE.ttlAttribute]: this.expiresAt(),
        },
      }),
    );
  }

  async unsubscribe(connectionId: string, topic: string): Promise<void> {
    await this.cfg.client.send(
      new DeleteCommand({ TableName: this.cfg.tableName, Key: keys.liveSubscription(connectionId, topic) }),
    );
  }

  async subscribers(topic: string): Promise<LiveSubscriber[]> {
    const items = await queryAll(this.cfg.client, this.cfg.tableName, {
      index: 'GSI2',
      pk: keys.liveTopicPartition(topic),
    });
    const now = this.now().getTime();
    return items
      .filter(
        (i) => typeof i[TABLE.ttlAttribute] !== 'number' || (i[TABLE.ttlAttribute] as number) * 1000 >= now,
      )
      .map(connectionOf);
  }

  async removeConnection(connectionId: string): Promise<void> {
    const items = await queryAll(this.cfg.client, this.cfg.tableName, {
      pk: keys.liveConnectionPartition(connectionId),
      consistent: true,
    });
    await Promise.all(
      items.map((i) =>
        this.cfg.client.send(
          new DeleteCommand({
            TableName: this.cfg.tableName,
            Key: { [TABLE.partitionKey]: i[TABLE.partitionKey], [TABLE.sortKey]: i[TABLE.sortKey] },
          }),
        ),
      ),
    );
  }
}

const connectionAttributes = (c: LiveConnection): Item => ({
  connectionId: c.connectionId,
  sub: c.sub,
  roles: [...c.roles],
  tenant: c.tenant,
  connectedAt: c.connectedAt,
});

function connectionOf(item: Item): LiveConnection {
  const roles = Array.isArray(item.roles) ? (item.roles as unknown[]) : [];
  return {
    connectionId: String(item.connectionId),
    sub: String(item.sub),
    roles: roles.filter((r): r is Role => (ROLES as readonly unknown[]).includes(r)),
    tenant: String(item.tenant),
    connectedAt: String(item.connectedAt),
  };
}
