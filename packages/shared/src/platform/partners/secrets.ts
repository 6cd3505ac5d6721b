import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { IntegrationError } from './http.ts';

/**
 * Credentials and API keys for partner systems. Values come from AWS Secrets Manager (JSON
 * secrets, cached per secret id with a TTL so a warm Lambda does not call GetSecretValue per
 * request) or are given statically (local stack, tests). No value is ever logged or put into
 * an error message.
 */

export interface Credentials {
  username: string;
  password: string;
}

/** Where a client gets its username/password. */
export interface CredentialsProvider {
  /** `forceRefresh` skips the cache (after the partner rejected the cached credentials). */
  getCredentials(opts?: { forceRefresh?: boolean }): Promise<Credentials>;
}

/** Where a client gets its API key (LDS, Grading Engine). */
export interface ApiKeyProvider {
  getApiKey(opts?: { forceRefresh?: boolean }): Promise<string>;
}

export const staticCredentials = (credentials: Credentials): CredentialsProvider => ({
  getCredentials: async () => ({ ...credentials }),
});

export const staticApiKey = (apiKey: string): ApiKeyProvider => ({ getApiKey: async () => apiKey });

export const DEFAULT_SECRET_TTL_MS = 5 * 60_000;

export interface SecretCacheOptions {
  client: SecretsManagerClient;
  /** How long a fetched value is reused (default 5 min). */
  ttlMs?: number;
  now?: () => number;
}

interface CacheEntry {
  value: Promise<string>;
  expiresAt: number;
}

/**
 * Reads secret strings with GetSecretValue and keeps them for `ttlMs`; concurrent reads of the
 * same secret share one call. Failed reads are not cached.
 */
export class SecretCache {
  private readonly client: SecretsManagerClient;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, CacheEntry>();

  constructor(opts: SecretCacheOptions) {
    this.client = opts.client;
    this.ttlMs = opts.ttlMs ?? DEFAULT_SECRET_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  getSecretString(secretId: string, opts: { forceRefresh?: boolean } = {}): Promise<string> {
    const hit = this.entries.get(secretId);
    if (hit && !opts.forceRefresh && hit.expiresAt > this.now()) return hit.value;
    const value = this.fetch(secretId);
    const entry = { value, expiresAt: this.now() + this.ttlMs };
    this.entries.set(secretId, entry);
    value.catch(() => {
      if (this.entries.get(secretId) === entry) this.entries.delete(secretId);
    });
    return value;
  }

  /** Forgets one secret (or all). */
  invalidate(secretId?: string): void {
    if (secretId === undefined) this.entries.clear();
    else this.entries.delete(secretId);
  }

  private async fetch(secretId: string): Promise<string> {
    let out: { SecretString?: string | undefined; SecretBinary?: Uint8Array | undefined };
    try {
      out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
    } catch (e) {
      const name = (e as { name?: string }).name ?? 'Error';
      const permanent = ['ResourceNotFoundException', 'AccessDeniedException', 'InvalidParameterException'];
      throw new IntegrationError(`secret ${secretId} could not be read (${name})`, {
        service: 'secretsmanager',
        operation: 'GetSecretValue',
        code: 'CREDENTIALS_UNAVAILABLE',
        retryable: !permanent.includes(name),
        cause: e,
      });
    }
    if (typeof out.SecretString === 'string') return out.SecretString;
    if (out.SecretBinary) return new TextDecoder().decode(out.SecretBinary);
    throw invalidSecret(secretId, 'it has no value');
  }
}

function invalidSecret(secretId: string, why: string): IntegrationError {
  return new IntegrationError(`secret ${secretId} is not usable: ${why}`, {
    service: 'secretsmanager',
    operation: 'GetSecretValue',
    code: 'CREDENTIALS_UNAVAILABLE',
    retryable: false,
  });
}

function parseJsonSecret(secretId: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Never echo the parse error: it quotes the secret's text.
    throw invalidSecret(secretId, 'it is not JSON');
  }
}

const CredentialsSecretSchema = z.object({ username: z.string().min(1), password: z.string().min(1) });

/** Credentials from a JSON secret `{"username": "...", "password": "..."}`. */
export class SecretsManagerCredentialsProvider implements CredentialsProvider {
  constructor(
    private readonly cache: SecretCache,
    readonly secretId: string,
  ) {}

  async getCredentials(opts: { forceRefresh?: boolean } = {}): Promise<Credentials> {
    const parsed = CredentialsSecretSchema.safeParse(
      parseJsonSecret(this.secretId, await this.cache.getSecretString(this.secretId, opts)),
    );
    if (!parsed.success) throw invalidSecret(this.secretId, 'expected {"username", "password"} strings');
    return { username: parsed.data.username, password: parsed.data.password };
  }
}

/**
 * An API key from a secret: a JSON object with the key in `field` (default `apiKey`), or, if
 * the secret is not a JSON object, the whole secret string.
 */
export class SecretsManagerApiKeyProvider implements ApiKeyProvider {
  constructor(
    private readonly cache: SecretCache,
    readonly secretId: string,
    private readonly field = 'apiKey',
  ) {}

  async getApiKey(opts: { forceRefresh?: boolean } = {}): Promise<string> {
    const text = await this.cache.getSecretString(this.secretId, opts);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (parsed && typeof parsed === 'object') {
      const v = (parsed as Record<string, unknown>)[this.field];
      if (typeof v === 'string' && v.length > 0) return v;
      throw invalidSecret(this.secretId, `expected a non-empty "${this.field}" string`);
    }
    if (text.trim().length === 0) throw invalidSecret(this.secretId, 'it is empty');
    return text.trim();
  }
}

const SigningSecretSchema = z.union([
  z.object({ current: z.string().min(16), previous: z.string().min(16).nullish() }),
  z.object({ secrets: z.array(z.string().min(16)).min(1) }),
]);

/**
 * The active HMAC secrets of one partner, for `verifySignature`: a JSON secret
 * `{"current": "...", "previous": "..."}` (previous optional, kept during a rotation) or
 * `{"secrets": [...]}`. Each secret must have at least 16 characters.
 */
export async function loadSigningSecrets(
  cache: SecretCache,
  secretId: string,
  opts: { forceRefresh?: boolean } = {},
): Promise<string[]> {
  const parsed = SigningSecretSchema.safeParse(
    parseJsonSecret(secretId, await cache.getSecretString(secretId, opts)),
  );
  if (!parsed.success) {
    throw invalidSecret(
      secretId,
      'expected {"current", "previous"?} or {"secrets": [...]} (>= 16 chars each)',
    );
  }
  const d = parsed.data;
  return 'secrets' in d ? [...d.secrets] : [d.current, ...(d.previous ? [d.previous] : [])];
}

/** Which CML credentials secret each worker uses: a default plus per-worker overrides. */
export interface CmlSecretConfig {
  defaultSecretId: string;
  /** worker id → secret id. */
  perWorker?: Readonly<Record<string, string>> | undefined;
}

export function cmlSecretIdFor(config: CmlSecretConfig, workerId: string): string {
  return config.perWorker?.[workerId] ?? config.defaultSecretId;
}

/**
 * Reads the CML secret config from the environment: `LCM_CML_SECRET_ID` (default secret id)
 * and optional `LCM_CML_SECRET_OVERRIDES`, a JSON object `{"<workerId>": "<secretId>"}`.
 */
export function cmlSecretConfigFromEnv(env: Readonly<Record<string, string | undefined>>): CmlSecretConfig {
  const defaultSecretId = env.LCM_CML_SECRET_ID;
  if (!defaultSecretId) throw new Error('LCM_CML_SECRET_ID is not set');
  const raw = env.LCM_CML_SECRET_OVERRIDES;
  if (!raw) return { defaultSecretId };
  const parsed = z.record(z.string().min(1), z.string().min(1)).safeParse(safeJson(raw));
  if (!parsed.success)
    throw new Error('LCM_CML_SECRET_OVERRIDES must be a JSON object of worker id -> secret id');
  return { defaultSecretId, perWorker: parsed.data };
}

const safeJson = (s: string): unknown => {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
};

/** The credentials provider of one worker, sharing `cache` with every other worker's. */
export const cmlCredentialsFor = (
  cache: SecretCache,
  config: CmlSecretConfig,
  workerId: string,
): SecretsManagerCredentialsProvider =>
  new SecretsManagerCredentialsProvider(cache, cmlSecretIdFor(config, workerId));
