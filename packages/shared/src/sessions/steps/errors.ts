import type { AslErrorHandling } from '../../fleet/index.ts';
import { type FailureReason, VersionConflictError } from '../../kernel/index.ts';
import { IntegrationError } from '../../platform/index.ts';

/**
 * Errors the session workflow's tasks throw, by name. A Lambda error's `errorType` is the
 * error's `name`, which is what the state machine's Retry/Catch `ErrorEquals` match, so these
 * names are part of the contract with statemachines/session-lifecycle.asl.json.
 */

export const WORKFLOW_ERRORS = {
  /** Termination was requested; the workflow tears down (reason TERMINATED). */
  terminated: 'Terminated',
  /** Nothing fits and the timeslot is lost (reason NO_CAPACITY). */
  noCapacity: 'NoCapacity',
  /** The import failed in a way that may pass on a retry (5xx, network, timeout). */
  cmlImportFailed: 'CmlImportFailed',
  /** CML refused the topology (4xx) or there is nothing to import: retrying will not help. */
  cmlImportRejected: 'CmlImportRejected',
  /** The imported lab could not be started in a way that may pass on a retry (5xx, network, timeout). */
  cmlStartFailed: 'CmlStartFailed',
  /** CML refused to start the imported lab (4xx): retrying will not help. */
  cmlStartRejected: 'CmlStartRejected',
  /** The lab did not converge before its boot deadline. */
  cmlBootTimeout: 'CmlBootTimeout',
  /** LDS could not be reached or answered 5xx. */
  ldsUnavailable: 'LdsUnavailable',
  /** LDS refused the session or devices (4xx), or the definition has no LDS part. */
  ldsRejected: 'LdsRejected',
  /** The Grading Engine could not take the submission. */
  gradingUnavailable: 'GradingUnavailable',
  /** The Grading Engine reported a failed grading (the GRADING wait's task failure). */
  gradingFailed: 'GradingFailed',
  /** A dependency failed in a way a retry may fix (DynamoDB races, 5xx, network). */
  transient: 'Transient',
} as const;
export type WorkflowErrorName = (typeof WORKFLOW_ERRORS)[keyof typeof WORKFLOW_ERRORS];

/**
 * What statemachines/session-lifecycle.asl.json does with each name (raised-only ones end in the
 * catch-all and `reasonForError` tells them apart); test/workflows/error-names.test.ts checks it
 * against the ASL both ways: every name the ASL matches is here, each entry is handled as said.
 */
export const WORKFLOW_ERROR_HANDLING: Readonly<Record<WorkflowErrorName, AslErrorHandling>> = {
  // Caught by ObserveLab (best effort: any other error goes on to grading, a termination tears down).
  Terminated: 'caught',
  NoCapacity: 'raised-only',
  CmlImportFailed: 'retried',
  CmlImportRejected: 'raised-only',
  CmlStartFailed: 'retried',
  CmlStartRejected: 'raised-only',
  CmlBootTimeout: 'raised-only',
  LdsUnavailable: 'retried',
  LdsRejected: 'raised-only',
  GradingUnavailable: 'retried',
  GradingFailed: 'raised-only',
  Transient: 'retried',
};

/** Failure reasons: one list, kernel/enums.ts (the session schema and the API document enumerate it). */
export { FAILURE_REASONS, type FailureReason } from '../../kernel/index.ts';

/** An error with the name the workflow matches on. `detail` goes into the history entry. */
export class WorkflowTaskError extends Error {
  constructor(name: WorkflowErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

export const terminatedError = (sessionId: string, reason?: string): WorkflowTaskError =>
  new WorkflowTaskError(
    WORKFLOW_ERRORS.terminated,
    `session ${sessionId}: termination requested${reason ? ` (${reason})` : ''}`,
  );

/** The failure reason for an error the workflow caught (its `Error` name). */
export function reasonForError(errorName: string | undefined): FailureReason {
  switch (errorName) {
    case WORKFLOW_ERRORS.terminated:
      return 'TERMINATED';
    case WORKFLOW_ERRORS.noCapacity:
      return 'NO_CAPACITY';
    case WORKFLOW_ERRORS.cmlImportFailed:
    case WORKFLOW_ERRORS.cmlImportRejected:
      return 'CML_IMPORT_FAILED';
    case WORKFLOW_ERRORS.cmlStartFailed:
    case WORKFLOW_ERRORS.cmlStartRejected:
      return 'CML_START_FAILED';
    case WORKFLOW_ERRORS.cmlBootTimeout:
      return 'CML_BOOT_TIMEOUT';
    case WORKFLOW_ERRORS.ldsUnavailable:
      return 'LDS_UNAVAILABLE';
    case WORKFLOW_ERRORS.ldsRejected:
      return 'LDS_REJECTED';
    case WORKFLOW_ERRORS.gradingUnavailable:
      return 'GRADING_UNAVAILABLE';
    case WORKFLOW_ERRORS.gradingFailed:
      return 'GRADING_FAILED';
    default:
      return 'WORKFLOW_ERROR';
  }
}

/**
 * An integration failure as a workflow error: retryable ones (5xx, 429, network, timeout) get
 * `transientName` (retried by the state machine), others `permanentName`.
 */
export function integrationFailure(
  e: unknown,
  transientName: WorkflowErrorName,
  permanentName: WorkflowErrorName,
  what: string,
): unknown {
  if (e instanceof WorkflowTaskError) return e;
  if (e instanceof IntegrationError) {
    return new WorkflowTaskError(e.retryable ? transientName : permanentName, `${what}: ${e.message}`, {
      cause: e,
    });
  }
  return e;
}

/**
 * The error a task handler reports: workflow errors keep their name; a lost optimistic-lock race
 * or a retryable integration failure becomes `Transient` (the state machine retries it); any
 * other error keeps its own name (it ends in the catch-all, reason WORKFLOW_ERROR).
 */
export function toWorkflowError(e: unknown): Error {
  if (e instanceof WorkflowTaskError) return e;
  if (e instanceof VersionConflictError) {
    return new WorkflowTaskError(WORKFLOW_ERRORS.transient, e.message, { cause: e });
  }
  if (e instanceof IntegrationError && e.retryable) {
    return new WorkflowTaskError(WORKFLOW_ERRORS.transient, e.message, { cause: e });
  }
  const name = (e as { name?: unknown } | undefined)?.name;
  if (isThrottleOrNetwork(typeof name === 'string' ? name : '')) {
    return new WorkflowTaskError(WORKFLOW_ERRORS.transient, (e as Error).message, { cause: e });
  }
  return e instanceof Error ? e : new Error(String(e));
}

const TRANSIENT_SDK_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
]);

function isThrottleOrNetwork(name: string): boolean {
  return TRANSIENT_SDK_ERRORS.has(name);
}

/**
 * The detail of a caught error as Step Functions hands it over: `Cause` is the Lambda error
 * JSON (`{"errorType","errorMessage",...}`) for task failures, or the plain cause string of
 * SendTaskFailure. Returns a short message either way.
 */
export function causeMessage(cause: unknown): string | undefined {
  if (typeof cause !== 'string' || cause === '') return undefined;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (parsed && typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // a plain string
  }
  return cause;
}
