import type { FieldError } from '../platform/index.ts';
import { HttpError, recordMetric } from '../platform/index.ts';
import { BindingError, type BindingMode, type HeaderMap, parseHttpMessage } from './http-binding.ts';
import { type PartnerConfig, type PartnerRegistry, partnerAllows } from './partners.ts';
import { type EventPublisher, PublishError } from './publisher.ts';
import { CloudEventEnvelopeSchema, type InboundCloudEvent, parseInboundEvent } from './schemas.ts';
import { headerValue, KEY_ID_HEADER, SIGNATURE_HEADER, verifySignature } from './signature.ts';
import {
  DEFAULT_TIMESTAMP_TOLERANCE_SECONDS,
  verifyWebhook,
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
} from './webhooks.ts';

/**
 * `POST /v1/events` (DESIGN §7): partners push CloudEvents over the HTTP binding (structured,
 * binary or batch mode). In order, and nothing reaches the bus unless every step passes:
 *
 * 1. Authenticate (401): a Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
 *    `webhook-signature`, webhooks.ts) must verify with an active secret of a partner, and its
 *    timestamp be within that partner's window (default 5 minutes either way; else reason
 *    TIMESTAMP). The partner is the one named by the optional `x-lcm-partner` header, else the
 *    partner whose secret verifies (secrets are per partner, so the match identifies it). The old
 *    `x-lcm-signature: sha256=<hex>` form (no timestamp) verifies only for a partner configured
 *    with `legacySignature: true`; from any other partner it is refused (reason LEGACY_SIGNATURE).
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
 * the body is not even a CloudEvents message), reason the step that refused it (INGEST_REJECTIONS;
 * step 1 more precisely: SIGNATURE, TIMESTAMP or LEGACY_SIGNATURE); the partner is `unknown`
 * until the signature identified one (TIMESTAMP and LEGACY_SIGNATURE name it).
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
  /** Milliseconds since the epoch, for the signature's replay window (tests); default the system clock. */
  nowMs?: () => number;
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

/** Why authentication refused a request, for InboundEventsRejected {reason}. */
export type SignatureRejection = 'SIGNATURE' | 'TIMESTAMP' | 'LEGACY_SIGNATURE';

/** A 401 of step 1, with the precise rejection reason and the partner when one was identified. */
export class PartnerAuthError extends HttpError {
  constructor(
    detail: string,
    readonly reason: SignatureRejection = 'SIGNATURE',
    readonly partner?: string,
  ) {
    super(401, detail, {
      title: 'Unauthorized',
      headers: {
        'www-authenticate': `Standard-Webhooks headers="${WEBHOOK_ID_HEADER} ${WEBHOOK_TIMESTAMP_HEADER} ${WEBHOOK_SIGNATURE_HEADER}"`,
      },
    });
  }
}

/** Options of authentication: the clock (tests). */
export interface AuthenticateOptions {
  nowMs?: () => number;
}

/**
 * The partner whose secret verifies the request's signature, or a 401 (PartnerAuthError):
 * Standard Webhooks headers when present, else the legacy `x-lcm-signature` for the partners
 * configured for it. Every candidate partner is checked (no early exit) so timing does not tell
 * which one matched; a signature matching none re-reads the registry once (rate-limited), as a
 * secret stored moments ago (rotation) may not be in the cache yet.
 */
export async function authenticatePartner(
  registry: PartnerRegistry,
  headers: HeaderMap,
  body: Uint8Array,
  opts: AuthenticateOptions = {},
): Promise<PartnerConfig> {
  const named = headerValue(headers, PARTNER_HEADER)?.trim();
  const candidatesOf = (partners: readonly PartnerConfig[]) =>
    named ? partners.filter((p) => p.id === named) : partners;
  const withRefresh = async <T extends { matched: unknown[]; malformed: boolean }>(
    attempt: (partners: readonly PartnerConfig[]) => T,
  ): Promise<T> => {
    const first = attempt(candidatesOf(await registry.partners()));
    if (first.matched.length > 0 || first.malformed) return first;
    return attempt(candidatesOf(await registry.partners({ forceRefresh: true })));
  };

  const webhook = {
    id: headerValue(headers, WEBHOOK_ID_HEADER),
    timestamp: headerValue(headers, WEBHOOK_TIMESTAMP_HEADER),
    signature: headerValue(headers, WEBHOOK_SIGNATURE_HEADER),
  };
  if (webhook.signature !== undefined || webhook.id !== undefined || webhook.timestamp !== undefined) {
    const nowMs = opts.nowMs?.() ?? Date.now();
    const outcome = await withRefresh((partners) => {
      const results = partners.map((p) => ({
        p,
        r: verifyWebhook(body, webhook, p.secrets, { nowMs, toleranceSeconds: p.toleranceSeconds }),
      }));
      return {
        malformed: results.some((x) => !x.r.ok && (x.r.reason === 'MALFORMED' || x.r.reason === 'MISSING')),
        matched: results.filter((x) => x.r.ok || x.r.reason === 'TIMESTAMP'),
      };
    });
    if (outcome.malformed) {
      throw new PartnerAuthError(
        `Sign with all three Standard Webhooks headers: ${WEBHOOK_ID_HEADER}, ${WEBHOOK_TIMESTAMP_HEADER} (integer seconds) and ${WEBHOOK_SIGNATURE_HEADER} (v1,<base64>).`,
      );
    }
    const [match] = outcome.matched;
    if (!match) throw new PartnerAuthError('The signature does not verify.');
    if (!match.r.ok && match.r.reason === 'TIMESTAMP') {
      const tolerance = match.p.toleranceSeconds ?? DEFAULT_TIMESTAMP_TOLERANCE_SECONDS;
      const skew = match.r.skewSeconds;
      throw new PartnerAuthError(
        `The ${WEBHOOK_TIMESTAMP_HEADER} is ${Math.abs(skew)} s ${skew > 0 ? 'in the past' : 'in the future'}; ` +
          `LCM accepts ${tolerance} s either way (a replay, or the sender's clock is off).`,
        'TIMESTAMP',
        match.p.id,
      );
    }
    return match.p;
  }

  const signature = headerValue(headers, SIGNATURE_HEADER);
  if (!signature) {
    throw new PartnerAuthError(
      `Sign the request with the Standard Webhooks headers ${WEBHOOK_ID_HEADER}, ${WEBHOOK_TIMESTAMP_HEADER} and ${WEBHOOK_SIGNATURE_HEADER}.`,
    );
  }
  const keyId = headerValue(headers, KEY_ID_HEADER)?.trim() || undefined;
  const outcome = await withRefresh((partners) => {
    const results = partners.map((p) => ({ p, r: verifySignature(body, signature, p.secrets, keyId) }));
    return {
      malformed: results.some((x) => !x.r.ok && x.r.reason === 'MALFORMED'),
      matched: results.filter((x) => x.r.ok).map((x) => x.p),
    };
  });
  if (outcome.malformed)
    throw new PartnerAuthError(`The ${SIGNATURE_HEADER} header must be sha256=<64 hex digits>.`);
  const [partner] = outcome.matched;
  if (!partner) throw new PartnerAuthError('The signature does not verify.');
  if (!partner.legacySignature) {
    throw new PartnerAuthError(
      `Partner ${partner.id} must sign with the Standard Webhooks headers (${WEBHOOK_ID_HEADER}, ${WEBHOOK_TIMESTAMP_HEADER}, ${WEBHOOK_SIGNATURE_HEADER}); ${SIGNATURE_HEADER} is accepted only from partners configured with legacySignature.`,
      'LEGACY_SIGNATURE',
      partner.id,
    );
  }
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
    const auth = e instanceof PartnerAuthError ? e : undefined;
    recordMetric('inboundRejected', progress.events ?? 1, {
      partner: progress.partner ?? auth?.partner ?? 'unknown',
      reason: auth?.reason ?? INGEST_REJECTIONS[progress.step],
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
  const partner = await authenticatePartner(
    deps.partners,
    req.headers,
    req.body,
    deps.nowMs ? { nowMs: deps.nowMs } : {},
  );
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
