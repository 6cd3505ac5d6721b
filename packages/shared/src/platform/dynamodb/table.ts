/**
 * The single table's key schema: read by the repositories, by the CDK data stack and by the
 * local runtime when it creates the table. One definition, no copies.
 */
export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey: string;
}

export const TABLE = {
  partitionKey: 'PK',
  sortKey: 'SK',
  ttlAttribute: 'expiresAt',
  /** Attribute written by every item: the entity type, used when streams route changes. */
  entityAttribute: 'entity',
  indexes: [
    /** Status indexes: workers by status, sessions by status ordered by timeslot start. */
    { indexName: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' },
    /** Type listings: all workers, templates, definitions (latest), sessions by timeslot start. */
    { indexName: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK' },
    /** Relations: active sessions on a worker, observations of a definition newest first. */
    { indexName: 'GSI3', partitionKey: 'GSI3PK', sortKey: 'GSI3SK' },
  ] as const satisfies readonly IndexDefinition[],
} as const;

export type IndexName = (typeof TABLE.indexes)[number]['indexName'];

/** Default table name; stages suffix it (lcm-<stage>). */
export const tableNameFor = (stage: string): string => `lcm-${stage}`;
