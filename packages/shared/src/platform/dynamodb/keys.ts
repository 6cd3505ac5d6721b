import type { SessionStatus, WorkerStatus } from '../../kernel/index.ts';

/**
 * Key formats of the single table (docs/data-model.md documents them with examples; its test
 * checks that the table there lists every member of `keys` as rendered here). Every store, and
 * every reader that matches on a key, builds or recognises keys only through this module.
 */

/** Zero-padded so that lexical order is numeric order. */
export const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export const ENTITY = {
  worker: 'Worker',
  template: 'WorkerTemplate',
  definitionVersion: 'LabletDefinitionVersion',
  definitionLatest: 'LabletDefinition',
  session: 'LabletSession',
  userSession: 'UserSession',
  grading: 'GradingSession',
  score: 'ScoreReport',
  observation: 'ResourceObservation',
  history: 'SessionHistory',
  reservation: 'Reservation',
  portLease: 'PortLease',
  processedEvent: 'ProcessedEvent',
  scalingDecision: 'ScalingDecision',
  scalerState: 'ScalerState',
  leftoverLab: 'LeftoverLab',
  liveConnection: 'LiveConnection',
  liveSubscription: 'LiveSubscription',
  streamFailure: 'StreamFailure',
  pooledLab: 'PooledLab',
} as const;
export type EntityName = (typeof ENTITY)[keyof typeof ENTITY];

/** Partition prefixes; each format below is written once, here. */
const workerPk = (id: string) => `WORKER#${id}`;
const sessionPk = (id: string) => `SESSION#${id}`;
const definitionPk = (id: string) => `DEF#${id}`;
const SESSION_PK_PREFIX = sessionPk('');
const workerStatusPk = (status: WorkerStatus) => `WORKER#STATUS#${status}`;
const sessionStatusPk = (status: SessionStatus) => `SESSION#STATUS#${status}`;
const SESSION_LISTING = 'TYPE#LabletSession';
const sessionsOnWorkerPk = (workerId: string) => `${workerPk(workerId)}#SESSIONS`;
const observationsOfDefinitionPk = (definitionId: string) => `${definitionPk(definitionId)}#OBS`;
const SCALING = 'SCALING';
const LEFTOVER_LAB_LISTING = 'TYPE#LeftoverLab';
const POOLED_LAB_LISTING = 'TYPE#PooledLab';
const liveConnectionPk = (connectionId: string) => `LIVE#${connectionId}`;
const liveTopicPk = (topic: string) => `LIVE#TOPIC#${topic}`;
const STREAM_FAILURES = 'STREAMFAILURE';
const streamFailureStatusPk = (status: string) => `STREAMFAILURE#STATUS#${status}`;

/**
 * The partition of Powertools idempotency records (Idempotency-Key, platform/http/idempotency.ts):
 * Powertools writes PK `IDEMPOTENCY`, SK `<IDEMPOTENCY_KEY_PREFIX>#<sha256 of caller, operation, key>`.
 */
export const IDEMPOTENCY_PARTITION = 'IDEMPOTENCY';
export const IDEMPOTENCY_KEY_PREFIX = 'lcm-api';

export const keys = {
  // 1. workers
  worker: (id: string) => ({ PK: workerPk(id), SK: 'WORKER' }),
  workerByStatus: (status: WorkerStatus, id: string) => ({ GSI1PK: workerStatusPk(status), GSI1SK: id }),
  workerStatusPartition: workerStatusPk,
  workerListing: (id: string) => ({ GSI2PK: 'TYPE#Worker', GSI2SK: id }),

  // 2. templates
  template: (name: string) => ({ PK: `TEMPLATE#${name}`, SK: 'TEMPLATE' }),
  templateListing: (name: string) => ({ GSI2PK: 'TYPE#WorkerTemplate', GSI2SK: name }),

  // 3. definitions: immutable versions plus a LATEST copy written in the same transaction
  definitionPartition: definitionPk,
  definitionVersion: (id: string, version: number) => ({ PK: definitionPk(id), SK: `V#${pad(version, 8)}` }),
  definitionVersionPrefix: 'V#',
  definitionLatest: (id: string) => ({ PK: definitionPk(id), SK: 'LATEST' }),
  definitionListing: (id: string) => ({ GSI2PK: 'TYPE#LabletDefinition', GSI2SK: id }),

  // 4. sessions and their children share one partition
  sessionPartition: sessionPk,
  session: (id: string) => ({ PK: sessionPk(id), SK: 'SESSION' }),
  userSession: (id: string) => ({ PK: sessionPk(id), SK: 'USER' }),
  grading: (id: string) => ({ PK: sessionPk(id), SK: 'GRADING' }),
  score: (id: string) => ({ PK: sessionPk(id), SK: 'SCORE' }),
  observation: (id: string, observedAt: string) => ({ PK: sessionPk(id), SK: `OBS#${observedAt}` }),
  observationPrefix: 'OBS#',
  history: (id: string, at: string, seq: number) => ({ PK: sessionPk(id), SK: `HIST#${at}#${pad(seq, 4)}` }),
  historyPrefix: 'HIST#',

  // 5. sessions by status ordered by timeslot start; all sessions by start (look-ahead window)
  sessionByStatus: (status: SessionStatus, start: string, id: string) => ({
    GSI1PK: sessionStatusPk(status),
    GSI1SK: `${start}#${id}`,
  }),
  sessionStatusPartition: sessionStatusPk,
  sessionListing: (start: string, id: string) => ({ GSI2PK: SESSION_LISTING, GSI2SK: `${start}#${id}` }),
  sessionListingPartition: SESSION_LISTING,

  // 6. one item per reservation: uniqueness guard and lookup
  reservation: (reservationId: string) => ({ PK: `RESERVATION#${reservationId}`, SK: 'RESERVATION' }),

  // 7. sessions holding a placement on a worker (sparse: removed on release)
  sessionOnWorker: (workerId: string, start: string, sessionId: string) => ({
    GSI3PK: sessionsOnWorkerPk(workerId),
    GSI3SK: `${start}#${sessionId}`,
  }),
  sessionsOnWorkerPartition: sessionsOnWorkerPk,

  // 8. observations of a definition, newest first (on the observation items)
  observationOfDefinition: (definitionId: string, observedAt: string, sessionId: string) => ({
    GSI3PK: observationsOfDefinitionPk(definitionId),
    GSI3SK: `${observedAt}#${sessionId}`,
  }),
  observationsOfDefinitionPartition: observationsOfDefinitionPk,

  // 9. port leases live in the worker's partition
  portLease: (workerId: string, port: number) => ({ PK: workerPk(workerId), SK: `PORT#${pad(port, 5)}` }),
  portLeasePrefix: 'PORT#',

  // 10. processed CloudEvents (idempotency of inbound handlers), expire by TTL
  processedEvent: (source: string, id: string) => ({ PK: `EVENT#${source}#${id}`, SK: 'EVENT' }),

  // 11. scaling audit (newest first) and scaler cooldown state
  scalingPartition: SCALING,
  scalingDecision: (at: string, id: string) => ({ PK: SCALING, SK: `DECISION#${at}#${id}` }),
  scalingDecisionPrefix: 'DECISION#',
  scalerState: (scope: string) => ({ PK: SCALING, SK: `STATE#${scope}` }),

  // 13. CML labs a force-released session left on a live worker, for the health sweep to delete
  leftoverLab: (workerId: string, labId: string) => ({ PK: workerPk(workerId), SK: `LAB#${labId}` }),
  leftoverLabPrefix: 'LAB#',
  leftoverLabListing: (workerId: string, labId: string) => ({
    GSI2PK: LEFTOVER_LAB_LISTING,
    GSI2SK: `${workerId}#${labId}`,
  }),
  leftoverLabListingPartition: LEFTOVER_LAB_LISTING,

  // 14. live updates (WebSocket, issue 14): a connection and its topic subscriptions share one
  // partition (removed together on $disconnect or a gone connection), expire by TTL; the
  // subscribers of a topic are listed on GSI2 (sparse: only subscription items carry it)
  liveConnectionPartition: liveConnectionPk,
  liveConnection: (connectionId: string) => ({ PK: liveConnectionPk(connectionId), SK: 'CONNECTION' }),
  liveSubscription: (connectionId: string, topic: string) => ({
    PK: liveConnectionPk(connectionId),
    SK: `TOPIC#${topic}`,
  }),
  liveSubscriber: (topic: string, connectionId: string) => ({
    GSI2PK: liveTopicPk(topic),
    GSI2SK: connectionId,
  }),
  liveTopicPartition: liveTopicPk,

  // 15. stream records a consumer gave up on (AWS: pulled from the on-failure queues; issue 11,
  // item 5), oldest first by their time-ordered id; by status on GSI1
  streamFailurePartition: STREAM_FAILURES,
  streamFailure: (id: string) => ({ PK: STREAM_FAILURES, SK: id }),
  streamFailureByStatus: (status: string, id: string) => ({
    GSI1PK: streamFailureStatusPk(status),
    GSI1SK: id,
  }),
  streamFailureStatusPartition: streamFailureStatusPk,
  // 16. hot-start pools (issue 15, item 3): one item per pooled lab, listed on GSI2 by definition
  pooledLab: (id: string) => ({ PK: `POOLLAB#${id}`, SK: 'POOLLAB' }),
  pooledLabListing: (definitionId: string, id: string) => ({
    GSI2PK: POOLED_LAB_LISTING,
    GSI2SK: `${definitionId}#${id}`,
  }),
  pooledLabListingPartition: POOLED_LAB_LISTING,

  // 12. Idempotency-Key records (written by Powertools, not by a store), expire by TTL
  idempotencyPartition: IDEMPOTENCY_PARTITION,
  /** Powertools' key prefix: SK = `<prefix>#<hash>`. */
  idempotencyKeyPrefix: IDEMPOTENCY_KEY_PREFIX,
} as const;

/** The session id of a partition key in a session's partition (`SESSION#<id>`); undefined for any other. */
export const sessionIdOfPartition = (pk: string): string | undefined =>
  pk.startsWith(SESSION_PK_PREFIX) ? pk.slice(SESSION_PK_PREFIX.length) : undefined;
