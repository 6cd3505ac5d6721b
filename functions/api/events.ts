import { ingestDeps } from '@lcm/shared/app';
import { type IngestDeps, ingestEvents } from '@lcm/shared/events';
import { apiHandler, HttpError, json, logger } from '@lcm/shared/platform';

/**
 * POST /v1/events: partners push CloudEvents (no JWT: the route is public and the partner is
 * authenticated by the HMAC signature of the raw body, packages/shared/src/events/ingest.ts).
 * The body is left raw (`body: 'raw'`) because the signature covers the exact bytes.
 * Environment (INGEST_ENV, packages/shared/src/app/env.ts): EVENT_BUS_NAME, and
 * LCM_EVENT_PARTNERS_SECRET_ID (or LCM_EVENT_PARTNERS inline).
 * Needs events:PutEvents on the bus and secretsmanager:GetSecretValue on the partner secret.
 */
const ROUTE_KEY = 'POST /v1/events';

export function eventsHandler(deps: () => IngestDeps = ingestDeps) {
  return apiHandler(
    async (event) => {
      if (event.routeKey !== ROUTE_KEY) throw new HttpError(404, `No route ${event.routeKey} in events.`);
      const raw = event.rawBody ?? '';
      const body = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
      const result = await ingestEvents(deps(), { headers: event.headers ?? {}, body });
      logger.info('events accepted', {
        partner: result.partner,
        mode: result.mode,
        count: result.events.length,
        ids: result.events.map((e) => e.id),
      });
      return json(202, { accepted: result.events.length, events: result.events });
    },
    { body: 'raw', name: 'events' },
  );
}

export const handler = eventsHandler();
