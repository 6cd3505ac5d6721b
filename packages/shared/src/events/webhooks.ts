import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { SigningSecret } from './signature.ts';

/**
 * Partner signatures in the Standard Webhooks form (https://www.standardwebhooks.com), the one
 * `POST /v1/events` expects (docs/integrations.md §6):
 *
 *   webhook-id:        the message id (the simulators send the CloudEvent id)
 *   webhook-timestamp: integer seconds since the epoch when the partner signed
 *   webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>"> (space-separated
 *                      when a partner signs with several keys during a rotation)
 *
 * The `standardwebhooks` library decodes the secret (`whsec_<base64>` as the standard has it; any
 * other string is used as its UTF-8 bytes, the form LCM's partner secrets had) and computes the
 * signature; LCM compares it in constant time against every signature sent, for every active
 * secret of the partner (key rotation: several secrets verify at once), and only then checks the
 * timestamp against its own clock with a configurable tolerance (default 5 minutes, either way), so
 * a replayed or delayed request outside the window is refused as TIMESTAMP, and a request within
 * it is deduplicated downstream on (source, id). (The library's own `verify` is not used: its
 * window is fixed at 5 minutes of the system clock.)
 */

export const WEBHOOK_ID_HEADER = 'webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';

/** How far a signed timestamp may be from LCM's clock, either way, unless a partner says otherwise. */
export const DEFAULT_TIMESTAMP_TOLERANCE_SECONDS = 300;

type Body = string | Uint8Array;

const keyOf = (secret: string): Webhook =>
  secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(secret, { format: 'raw' });

const secretText = (s: SigningSecret): string => (typeof s === 'string' ? s : s.secret);

/** The three headers a sender adds for `body`, signed with `secret` at `at` (default now). */
export function webhookHeaders(
  secret: string,
  id: string,
  body: Body,
  at: Date = new Date(),
): Record<string, string> {
  if (!secret) throw new Error('signing secret is empty');
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return {
    [WEBHOOK_ID_HEADER]: id,
    [WEBHOOK_TIMESTAMP_HEADER]: String(Math.floor(at.getTime() / 1000)),
    [WEBHOOK_SIGNATURE_HEADER]: keyOf(secret).sign(id, at, bytes),
  };
}

export type WebhookVerification =
  | { ok: true; secretIndex: number; timestamp: number }
  | { ok: false; reason: 'MISSING' | 'MALFORMED' | 'MISMATCH' | 'NO_SECRETS' }
  /** The signature verifies but its timestamp is outside the window (replay, or a clock off). */
  | { ok: false; reason: 'TIMESTAMP'; secretIndex: number; skewSeconds: number };

export interface WebhookHeaders {
  id?: string | undefined;
  timestamp?: string | undefined;
  signature?: string | undefined;
}

export interface VerifyWebhookOptions {
  /** Seconds either way (default DEFAULT_TIMESTAMP_TOLERANCE_SECONDS). */
  toleranceSeconds?: number | undefined;
  /** Milliseconds since the epoch (tests); default the system clock. */
  nowMs?: number | undefined;
}

const TIMESTAMP_PATTERN = /^\d{1,12}$/;
const SIGNATURE_PATTERN = /^v1,[A-Za-z0-9+/]+={0,2}$/;

/**
 * Verifies a Standard Webhooks signature over the raw body with every active secret (no early
 * exit, constant time per comparison), then the timestamp window.
 */
export function verifyWebhook(
  rawBody: Body,
  headers: WebhookHeaders,
  secrets: readonly SigningSecret[],
  opts: VerifyWebhookOptions = {},
): WebhookVerification {
  const active = secrets
    .map((s, index) => ({ index, secret: secretText(s) }))
    .filter((s) => s.secret.length > 0);
  if (active.length === 0) return { ok: false, reason: 'NO_SECRETS' };
  const id = headers.id?.trim();
  const ts = headers.timestamp?.trim();
  const sig = headers.signature?.trim();
  if (!id || !ts || !sig) return { ok: false, reason: 'MISSING' };
  const passed = sig.split(' ').filter((p) => p.length > 0);
  if (!TIMESTAMP_PATTERN.test(ts) || id.length > 256 || passed.length > 10)
    return { ok: false, reason: 'MALFORMED' };
  const v1 = passed.filter((p) => SIGNATURE_PATTERN.test(p)).map((p) => Buffer.from(p));
  if (v1.length === 0) return { ok: false, reason: 'MALFORMED' };

  const timestamp = Number(ts);
  const at = new Date(timestamp * 1000);
  const bytes = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  let matched = -1;
  for (const s of active) {
    let expected: Buffer;
    try {
      expected = Buffer.from(keyOf(s.secret).sign(id, at, bytes));
    } catch {
      continue; // a secret the library cannot decode verifies nothing
    }
    for (const received of v1) {
      const equal = received.length === expected.length && timingSafeEqual(received, expected);
      if (equal && matched < 0) matched = s.index;
    }
  }
  if (matched < 0) return { ok: false, reason: 'MISMATCH' };
  const nowSeconds = Math.floor((opts.nowMs ?? Date.now()) / 1000);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TIMESTAMP_TOLERANCE_SECONDS;
  const skewSeconds = nowSeconds - timestamp;
  if (Math.abs(skewSeconds) > tolerance)
    return { ok: false, reason: 'TIMESTAMP', secretIndex: matched, skewSeconds };
  return { ok: true, secretIndex: matched, timestamp };
}
