import createClient, { type Middleware } from 'openapi-fetch';
import { ProblemError, toProblem } from '../lib/problem.ts';
import type { paths } from './schema.gen.ts';

export type Api = ReturnType<typeof createApi>;
export type { components, paths } from './schema.gen.ts';

/** The typed client (openapi-fetch over the generated paths) with the caller's bearer token. */
export function createApi(baseUrl: string, token: () => string | null, fetchImpl?: typeof fetch) {
  const client = createClient<paths>({ baseUrl, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  const auth: Middleware = {
    onRequest({ request }) {
      const t = token();
      if (t) request.headers.set('authorization', `Bearer ${t}`);
      return request;
    },
  };
  client.use(auth);
  return client;
}

/** An openapi-fetch result's data, or a ProblemError carrying the API's problem+json as it came. */
export async function unwrap<T>(
  result: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<NonNullable<T>> {
  const { data, error, response } = await result;
  if (!response.ok || data === undefined) throw new ProblemError(toProblem(response.status, error));
  return data as NonNullable<T>;
}

/** A fresh Idempotency-Key for a command. */
export const idempotencyKey = (): string => crypto.randomUUID();
