import { DynamoLiveStore, type LiveDeps, type LiveReply, type LiveTokenCheck } from '../api/index.ts';
import { NotFoundError } from '../kernel/index.ts';
import {
  cachedDeps,
  connectionPosterFor,
  documentClient,
  type EnvShape,
  envOptional,
  lazy,
  TABLE_ENV,
} from '../platform/index.ts';
import { tableStores } from './stores.ts';

/**
 * The WebSocket functions' environment (functions/websocket/): the table (connections,
 * subscriptions, the sessions whose tenancy a subscription checks), the management endpoint the
 * broadcaster posts to (LCM_WS_ENDPOINT, `https://<api-id>.execute-api.<region>.amazonaws.com/<stage>`)
 * and the token check of $connect: the issuer and the accepted audiences (comma-separated), the
 * HTTP API's JWT authorizer's.
 */
export const LIVE_ENV = {
  ...TABLE_ENV,
  LCM_WS_ENDPOINT: envOptional(),
  LCM_JWT_ISSUER: envOptional(),
  LCM_JWT_AUDIENCES: envOptional(),
} satisfies EnvShape;

export interface LiveFunctionDeps extends LiveDeps {
  tokenCheck: LiveTokenCheck;
}

const required = (name: string, value: string | undefined): string => {
  if (value === undefined || value.trim() === '') throw new Error(`${name} is not set`);
  return value;
};

/**
 * Built once per cold start. The poster is the management API's; the local stack overrides it
 * (`liveDeps.override({ poster })`) with one that writes to its own sockets.
 */
export const liveDeps = /* @__PURE__ */ cachedDeps('websocket', LIVE_ENV, (env) => {
  const stores = tableStores(env.TABLE_NAME);
  return lazy<LiveFunctionDeps>({
    live: () => new DynamoLiveStore({ client: documentClient(), tableName: env.TABLE_NAME }),
    poster: () => {
      const post = connectionPosterFor(required('LCM_WS_ENDPOINT', env.LCM_WS_ENDPOINT));
      return {
        post: (connectionId: string, message: LiveReply) => post(connectionId, JSON.stringify(message)),
      };
    },
    sessionOf: () => async (sessionId: string) => {
      try {
        return await stores().sessions.getSession(sessionId);
      } catch (e) {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      }
    },
    tokenCheck: () => ({
      issuer: required('LCM_JWT_ISSUER', env.LCM_JWT_ISSUER),
      audiences: required('LCM_JWT_AUDIENCES', env.LCM_JWT_AUDIENCES)
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== ''),
    }),
  });
});
