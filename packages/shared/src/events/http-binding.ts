import { CLOUDEVENTS_BATCH_CONTENT_TYPE, CLOUDEVENTS_CONTENT_TYPE } from './schemas.ts';

/**
 * The CloudEvents HTTP protocol binding (v1.0.2), receiving side: structured mode
 * (`application/cloudevents+json`, the event is the body), batch mode
 * (`application/cloudevents-batch+json`, a JSON array of structured events) and binary mode
 * (context attributes in `ce-*` headers, `content-type` = `datacontenttype`, the body is `data`).
 * It turns a request into plain attribute objects; validating them (envelope, type, data) is
 * schemas.ts's job.
 *
 * Why not the `cloudevents` SDK's `HTTP.toEvent`: its deserializer builds `CloudEvent` objects
 * that fill in a missing `id` (random UUID) and `time` (now) and, in batch mode, throw plain
 * validation errors without a field path. A partner event without an id must be a 400 (the id is
 * the deduplication key), so the binding is parsed here, strictly; the SDK's serializers are
 * used by the tests to produce requests in every mode.
 */

export type BindingMode = 'structured' | 'binary' | 'batch';

export interface BindingMessage {
  mode: BindingMode;
  /** The events' attributes as sent (unvalidated), one per event, in order. */
  events: Record<string, unknown>[];
}

export type HeaderMap = Record<string, string | string[] | undefined>;

/** A request that is not a CloudEvents message (→ 400). `path` points into the request. */
export class BindingError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'BindingError';
  }
}

/** At most this many events in one batch request (EventBridge takes 10 per call; we batch). */
export const MAX_BATCH_EVENTS = 100;

const CE_PREFIX = 'ce-';

function lowerHeaders(headers: HeaderMap): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out.set(k.toLowerCase(), Array.isArray(v) ? v.join(',') : v);
  }
  return out;
}

/** `application/cloudevents+json; charset=utf-8` → { mediaType, charset }. */
export function parseContentType(value: string | undefined): { mediaType: string; charset?: string } {
  if (!value) return { mediaType: '' };
  const [media = '', ...params] = value.split(';').map((p) => p.trim());
  const charset = params
    .map((p) => p.toLowerCase())
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/^"|"$/g, '');
  return { mediaType: media.toLowerCase(), ...(charset !== undefined ? { charset } : {}) };
}

const isJsonMediaType = (mediaType: string): boolean => /^application\/(?:[\w.-]+\+)?json$/.test(mediaType);

function decodeUtf8(body: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new BindingError('the body is not valid UTF-8', path);
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BindingError(`the body is not valid JSON: ${(e as Error).message}`, path);
  }
}

function checkCharset(charset: string | undefined): void {
  if (charset !== undefined && charset !== 'utf-8') {
    throw new BindingError(`only UTF-8 is accepted, got charset=${charset}`, 'content-type');
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Binary-mode header values are percent-encoded (HTTP binding §3.1.3.2). */
function decodeHeaderValue(value: string, name: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new BindingError(`header ${name} is not validly percent-encoded`, name);
  }
}

/**
 * Parses a request into CloudEvent attribute objects, choosing the mode as the binding says:
 * the media type decides structured/batch; otherwise `ce-specversion` or `ce-id` headers mean
 * binary mode. Anything else is a BindingError.
 */
export function parseHttpMessage(headers: HeaderMap, body: Uint8Array): BindingMessage {
  const h = lowerHeaders(headers);
  const { mediaType, charset } = parseContentType(h.get('content-type'));

  if (mediaType === CLOUDEVENTS_BATCH_CONTENT_TYPE) {
    checkCharset(charset);
    const parsed = parseJson(decodeUtf8(body, 'body'), 'body');
    if (!Array.isArray(parsed)) throw new BindingError('a batch is a JSON array of CloudEvents', 'body');
    if (parsed.length === 0) throw new BindingError('the batch is empty', 'body');
    if (parsed.length > MAX_BATCH_EVENTS) {
      throw new BindingError(
        `a batch holds at most ${MAX_BATCH_EVENTS} events, got ${parsed.length}`,
        'body',
      );
    }
    parsed.forEach((e, i) => {
      if (!isPlainObject(e)) throw new BindingError('each batch element must be a JSON object', `[${i}]`);
    });
    return { mode: 'batch', events: parsed as Record<string, unknown>[] };
  }

  if (mediaType === CLOUDEVENTS_CONTENT_TYPE) {
    checkCharset(charset);
    const parsed = parseJson(decodeUtf8(body, 'body'), 'body');
    if (!isPlainObject(parsed)) throw new BindingError('a structured CloudEvent is a JSON object', 'body');
    return { mode: 'structured', events: [parsed] };
  }

  if (mediaType.startsWith('application/cloudevents')) {
    throw new BindingError(
      `unsupported event format ${mediaType}: use ${CLOUDEVENTS_CONTENT_TYPE} or ${CLOUDEVENTS_BATCH_CONTENT_TYPE}`,
      'content-type',
    );
  }

  if (h.has(`${CE_PREFIX}specversion`) || h.has(`${CE_PREFIX}id`)) {
    const event: Record<string, unknown> = {};
    for (const [name, value] of h) {
      if (!name.startsWith(CE_PREFIX)) continue;
      const attribute = name.slice(CE_PREFIX.length);
      if (attribute === 'datacontenttype' || attribute === 'data' || attribute === 'data_base64') {
        throw new BindingError(`${name} is not a binary-mode header`, name);
      }
      event[attribute] = decodeHeaderValue(value, name);
    }
    const contentType = h.get('content-type');
    if (contentType !== undefined && contentType !== '') event.datacontenttype = contentType;
    if (body.length > 0) {
      if (mediaType === '' || isJsonMediaType(mediaType)) {
        checkCharset(charset);
        event.data = parseJson(decodeUtf8(body, 'body'), 'body');
      } else if (mediaType.startsWith('text/')) {
        event.data = decodeUtf8(body, 'body');
      } else {
        event.data_base64 = Buffer.from(body).toString('base64');
      }
    }
    return { mode: 'binary', events: [event] };
  }

  throw new BindingError(
    `not a CloudEvent: send ${CLOUDEVENTS_CONTENT_TYPE} (structured), ${CLOUDEVENTS_BATCH_CONTENT_TYPE} (batch) or ce-* headers (binary)`,
    'content-type',
  );
}
