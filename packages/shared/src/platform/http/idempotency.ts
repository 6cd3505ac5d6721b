import { RequestValidationError } from './errors.ts';

/**
 * The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header) for POST
 * commands, with Powertools idempotency on the single table:
 *
 * - the record key is a SHA-256 of (caller sub, operationId, header value), so one caller's key
 *   never replays another caller's reply and one key may be reused across operations;
 * - the record also stores a hash of the request (path parameters, query and parsed JSON body):
 *   the same key with a different request is a 422;
 * - while the first request runs, a repeat is a 409 with Retry-After (the in-progress mark lasts
 *   at most the Lambda's remaining time, so a crashed invocation does not block the key);
 * - a 2xx reply is stored for 24 h and a repeat gets it back with `Idempotency-Replayed: true`;
 *   errors are not stored (the record is deleted), so a corrected retry runs again.
 *
 * Items: PK `IDEMPOTENCY`, SK `lcm-api#<hash>` (the key formats in dynamodb/keys.ts, documented
 * in docs/data-model.md), `expiresAt` is the table's TTL attribute. They carry no `entity`
 * attribute, so stream consumers that route by entity ignore them.
 *
 * This module parses the header; running a command once is http/idempotent-run.ts
 * (`runIdempotent`), apart so that a bundle which never runs an idempotent operation carries no
 * Powertools idempotency layer (the API group handlers pass it to `operationsHandler`).
 */

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotency-replayed';
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
const MAX_KEY_LENGTH = 255;

/**
 * The header's value, or undefined when absent. A structured-field string (`"abc"`, as the draft
 * specifies) is unquoted; a plain token (`abc`, what most clients send) is taken as it is. Empty,
 * over 255 characters or non-printable values are a 400.
 */
export function idempotencyKeyOf(
  headers: Record<string, string | undefined> | undefined,
): string | undefined {
  if (!headers) return undefined;
  let raw = headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) {
    const name = Object.keys(headers).find((k) => k.toLowerCase() === IDEMPOTENCY_HEADER);
    raw = name === undefined ? undefined : headers[name];
  }
  if (raw === undefined) return undefined;
  let key = raw.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
  const problem =
    key === ''
      ? 'must not be empty'
      : key.length > MAX_KEY_LENGTH
        ? `must be at most ${MAX_KEY_LENGTH} characters`
        : /^[\x20-\x7e]+$/.test(key)
          ? undefined
          : 'must be printable ASCII';
  if (problem) {
    throw new RequestValidationError(
      [{ path: 'Idempotency-Key', message: problem, in: 'header' }],
      `The Idempotency-Key header ${problem}.`,
    );
  }
  return key;
}

export interface IdempotentCall {
  /** Who asks: replies are never shared between callers. */
  callerSub: string;
  operationId: string;
  key: string;
  /** What a repeat must match (path parameters, query, parsed body). */
  request: unknown;
}
