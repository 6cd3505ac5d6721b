import type { FieldError } from '../platform/index.ts';
import { HttpError, recordMetric } from '../platform/index.ts';
import { BindingError, type BindingMode, type HeaderMap, parseHttpMessage } from './http-binding.ts';
import { type PartnerConfig, type PartnerRegistry, partnerAllows } from './partners.ts';
import { type EventPublisher, PublishError } from './publisher.ts';
import { CloudEventEnvelopeSchema, type InboundCloudEvent, parseInboundEvent } from './schemas.ts';
import { headerValue, KEY_ID_HEADER, SIGNATURE_HEADER, verifySignature } from './signature.ts';

/**
 * `POST /v1/events` (DESIGN §7): partners push CloudEvents over the HTTP binding (structured,
 * binary or batch mode). In order, and nothing reaches the bus unless every step passes:
 *
 * 1. Authenticate (401): `x-lcm-signature: sha256=<hex HMAC-SHA256 of the raw body>` must verify
 *    with an active secret of a partner. The partner is the one named by the optional
 *    `x-lcm-partner` header, else the partner whose secret verifies the signature (every
 *    partner's secrets are tried; secrets are per partner, so the match identifies it).
 *    `x-lcm-key-id` may name the secret used (key rotation, see partners.ts).
 * 2. Parse the binding (400): the request must be a CloudEvents message.
 * 3. Envelope (400): each event is a valid CloudEvents 1.0 envelope (field paths in `errors`).
 * 4. Allow-list (403): each event's `source` (and type prefix, when configured) must be allowed
 *    for the authenticated partner.
 * 5. Type and data (400): each event is one of the inbound types of DESIGN §7 with valid data.
 * 6. Publish (202 / 503 / 502): PutEvents to the bus; a batch is accepted as a whole or the
 *    request fails. A retryable failure (throttling, internal) is a 503 with Retry-After, any
 *    other a 502: the partner resends, and handlers deduplicate on (source, id).
 *
 * Duplicates of (source, id) inside one request are published once.
 *
 * Metrics (platform/runtime/metric-names.ts): `InboundEventsAccepted` {partner} counts the events
 * published; `InboundEventsRejected` {partner, reason} the events of a refused request (1 when
 * the body is not even a CloudEvents message), reason the step that refused it (INGEST_REJECTIONS);
 * the partner is `unknown` until the signature identified one.
 */

/** Why a request was refused, by the step that refused it. */
export const INGEST_REJECTIONS = {
  1: 'SIGNATURE',
  2: 'BINDING',
  3: 'ENVELOPE',
  4: 'NOT_ALLOWED',
  5: 'DATA',
  6: 'PUBLISH_FAILED',
} as const;
type IngestStep = keyof typeof INGEST_REJECTIONS;

export const PARTNER_HEADER = 'x-lcm-partner';

export interface IngestDeps {
  partners: PartnerRegistry;
  publisher: EventPublisher;
  log?: (message: string, extra: Record<string, unknown>) => void;
}

export interface IngestRequest {
  headers: HeaderMap;
  /** The raw body bytes, exactly as received (the signature covers them). */
  body: Uint8Array;
}

export interface IngestResult {
  partner: string;
  mode: BindingMode;
  /** Events published, in request order (duplicates within the request removed). */
  events: Array<{ id: string; source: string; type: string }>;
}

const unauthorized = (detail: string) =>
  new HttpError(401, detail, {
    title: 'Unauthorized',
    headers: { 'www-authenticate': `HMAC-SHA256 header="${SIGNATURE_HEADER}"` },
  });

/** The partner whose secret verifies the signature, or a 401. */
export async function authenticatePartner(
  registry: PartnerRegistry,
  headers: HeaderMap,
  body: Uint8Array,
): Promise<PartnerConfig> {
  const signature = headerValue(headers, SIGNATURE_HEADER);
  if (!signature) throw unauthorized(`The ${SIGNATURE_HEADER} header is required.`);
  const named = headerValue(headers, PARTNER_HEADER)?.trim();
  const keyId = headerValue(headers, KEY_ID_HEADER)?.trim() || undefined;

  const attempt = (partners: readonly PartnerConfig[]) => {
    const candidates = named ? partners.filter((p) => p.id === named) : partners;
    // Every candidate is checked (no early exit) so timing does not tell which partner matched.
    const results = candidates.map((p) => ({ p, r: verifySignature(body, signature, p.secrets, keyId) }));
    const malformed = results.some((x) => !x.r.ok && x.r.reason === 'MALFORMED');
    const matched = results.filter((x) => x.r.ok).map((x) => x.p);
    return { matched, malformed };
  };

  let outcome = attempt(await registry.partners());
  if (outcome.matched.length === 0 && !outcome.malformed) {
    // A secret stored moments ago (rotation) is not in the cache yet: re-read once (rate-limited).
    outcome = attempt(await registry.partners({ forceRefresh: true }));
  }
  if (outcome.malformed) throw unauthorized(`The ${SIGNATURE_HEADER} header must be sha256=<64 hex digits>.`);
  const [partner] = outcome.matched;
  if (!partner) throw unauthorized('The signature does not verify.');
  return partner;
}

const prefixed = (index: number | undefined, path: string) =>
  index === undefined ? path : path ? `[${index}].${path}` : `[${index}]`;

function invalid(detail: string, errors: FieldError[]): HttpError {
  return new HttpError(400, detail, { title: 'Malformed event', errors });
}

/** Validates, authorises and publishes the events of one request; see the module comment. */
export async function ingestEvents(deps: IngestDeps, req: IngestRequest): Promise<IngestResult> {
  const progress: IngestProgress = { step: 1 };
  try {
    const result = await ingest(deps, req, progress);
    recordMetric('inboundAccepted', result.events.length, { partner: result.partner });
    return result;
  } catch (e) {
    recordMetric('inboundRejected', progress.events ?? 1, {
      partner: progress.partner ?? 'unknown',
      reason: INGEST_REJECTIONS[progress.step],
    });
    throw e;
  }
}

/** How far a request got: the step running, the partner and event count once known. */
interface IngestProgress {
  step: IngestStep;
  partner?: string;
  events?: number;
}

async function ingest(deps: IngestDeps, req: IngestRequest, progress: IngestProgress): Promise<IngestResult> {
  const partner = await authenticatePartner(deps.partners, req.headers, req.body);
  progress.partner = partner.id;
  progress.step = 2;

  let message: ReturnType<typeof parseHttpMessage>;
  try {
    message = parseHttpMessage(req.headers, req.body);
  } catch (e) {
    if (e instanceof BindingError) {
      throw invalid(`Not a CloudEvents message: ${e.message}.`, [
        {
          path: e.path,
          message: e.message,
          in: e.path === 'body' || e.path.startsWith('[') ? 'body' : 'header',
        },
      ]);
    }
    throw e;
  }
  progress.events = message.events.length;
  progress.step = 3;
  const batch = message.mode === 'batch';
  const indexOf = (i: number) => (batch ? i : undefined);

  // 3. envelopes
  const envelopeErrors: FieldError[] = [];
  const envelopes = message.events.map((raw, i) => {
    const r = CloudEventEnvelopeSchema.safeParse(raw);
    if (!r.success) {
      for (const issue of r.error.issues) {
        envelopeErrors.push({
          path: prefixed(indexOf(i), issue.path.map(String).join('.')),
          message: issue.message,
          in: message.mode === 'binary' ? 'header' : 'body',
        });
      }
      return undefined;
    }
    return r.data;
  });
  if (envelopeErrors.length > 0) throw invalid('The request holds an invalid CloudEvent.', envelopeErrors);

  // 4. allow-list
  progress.step = 4;
  const denied = envelopes.flatMap((e, i) =>
    e && !partnerAllows(partner, e.source, e.type) ? [{ i, source: e.source, type: e.type }] : [],
  );
  if (denied.length > 0) {
    const d = denied[0]!;
    deps.log?.('event source not allowed for partner', { partner: partner.id, denied });
    throw new HttpError(403, `Partner ${partner.id} may not send ${d.type} events from source ${d.source}.`, {
      title: 'Forbidden',
      errors: denied.map((x) => ({
        path: prefixed(indexOf(x.i), 'source'),
        message: `source ${x.source} / type ${x.type} is not allowed for partner ${partner.id}`,
      })),
    });
  }

  // 5. type and data
  progress.step = 5;
  const events: InboundCloudEvent[] = [];
  const dataErrors: FieldError[] = [];
  message.events.forEach((raw, i) => {
    const r = parseInboundEvent(raw);
    if (r.ok) events.push(r.event);
    else {
      for (const issue of r.issues) {
        dataErrors.push({ path: prefixed(indexOf(i), issue.path), message: issue.message, in: 'body' });
      }
    }
  });
  if (dataErrors.length > 0) throw invalid('The request holds an event LCM does not accept.', dataErrors);

  // 6. publish (the raw attributes as sent, so extensions travel with the event)
  progress.step = 6;
  // (The envelope attributes are validated strings; the InboundCloudEvent type loses that.)
  const seen = new Set<string>();
  const unique: Array<{ ref: { id: string; source: string; type: string }; raw: Record<string, unknown> }> =
    [];
  events.forEach((event, i) => {
    const ref = { id: event.id as string, source: event.source as string, type: event.type };
    const key = `${ref.source}\u0000${ref.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    unique.push({ ref, raw: message.events[i]! });
  });
  try {
    await deps.publisher.publish(unique.map(({ ref, raw }) => ({ ...raw, ...ref })));
  } catch (e) {
    if (e instanceof PublishError) {
      deps.log?.('publishing to the bus failed', { partner: partner.id, failed: e.failed });
      throw new HttpError(
        e.retryable ? 503 : 502,
        e.retryable
          ? 'The event bus is busy; nothing was lost on your side: resend the request.'
          : 'The event bus refused the events; resend the request later.',
        e.retryable ? { headers: { 'retry-after': '1' } } : {},
      );
    }
    throw e;
  }
  return {
    partner: partner.id,
    mode: message.mode,
    events: unique.map(({ ref }) => ref),
  };
}
