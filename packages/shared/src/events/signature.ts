import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Partner signatures on inbound events (docs/integrations.md §Signatures): the partner sends
 * `x-lcm-signature: sha256=<hex HMAC-SHA256 of the raw request body>` computed with a shared
 * secret, optionally with `x-lcm-key-id` naming the secret it used. The receiver verifies
 * against every active secret of that partner (current and, during a rotation, previous), so
 * a rotation needs no coordinated switch-over. Always verify the raw bytes as received: any
 * re-serialisation of the JSON changes the signature.
 */

export const SIGNATURE_HEADER = 'x-lcm-signature';
export const KEY_ID_HEADER = 'x-lcm-key-id';
export const SIGNATURE_SCHEME = 'sha256=';

/** A secret, optionally named so a sender's `x-lcm-key-id` can select it. */
export type SigningSecret = string | { keyId: string; secret: string };

type Body = string | Uint8Array;

const hmac = (secret: string, rawBody: Body): Buffer => createHmac('sha256', secret).update(rawBody).digest();

/** `sha256=<lower-case hex>` of the raw body. */
export function signBody(secret: string, rawBody: Body): string {
  if (!secret) throw new Error('signing secret is empty');
  return `${SIGNATURE_SCHEME}${hmac(secret, rawBody).toString('hex')}`;
}

/** The headers a sender adds (content type is the caller's). */
export function signatureHeaders(secret: string, rawBody: Body, keyId?: string): Record<string, string> {
  return { [SIGNATURE_HEADER]: signBody(secret, rawBody), ...(keyId ? { [KEY_ID_HEADER]: keyId } : {}) };
}

export type SignatureVerification =
  | { ok: true /** Index into `secrets` of the secret that matched. */; secretIndex: number }
  | { ok: false; reason: 'MISSING' | 'MALFORMED' | 'MISMATCH' | 'NO_SECRETS' };

const SIGNATURE_PATTERN = /^sha256=([0-9a-f]{64})$/i;

/**
 * Verifies `header` (the `x-lcm-signature` value) against the raw body with each active
 * secret, in constant time per comparison and without stopping at the first match (the time
 * taken does not reveal which secret matched). When `keyId` names a keyed secret, only that
 * one is tried; an unknown key id falls back to all secrets.
 */
export function verifySignature(
  rawBody: Body,
  header: string | readonly string[] | null | undefined,
  secrets: readonly SigningSecret[],
  keyId?: string | null,
): SignatureVerification {
  const active = secrets
    .map((s, index) => ({ index, keyId: typeof s === 'string' ? undefined : s.keyId, secret: secretOf(s) }))
    .filter((s) => s.secret.length > 0);
  if (active.length === 0) return { ok: false, reason: 'NO_SECRETS' };
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || value.trim() === '') return { ok: false, reason: 'MISSING' };
  const match = SIGNATURE_PATTERN.exec(value.trim());
  if (!match) return { ok: false, reason: 'MALFORMED' };
  const received = Buffer.from(match[1]!, 'hex');

  const selected = keyId ? active.filter((s) => s.keyId === keyId) : [];
  const candidates = selected.length > 0 ? selected : active;
  let matched = -1;
  for (const c of candidates) {
    const equal = timingSafeEqual(hmac(c.secret, rawBody), received);
    if (equal && matched < 0) matched = c.index;
  }
  return matched >= 0 ? { ok: true, secretIndex: matched } : { ok: false, reason: 'MISMATCH' };
}

const secretOf = (s: SigningSecret): string => (typeof s === 'string' ? s : s.secret);

/** Reads a header case-insensitively from a plain header map (API Gateway, node:http). */
export function headerValue(
  headers: Record<string, string | string[] | undefined> | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === lower) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}
