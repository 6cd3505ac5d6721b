import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { SecretCache, secretsManagerClient } from '../platform/index.ts';
import type { SigningSecret } from './signature.ts';

/**
 * Who may push CloudEvents to `POST /v1/events`: each partner (LDS, the Grading Engine, ...)
 * has an id, the CloudEvent `source` values it may use (allow-list), optionally the type
 * prefixes it may send, and its HMAC signing secrets (current and, during a rotation, previous).
 *
 * Configuration (one JSON document, in AWS a Secrets Manager secret named by
 * `LCM_EVENT_PARTNERS_SECRET_ID`; locally and in tests the same JSON in `LCM_EVENT_PARTNERS`
 * or a StaticPartnerRegistry):
 *
 *   { "partners": {
 *       "lds":     { "sources": ["https://labs.example.com"], "types": ["io.lablet.lds."],
 *                    "secrets": [{ "keyId": "2026-04", "secret": "whsec_..." }, "<previous secret>"],
 *                    "toleranceSeconds": 300 },
 *       "grading": { "sources": ["urn:lablet:grading"], "types": ["io.lablet.grading."],
 *                    "secrets": ["..."], "legacySignature": true } } }
 *
 * Partners sign in the Standard Webhooks form (webhooks.ts), with a replay window of
 * `toleranceSeconds` (default 300); `legacySignature: true` also accepts the old `x-lcm-signature`
 * form from that partner while it migrates (off unless set).
 *
 * Key rotation without a coordinated switch-over: add the new secret to the partner's list
 * (both verify), have the partner sign with it, then remove the old one. A warm Lambda re-reads the secret every few minutes, and at once (at most
 * every 30 s) when a signature matches none of the cached secrets, so a new secret works within
 * seconds of being stored.
 */

export interface PartnerConfig {
  readonly id: string;
  /** CloudEvent `source` values this partner may send (exact match). */
  readonly sources: readonly string[];
  /** CloudEvent type prefixes this partner may send; absent = any inbound type. */
  readonly types?: readonly string[] | undefined;
  /** Active HMAC secrets, newest first; a signature made with any of them verifies. */
  readonly secrets: readonly SigningSecret[];
  /**
   * Also accept the old `x-lcm-signature` form (no timestamp, no replay window) from this partner,
   * while it moves to Standard Webhooks; false (absent) unless its configuration says so.
   */
  readonly legacySignature?: boolean | undefined;
  /** How far `webhook-timestamp` may be from LCM's clock, either way (default 300 s). */
  readonly toleranceSeconds?: number | undefined;
}

export interface PartnerRegistry {
  /** Every partner; `forceRefresh` re-reads the configuration (after a signature matched none). */
  partners(opts?: { forceRefresh?: boolean }): Promise<readonly PartnerConfig[]>;
}

const MIN_SECRET_CHARS = 16;

const SecretSchema = z.union([
  z.string().min(MIN_SECRET_CHARS),
  z.object({ keyId: z.string().min(1).max(128), secret: z.string().min(MIN_SECRET_CHARS) }),
]);

const PartnerSchema = z.object({
  sources: z.array(z.string().min(1).max(1024)).min(1),
  types: z.array(z.string().min(1).max(256)).min(1).optional(),
  secrets: z.array(SecretSchema).min(1),
  legacySignature: z.boolean().optional(),
  toleranceSeconds: z.number().int().min(1).max(3600).optional(),
});

export const PartnersDocumentSchema = z.object({
  partners: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/), PartnerSchema),
});
export type PartnersDocument = z.input<typeof PartnersDocumentSchema>;

/** Parses the configuration document; the error never quotes a secret. */
export function parsePartnersDocument(value: unknown, origin: string): PartnerConfig[] {
  const parsed = PartnersDocumentSchema.safeParse(value);
  if (!parsed.success) {
    const where = parsed.error.issues
      .map((i) => i.path.map(String).join('.'))
      .slice(0, 5)
      .join(', ');
    throw new Error(`${origin} is not a valid partner configuration (check: ${where || 'the document'})`);
  }
  return Object.entries(parsed.data.partners).map(([id, p]) => ({
    id,
    sources: p.sources,
    ...(p.types ? { types: p.types } : {}),
    secrets: p.secrets,
    ...(p.legacySignature ? { legacySignature: true } : {}),
    ...(p.toleranceSeconds !== undefined ? { toleranceSeconds: p.toleranceSeconds } : {}),
  }));
}

/** Fixed partners (local stack, tests). */
export class StaticPartnerRegistry implements PartnerRegistry {
  private readonly list: readonly PartnerConfig[];
  constructor(partners: readonly PartnerConfig[]) {
    this.list = partners.map((p) => ({ ...p }));
  }
  async partners(): Promise<readonly PartnerConfig[]> {
    return this.list;
  }
}

/** At most one forced re-read per this interval, so bad signatures cannot drive GetSecretValue. */
export const FORCED_REFRESH_INTERVAL_MS = 30_000;

/** Partners from a JSON secret in Secrets Manager, cached (SecretCache TTL, default 5 min). */
export class SecretsManagerPartnerRegistry implements PartnerRegistry {
  private lastForcedAt = Number.NEGATIVE_INFINITY;
  private parsed: { text: string; partners: PartnerConfig[] } | undefined;

  constructor(
    private readonly cache: SecretCache,
    readonly secretId: string,
    private readonly now: () => number = Date.now,
  ) {}

  async partners(opts: { forceRefresh?: boolean } = {}): Promise<readonly PartnerConfig[]> {
    let forceRefresh = false;
    if (opts.forceRefresh && this.now() - this.lastForcedAt >= FORCED_REFRESH_INTERVAL_MS) {
      this.lastForcedAt = this.now();
      forceRefresh = true;
    }
    const text = await this.cache.getSecretString(this.secretId, { forceRefresh });
    if (this.parsed?.text !== text) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new Error(`secret ${this.secretId} is not JSON`);
      }
      this.parsed = { text, partners: parsePartnersDocument(json, `secret ${this.secretId}`) };
    }
    return this.parsed.partners;
  }
}

export const PARTNERS_SECRET_ENV = 'LCM_EVENT_PARTNERS_SECRET_ID';
export const PARTNERS_JSON_ENV = 'LCM_EVENT_PARTNERS';

/**
 * The registry the environment names: `LCM_EVENT_PARTNERS_SECRET_ID` (Secrets Manager, the AWS
 * deployment) or `LCM_EVENT_PARTNERS` (the JSON document inline: local stack, tests).
 */
export function partnerRegistryFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  client: () => SecretsManagerClient = secretsManagerClient,
): PartnerRegistry {
  const secretId = env[PARTNERS_SECRET_ENV];
  if (secretId) return new SecretsManagerPartnerRegistry(new SecretCache({ client: client() }), secretId);
  const inline = env[PARTNERS_JSON_ENV];
  if (inline) {
    let json: unknown;
    try {
      json = JSON.parse(inline);
    } catch {
      throw new Error(`${PARTNERS_JSON_ENV} is not JSON`);
    }
    return new StaticPartnerRegistry(parsePartnersDocument(json, PARTNERS_JSON_ENV));
  }
  throw new Error(`set ${PARTNERS_SECRET_ENV} (Secrets Manager) or ${PARTNERS_JSON_ENV} (inline JSON)`);
}

/** May this partner send an event with this source and type? */
export function partnerAllows(partner: PartnerConfig, source: string, type: string): boolean {
  if (!partner.sources.includes(source)) return false;
  return partner.types === undefined || partner.types.some((prefix) => type.startsWith(prefix));
}
