import type { ApiKeyProvider, EnvOf, IntegrationLogger, RetryPolicy } from '../platform/index.ts';
import {
  type CmlApi,
  type CredentialsProvider,
  cmlCredentialsFor,
  cmlSecretConfigFromEnv,
  createCmlClient,
  logger,
  SecretCache,
  SecretsManagerApiKeyProvider,
  secretsManagerClient,
  staticApiKey,
  staticCredentials,
} from '../platform/index.ts';
import type { CML_ENV, PARTNER_API_ENV } from './env.ts';

/**
 * What the session and fleet dependency builders share: the partner clients' log lines through
 * the runtime logger, one secret cache per build, and the CML clients of the workers.
 */

/** The integration clients' log lines (method, path, status; never bodies). */
export const integrationLogger: IntegrationLogger = {
  debug: (message, extra) => logger.debug(message, { ...extra }),
  warn: (message, extra) => logger.warn(message, { ...extra }),
};

/** A partner's API key: the key itself (locally), else its Secrets Manager secret. */
export function apiKeyFrom(
  env: Partial<EnvOf<typeof PARTNER_API_ENV>>,
  name: 'LDS' | 'GRADING',
  secrets: () => SecretCache,
): ApiKeyProvider {
  const direct = env[`LCM_${name}_API_KEY`];
  if (direct) return staticApiKey(direct);
  const secretId = env[`LCM_${name}_API_KEY_SECRET_ID`];
  if (!secretId) throw new Error(`LCM_${name}_API_KEY_SECRET_ID is not set`);
  return new SecretsManagerApiKeyProvider(secrets(), secretId);
}

/** A Secrets Manager cache built on first use (a build that reads no secret builds no client). */
export function secretCache(): () => SecretCache {
  let cache: SecretCache | undefined;
  return () => {
    cache ??= new SecretCache({ client: secretsManagerClient() });
    return cache;
  };
}

export interface CmlClientsOptions {
  secrets: () => SecretCache;
  /**
   * Without any credentials configured: `lazy` clients still answer what needs none
   * (system_information, the fleet's readiness poll) and fail the calls that do; `strict`
   * fails when the client is asked for.
   */
  unconfigured: 'lazy' | 'strict';
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
}

const MISSING_CREDENTIALS = 'CML credentials are not configured (LCM_CML_SECRET_ID or LCM_CML_CREDENTIALS)';

/**
 * The CML client of a worker at a base URL: static credentials (LCM_CML_CREDENTIALS, the local
 * stack) or the worker's secret (LCM_CML_SECRET_ID + LCM_CML_SECRET_OVERRIDES). One client per
 * worker and base URL per cold start, so its token is reused between calls.
 */
export function cmlClients(
  env: EnvOf<typeof CML_ENV>,
  opts: CmlClientsOptions,
): (workerId: string, baseUrl: string) => CmlApi {
  let credentialsOf: (workerId: string) => CredentialsProvider;
  if (env.LCM_CML_CREDENTIALS) {
    const provider = staticCredentials(env.LCM_CML_CREDENTIALS);
    credentialsOf = () => provider;
  } else if (env.LCM_CML_SECRET_ID) {
    const config = cmlSecretConfigFromEnv({
      LCM_CML_SECRET_ID: env.LCM_CML_SECRET_ID,
      LCM_CML_SECRET_OVERRIDES: env.LCM_CML_SECRET_OVERRIDES,
    });
    credentialsOf = (workerId) => cmlCredentialsFor(opts.secrets(), config, workerId);
  } else if (opts.unconfigured === 'strict') {
    credentialsOf = () => {
      throw new Error('LCM_CML_SECRET_ID is not set');
    };
  } else {
    const missing: CredentialsProvider = {
      getCredentials: async () => {
        throw new Error(MISSING_CREDENTIALS);
      },
    };
    credentialsOf = () => missing;
  }
  const clients = new Map<string, CmlApi>();
  return (workerId, baseUrl) => {
    const key = `${workerId} ${baseUrl}`;
    let client = clients.get(key);
    if (!client) {
      client = createCmlClient({
        baseUrl,
        credentials: credentialsOf(workerId),
        logger: integrationLogger,
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        ...(opts.retry !== undefined ? { retry: opts.retry } : {}),
      });
      clients.set(key, client);
    }
    return client;
  };
}
