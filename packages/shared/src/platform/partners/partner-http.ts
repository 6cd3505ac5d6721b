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

/**
 * Calls with the partner's API key; on 401 the key is re-read once (it may have been rotated
 * in Secrets Manager) and the call repeated once.
 */
export class ApiKeyHttp {
  readonly http: HttpClient;
  constructor(
    service: string,
    opts: PartnerClientOptions,
    private readonly apiKey: ApiKeyProvider,
    private readonly header: string,
    private readonly prefix: string,
  ) {
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
        headers: { ...req.headers, [this.header]: `${this.prefix}${key}` },
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
   * A create-style POST made idempotent on the partner's side by its idempotency-key header
   * (`keyHeader`, empty when the partner's wire format has none: then it is not retried), decoded.
   */
  async createKeyed<T>(op: {
    path: string;
    operation: string;
    body: unknown;
    keyHeader: string;
    key: string;
    decode: (body: unknown) => T;
  }): Promise<T> {
    const res = await this.request<unknown>({
      method: 'POST',
      path: op.path,
      operation: op.operation,
      headers: op.keyHeader ? { [op.keyHeader]: op.key } : {},
      body: op.body,
      idempotent: op.keyHeader !== '',
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
