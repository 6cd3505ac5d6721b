import type { SessionStatus, WorkerStatus } from '../../kernel/index.ts';

/**
 * Key formats of the single table (docs/data-model.md documents them with examples).
 * Every repository builds keys only through these functions.
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
} as const;
export type EntityName = (typeof ENTITY)[keyof typeof ENTITY];

export const keys = {
  // 1. workers
  worker: (id: string) => ({ PK: `WORKER#${id}`, SK: 'WORKER' }),
  workerByStatus: (status: WorkerStatus, id: string) => ({ GSI1PK: `WORKER#STATUS#${status}`, GSI1SK: id }),
  workerStatusPartition: (status: WorkerStatus) => `WORKER#STATUS#${status}`,
  workerListing: (id: string) => ({ GSI2PK: 'TYPE#Worker', GSI2SK: id }),

  // 2. templates
  template: (name: string) => ({ PK: `TEMPLATE#${name}`, SK: 'TEMPLATE' }),
  templateListing: (name: string) => ({ GSI2PK: 'TYPE#WorkerTemplate', GSI2SK: name }),

  // 3. definitions: immutable versions plus a LATEST copy written in the same transaction
  definitionPartition: (id: string) => `DEF#${id}`,
  definitionVersion: (id: string, version: number) => ({ PK: `DEF#${id}`, SK: `V#${pad(version, 8)}` }),
  definitionVersionPrefix: 'V#',
  definitionLatest: (id: string) => ({ PK: `DEF#${id}`, SK: 'LATEST' }),
  definitionListing: (id: string) => ({ GSI2PK: 'TYPE#LabletDefinition', GSI2SK: id }),

  // 4. sessions and their children share one partition
  sessionPartition: (id: string) => `SESSION#${id}`,
  session: (id: string) => ({ PK: `SESSION#${id}`, SK: 'SESSION' }),
  userSession: (id: string) => ({ PK: `SESSION#${id}`, SK: 'USER' }),
  grading: (id: string) => ({ PK: `SESSION#${id}`, SK: 'GRADING' }),
  score: (id: string) => ({ PK: `SESSION#${id}`, SK: 'SCORE' }),
  observation: (id: string, observedAt: string) => ({ PK: `SESSION#${id}`, SK: `OBS#${observedAt}` }),
  history: (id: string, at: string, seq: number) => ({
    PK: `SESSION#${id}`,
    SK: `HIST#${at}#${pad(seq, 4)}`,
  }),

  // 5. sessions by status ordered by timeslot start; all sessions by start (look-ahead window)
  sessionByStatus: (status: SessionStatus, start: string, id: string) => ({
    GSI1PK: `SESSION#STATUS#${status}`,
    GSI1SK: `${start}#${id}`,
  }),
  sessionStatusPartition: (status: SessionStatus) => `SESSION#STATUS#${status}`,
  sessionListing: (start: string, id: string) => ({ GSI2PK: 'TYPE#LabletSession', GSI2SK: `${start}#${id}` }),
  sessionListingPartition: 'TYPE#LabletSession',

  // 6. one item per reservation: uniqueness guard and lookup
  reservation: (reservationId: string) => ({ PK: `RESERVATION#${reservationId}`, SK: 'RESERVATION' }),

  // 7. sessions holding a placement on a worker (sparse: removed on release)
  sessionOnWorker: (workerId: string, start: string, sessionId: string) => ({
    GSI3PK: `WORKER#${workerId}#SESSIONS`,
    GSI3SK: `${start}#${sessionId}`,
  }),
  sessionsOnWorkerPartition: (workerId: string) => `WORKER#${workerId}#SESSIONS`,

  // 8. observations of a definition, newest first (on the observation items)
  observationOfDefinition: (definitionId: string, observedAt: string, sessionId: string) => ({
    GSI3PK: `DEF#${definitionId}#OBS`,
    GSI3SK: `${observedAt}#${sessionId}`,
  }),
  observationsOfDefinitionPartition: (definitionId: string) => `DEF#${definitionId}#OBS`,

  // 9. port leases live in the worker's partition
  portLease: (workerId: string, port: number) => ({ PK: `WORKER#${workerId}`, SK: `PORT#${pad(port, 5)}` }),
  portLeasePrefix: 'PORT#',

  // 10. processed CloudEvents (idempotency of inbound handlers), expire by TTL
  processedEvent: (source: string, id: string) => ({ PK: `EVENT#${source}#${id}`, SK: 'EVENT' }),

  // 11. scaling audit (newest first) and scaler cooldown state
  scalingPartition: 'SCALING',
  scalingDecision: (at: string, id: string) => ({ PK: 'SCALING', SK: `DECISION#${at}#${id}` }),
  scalingDecisionPrefix: 'DECISION#',
  scalerState: (scope: string) => ({ PK: 'SCALING', SK: `STATE#${scope}` }),
} as const;
