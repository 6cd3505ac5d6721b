/** Enumerations shared by the domain, persistence and the API (single source of truth). */

export const WORKER_STATUSES = [
  'PENDING',
  'PROVISIONING',
  'STARTING',
  'RUNNING',
  'DRAINING',
  'STOPPING',
  'STOPPED',
  'SHUTTING_DOWN',
  'TERMINATED',
  'FAILED',
] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

export const SESSION_STATUSES = [
  'PENDING',
  'SCHEDULED',
  'INSTANTIATING',
  'READY',
  'RUNNING',
  'COLLECTING',
  'GRADING',
  'STOPPING',
  'STOPPED',
  'ARCHIVED',
  'TERMINATED',
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const SERVICE_STATUSES = ['UNAVAILABLE', 'STARTING', 'AVAILABLE', 'ERROR'] as const;
export type ServiceStatus = (typeof SERVICE_STATUSES)[number];

export const LICENSE_TYPES = ['PERSONAL', 'ENTERPRISE', 'EVALUATION'] as const;
export type LicenseType = (typeof LICENSE_TYPES)[number];

export const LICENSE_STATUSES = ['UNREGISTERED', 'REGISTERED', 'EVALUATION', 'EXPIRED', 'INVALID'] as const;
export type LicenseStatus = (typeof LICENSE_STATUSES)[number];

/**
 * How a worker's licence deregistration before its stop or termination went: DEREGISTERED (CML
 * answered 204), LOCAL_ONLY (202: deregistered on the host only, Cisco not told), FAILED.
 */
export const LICENSE_DEREGISTRATION_OUTCOMES = ['DEREGISTERED', 'LOCAL_ONLY', 'FAILED'] as const;
export type LicenseDeregistrationOutcome = (typeof LICENSE_DEREGISTRATION_OUTCOMES)[number];

export const POD_TYPES = ['CML_ON_AWS', 'ROC_RADKIT', 'PROXMOX', 'VMWARE'] as const;
export type PodType = (typeof POD_TYPES)[number];

/**
 * How a worker's instance gives CML hardware virtualisation: `metal` (a bare-metal type) or
 * `nested` (a type offering nested virtualisation, launched with it enabled).
 */
export const VIRTUALISATIONS = ['metal', 'nested'] as const;
export type Virtualisation = (typeof VIRTUALISATIONS)[number];

export const DEFINITION_STATUSES = ['ACTIVE', 'DEPRECATED', 'ARCHIVED'] as const;
export type DefinitionStatus = (typeof DEFINITION_STATUSES)[number];

export const SYNC_STATUSES = ['NONE', 'PENDING', 'SYNCING', 'SUCCEEDED', 'FAILED'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export const USER_SESSION_STATUSES = ['PROVISIONED', 'ACTIVE', 'PAUSED', 'ENDED', 'ARCHIVED'] as const;
export type UserSessionStatus = (typeof USER_SESSION_STATUSES)[number];

export const GRADING_STATUSES = ['PENDING', 'SUBMITTED', 'COMPLETED', 'FAULTED'] as const;
export type GradingStatus = (typeof GRADING_STATUSES)[number];

/** Kinds of console/forwarded port, from PATty node tags (cml-api.md §7). */
export const PORT_KINDS = ['serial', 'vnc', 'tcp', 'udp'] as const;
export type PortKind = (typeof PORT_KINDS)[number];

/**
 * Why a session ended early, stored on the session (`failureReason`) by its teardown and
 * published with `session.status-changed`; absent when it completed. Produced by the session
 * workflow (sessions/steps/errors.ts `reasonForError`, teardown.ts), the stuck-session sweep
 * (WORKFLOW_ERROR) and the bounded teardown (TEARDOWN_FAILED).
 */
export const FAILURE_REASONS = [
  'NO_CAPACITY',
  'NO_SHOW',
  'TERMINATED',
  'CML_IMPORT_FAILED',
  'CML_START_FAILED',
  'CML_BOOT_TIMEOUT',
  'CML_UNAVAILABLE',
  'LDS_UNAVAILABLE',
  'LDS_REJECTED',
  'COLLECTION_FAILED',
  'GRADING_UNAVAILABLE',
  'GRADING_FAILED',
  'GRADING_TIMEOUT',
  'WORKFLOW_ERROR',
  /** The teardown could not finish within lifecycle.teardownTimeoutSeconds (the session's teardownFailure says what was left). */
  'TEARDOWN_FAILED',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];
