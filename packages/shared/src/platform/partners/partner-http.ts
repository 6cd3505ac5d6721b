import { z } from 'zod';
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

  decode<T>(operation: string, status: number, decode: () => T): T {
    try {
      return decode();
    } catch (cause) {
      const first = cause instanceof z.ZodError ? cause.issues[0] : undefined;
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
