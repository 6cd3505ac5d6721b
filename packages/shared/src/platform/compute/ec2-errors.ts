import { ComputeError, type ComputeErrorCode } from './provider.ts';

/** EC2 error names by what they mean to the workflows. */
const ERROR_CODES: Record<string, ComputeErrorCode> = {
  'InvalidAMIID.NotFound': 'IMAGE_NOT_FOUND',
  'InvalidAMIID.Malformed': 'IMAGE_NOT_FOUND',
  'InvalidAMIID.Unavailable': 'IMAGE_NOT_FOUND',
  InsufficientInstanceCapacity: 'INSUFFICIENT_CAPACITY',
  InsufficientHostCapacity: 'INSUFFICIENT_CAPACITY',
  InsufficientCapacity: 'INSUFFICIENT_CAPACITY',
  InstanceLimitExceeded: 'LIMIT_EXCEEDED',
  VcpuLimitExceeded: 'LIMIT_EXCEEDED',
  MaxSpotInstanceCountExceeded: 'LIMIT_EXCEEDED',
  'InvalidInstanceID.NotFound': 'INSTANCE_NOT_FOUND',
  'InvalidInstanceID.Malformed': 'INSTANCE_NOT_FOUND',
  IncorrectInstanceState: 'INCORRECT_STATE',
  RequestLimitExceeded: 'TRANSIENT',
  Throttling: 'TRANSIENT',
  ThrottlingException: 'TRANSIENT',
  InternalError: 'TRANSIENT',
  InternalFailure: 'TRANSIENT',
  ServiceUnavailable: 'TRANSIENT',
  Unavailable: 'TRANSIENT',
};

export const errorName = (e: unknown): string =>
  (e as { name?: string; Code?: string }).name ?? (e as { Code?: string }).Code ?? 'Error';

/** Maps an SDK error to a ComputeError (unknown 5xx → TRANSIENT, other unknowns → INVALID_REQUEST). */
export function toComputeError(e: unknown, operation: string): ComputeError {
  if (e instanceof ComputeError) return e;
  const name = errorName(e);
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const fault = (e as { $fault?: string }).$fault;
  const code: ComputeErrorCode =
    ERROR_CODES[name] ??
    (fault === 'server' || (status !== undefined && status >= 500) || status === undefined
      ? 'TRANSIENT'
      : 'INVALID_REQUEST');
  const message = (e as { message?: string }).message ?? String(e);
  return new ComputeError(code, `${operation}: ${name}: ${message}`, { providerCode: name, cause: e });
}
