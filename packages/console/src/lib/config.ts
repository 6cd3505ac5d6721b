/**
 * Runtime configuration: GET /config.json next to the page (served by `npm start` locally and
 * from the console bucket in AWS, where CDK writes the deployed URLs and user-pool client).
 * One build runs against any stack.
 */
export interface ConsoleConfig {
  readonly apiUrl: string;
  readonly wsUrl: string;
  readonly oidc: { readonly authority: string; readonly clientId: string; readonly scope: string };
}

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Validates /config.json's body; throws naming the first missing or malformed field. */
export function parseConfig(body: unknown): ConsoleConfig {
  if (typeof body !== 'object' || body === null) throw new Error('config.json: expected an object');
  const b = body as Record<string, unknown>;
  for (const field of ['apiUrl', 'wsUrl'] as const) {
    if (!isNonEmptyString(b[field])) throw new Error(`config.json: ${field} must be a non-empty string`);
  }
  const oidc = b.oidc as Record<string, unknown> | undefined;
  if (typeof oidc !== 'object' || oidc === null) throw new Error('config.json: oidc must be an object');
  for (const field of ['authority', 'clientId', 'scope'] as const) {
    if (!isNonEmptyString(oidc[field]))
      throw new Error(`config.json: oidc.${field} must be a non-empty string`);
  }
  return {
    apiUrl: (b.apiUrl as string).replace(/\/$/, ''),
    wsUrl: b.wsUrl as string,
    oidc: {
      authority: oidc.authority as string,
      clientId: oidc.clientId as string,
      scope: oidc.scope as string,
    },
  };
}

export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<ConsoleConfig> {
  const res = await fetchImpl('config.json', { headers: { 'cache-control': 'no-cache' } });
  if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`);
  return parseConfig(await res.json());
}
