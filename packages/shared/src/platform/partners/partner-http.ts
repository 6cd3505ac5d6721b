import { $ZodError } from 'zod/v4/core';
import {
  HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
  IntegrationError,
  type IntegrationLogger,
  type RetryPolicy,
} from './http.ts';
import type { ApiKeyProvider } from './secrets.ts';

/** What the API-key partners (LDS, Grading Engine) share: options and the keyed HTTP calls. */

export interface PartnerClientOptions {
  baseUrl: string;
  apiKey: ApiKeyProvider;
  timeoutMs?: number | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  fetch?: typeof fetch | undefined;
  logger?: IntegrationLogger | undefined;
  sleep?: HttpClientOptions['sleep'];
  random?: HttpClientOptions['random'];
}

/** How a partner's wire format carries the API key and the idempotency key of a create. */
export interface ApiKeyWire {
  /** Header carrying the API key, and a prefix for its value (e.g. `Bearer `). */
  apiKeyHeader: string;
  apiKeyPrefix: string;
  /** Empty when the partner has none (its creates are then not retried). */
  idempotencyKeyHeader: string;
}

/**
 * Calls with the partner's API key; on 401 the key is re-read once (it may have been rotated
 * in Secrets Manager) and the call repeated once.
 */
export class ApiKeyHttp {
  readonly http: HttpClient;
  private readonly apiKey: ApiKeyProvider;
  constructor(
    service: string,
    opts: PartnerClientOptions,
    private readonly wire: ApiKeyWire,
  ) {
    this.apiKey = opts.apiKey;
    this.http = new HttpClient({
      service,
      baseUrl: opts.baseUrl,
      timeoutMs: opts.timeoutMs,
      retry: opts.retry,
      fetch: opts.fetch,
      logger: opts.logger,
      sleep: opts.sleep,
      random: opts.random,
    });
  }

  async request<T>(req: HttpRequest): Promise<HttpResponse<T>> {
    const send = async (forceRefresh: boolean) => {
      const key = await this.apiKey.getApiKey({ forceRefresh });
      return this.http.request<T>({
        ...req,
        headers: { ...req.headers, [this.wire.apiKeyHeader]: `${this.wire.apiKeyPrefix}${key}` },
      });
    };
    try {
      return await send(false);
    } catch (e) {
      if (e instanceof IntegrationError && e.status === 401) return send(true);
      throw e;
    }
  }

  /**
   * A create-style POST made idempotent on the partner's side by the wire format's
   * idempotency-key header (none: then it is not retried), decoded.
   */
  async createKeyed<T>(op: {
    path: string;
    operation: string;
    body: unknown;
    key: string;
    decode: (body: unknown) => T;
  }): Promise<T> {
    const keyHeader = this.wire.idempotencyKeyHeader;
    const res = await this.request<unknown>({
      method: 'POST',
      path: op.path,
      operation: op.operation,
      headers: keyHeader ? { [keyHeader]: op.key } : {},
      body: op.body,
      idempotent: keyHeader !== '',
    });
    return this.decode(op.operation, res.status, () => op.decode(res.body));
  }

  decode<T>(operation: string, status: number, decode: () => T): T {
    try {
      return decode();
    } catch (cause) {
      const first = cause instanceof $ZodError ? cause.issues[0] : undefined;
      const where = first ? ` at ${first.path.join('.') || '(root)'}: ${first.message}` : '';
      throw new IntegrationError(`${this.http.service} ${operation}: unexpected response${where}`, {
        service: this.http.service,
        operation,
        code: 'INVALID_RESPONSE',
        status,
        retryable: false,
        cause,
      });
    }
  }
}

/** A partner client's options: the common ones and, optionally, a wire format of its own. */
export type WireClientOptions<W extends ApiKeyWire> = PartnerClientOptions & { wire?: W | undefined };

/** What an API-key partner client is made of: its wire format and the keyed HTTP calls over it. */
export abstract class WireClient<W extends ApiKeyWire> {
  protected readonly wire: W;
  protected readonly api: ApiKeyHttp;

  protected constructor(service: string, opts: WireClientOptions<W>, defaultWire: W) {
    this.wire = opts.wire ?? defaultWire;
    this.api = new ApiKeyHttp(service, opts, this.wire);
  }
}
