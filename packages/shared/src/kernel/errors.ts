/**
 * Typed domain errors. The API maps each `code` to an HTTP status (problem+json);
 * workflows map them to failure reasons. No AWS imports here.
 */
export type DomainErrorCode =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'INVALID_TRANSITION'
  | 'VERSION_CONFLICT'
  | 'DUPLICATE'
  | 'CONFLICT'
  | 'NO_CAPACITY'
  | 'CAPACITY_FULL'
  | 'EXTENSION_NOT_ALLOWED'
  | 'UNPROCESSABLE'
  | 'TOPOLOGY_INVALID'
  | 'POD_TYPE_INDETERMINATE';

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: DomainErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** A value is out of its domain; `field` names it (dotted path). */
export class ValidationError extends DomainError {
  readonly field: string;
  constructor(field: string, message: string, details: Record<string, unknown> = {}) {
    super('VALIDATION', `${field}: ${message}`, { field, ...details });
    this.field = field;
  }
}

export class NotFoundError extends DomainError {
  constructor(entity: string, id: string) {
    super('NOT_FOUND', `${entity} ${id} not found`, { entity, id });
  }
}

export class InvalidTransitionError extends DomainError {
  readonly entity: string;
  readonly from: string;
  readonly to: string;
  constructor(entity: string, from: string, to: string) {
    super('INVALID_TRANSITION', `${entity} cannot go from ${from} to ${to}`, { entity, from, to });
    this.entity = entity;
    this.from = from;
    this.to = to;
  }
}

/**
 * A conditional write lost a race (version or status changed underneath). Callers may
 * re-read and retry; nothing was written.
 */
export class VersionConflictError extends DomainError {
  constructor(entity: string, id: string, reason = 'the item changed concurrently') {
    super('VERSION_CONFLICT', `${entity} ${id}: ${reason}`, { entity, id, retryable: true });
  }
}

export class DuplicateError extends DomainError {
  constructor(entity: string, id: string, details: Record<string, unknown> = {}) {
    super('DUPLICATE', `${entity} ${id} already exists`, { entity, id, ...details });
  }
}

/** A state conflict that is not a plain transition error (e.g. template still in use). */
export class ConflictError extends DomainError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('CONFLICT', message, details);
  }
}

/**
 * Well-formed input that cannot be served as it stands (e.g. a booking no enabled template can
 * ever hold): each reason names the field or dimension it is about.
 */
export class UnprocessableError extends DomainError {
  readonly fieldErrors: readonly { path: string; message: string }[];
  constructor(
    message: string,
    fieldErrors: readonly { path: string; message: string }[],
    details: Record<string, unknown> = {},
  ) {
    super('UNPROCESSABLE', message, details);
    this.fieldErrors = fieldErrors;
  }
}

/**
 * A booking that would overflow the capacity book (issue 10, item 3): with it, the sessions holding
 * capacity at `firstOverflow` (the first minute that overflows) need more than `maxWorkers` hosts.
 * An operator or admin may force it.
 */
export class CapacityFullError extends DomainError {
  constructor(message: string, details: Record<string, unknown> & { firstOverflow: string }) {
    super('CAPACITY_FULL', message, details);
  }
}

/**
 * A session extension its definition does not allow (issue 15, item 1): extensions are off
 * (`maxExtensionMinutes` 0), or the new length passes `maxExtensionMinutes` or
 * `maxDurationMinutes`; `details.limit` names which.
 */
export class ExtensionNotAllowedError extends DomainError {
  constructor(message: string, details: Record<string, unknown> & { limit: string }) {
    super('EXTENSION_NOT_ALLOWED', message, details);
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
