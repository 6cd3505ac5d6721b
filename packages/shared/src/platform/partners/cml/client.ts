import * as z from 'zod';
import {
  HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
  IntegrationError,
  type IntegrationLogger,
  type RetryPolicy,
  seg,
} from '../http.ts';
import type { CredentialsProvider } from '../secrets.ts';
import type { CmlApi, CmlExtractResult, CmlImportResult, CmlLabState, CmlSystemInformation } from './api.ts';
import {
  CmlConvergedSchema,
  type CmlDefinitionList,
  CmlDefinitionListSchema,
  CmlImportAnswerSchema,
  type CmlInterfaceInfo,
  CmlInterfaceInfoSchema,
  type CmlLab,
  CmlLabIdsSchema,
  CmlLabSchema,
  CmlLabStateSchema,
  type CmlLayer3Addresses,
  CmlLayer3AddressesSchema,
  type CmlLicensing,
  CmlLicensingSchema,
  type CmlNodeInfo,
  CmlNodeInfoSchema,
  type CmlSimulationStats,
  CmlSimulationStatsSchema,
  type CmlSystemHealth,
  CmlSystemHealthSchema,
  CmlSystemInformationSchema,
  type CmlSystemStats,
  CmlSystemStatsSchema,
  CmlTokenSchema,
  configurationFiles,
} from './wire.ts';

/**
 * Client of one CML worker's REST API (`https://<ip>/api/v0`, contract in
 * shared/reference/cml-api.md and docs/integrations.md). Token auth: `POST /authenticate`
 * returns a bare JSON string; every other call except `system_information` carries it as a
 * Bearer token. On 401 the token is dropped, the client re-authenticates once and repeats the
 * call once; a second 401 is an `IntegrationError` with code UNAUTHORIZED. 403 at
 * `/authenticate` is BAD_CREDENTIALS (after one retry with freshly read credentials, in case
 * the secret was rotated).
 */

export interface CmlClientOptions {
  /** e.g. `https://10.0.1.7/api/v0` or a simulator's URL. */
  baseUrl: string;
  credentials: CredentialsProvider;
  timeoutMs?: number | undefined;
  /** Timeout of `POST /import` (default 60 s: large topologies take a while). */
  importTimeoutMs?: number | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  fetch?: typeof fetch | undefined;
  logger?: IntegrationLogger | undefined;
  sleep?: HttpClientOptions['sleep'];
  random?: HttpClientOptions['random'];
}

type AuthedRequest = Omit<HttpRequest, 'headers'> & { headers?: Record<string, string> };

export class CmlClient implements CmlApi {
  readonly baseUrl: string;
  private readonly http: HttpClient;
  private readonly credentials: CredentialsProvider;
  private readonly importTimeoutMs: number;
  private token: string | undefined;
  private authenticating: Promise<string> | undefined;

  constructor(opts: CmlClientOptions) {
    this.http = new HttpClient({
      service: 'cml',
      baseUrl: opts.baseUrl,
      timeoutMs: opts.timeoutMs,
      retry: opts.retry,
      fetch: opts.fetch,
      logger: opts.logger,
      sleep: opts.sleep,
      random: opts.random,
    });
    this.baseUrl = this.http.baseUrl;
    this.credentials = opts.credentials;
    this.importTimeoutMs = opts.importTimeoutMs ?? 60_000;
  }

  // --- auth ----------------------------------------------------------------------------------

  /** Drops the cached token (the next call authenticates). */
  forgetToken(): void {
    this.token = undefined;
  }

  private async getToken(): Promise<string> {
    if (this.token) return this.token;
    if (!this.authenticating) {
      this.authenticating = this.authenticate().finally(() => {
        this.authenticating = undefined;
      });
    }
    return this.authenticating;
  }

  private async authenticate(): Promise<string> {
    let credentials = await this.credentials.getCredentials();
    for (let round = 1; ; round++) {
      try {
        const res = await this.http.request<unknown>({
          method: 'POST',
          path: '/authenticate',
          operation: 'authenticate',
          body: { username: credentials.username, password: credentials.password },
          // Authenticating has no side effect: safe to repeat.
          idempotent: true,
        });
        const token = CmlTokenSchema.safeParse(res.body);
        if (!token.success) {
          throw new IntegrationError('cml authenticate: expected a JSON string token', {
            service: 'cml',
            operation: 'authenticate',
            code: 'INVALID_RESPONSE',
            status: res.status,
            retryable: false,
          });
        }
        this.token = token.data;
        return token.data;
      } catch (e) {
        if (!(e instanceof IntegrationError) || e.status !== 403) throw e;
        // The secret may have been rotated since it was cached: re-read it once.
        if (round === 1) {
          const fresh = await this.credentials.getCredentials({ forceRefresh: true });
          if (fresh.username !== credentials.username || fresh.password !== credentials.password) {
            credentials = fresh;
            continue;
          }
        }
        throw new IntegrationError(
          `cml authenticate rejected the credentials of user ${credentials.username} (HTTP 403)`,
          { service: 'cml', operation: 'authenticate', code: 'BAD_CREDENTIALS', status: 403, body: e.body },
        );
      }
    }
  }

  /** A Bearer call; on 401 re-authenticates once and repeats the call once. */
  private async authed<T>(req: AuthedRequest): Promise<HttpResponse<T>> {
    const token = await this.getToken();
    try {
      return await this.http.request<T>({
        ...req,
        headers: { ...req.headers, authorization: `Bearer ${token}` },
      });
    } catch (e) {
      if (!(e instanceof IntegrationError) || e.status !== 401) throw e;
      if (this.token === token) this.token = undefined;
      const fresh = await this.getToken();
      return this.http.request<T>({ ...req, headers: { ...req.headers, authorization: `Bearer ${fresh}` } });
    }
  }

  private async authedJson<S extends z.ZodType>(req: AuthedRequest, schema: S): Promise<z.output<S>> {
    const res = await this.authed<unknown>(req);
    return this.check(schema, res.body, req.operation, res.status);
  }

  private check<S extends z.ZodType>(
    schema: S,
    body: unknown,
    operation: string,
    status: number,
  ): z.output<S> {
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    const where = parsed.error.issues[0];
    throw new IntegrationError(
      `cml ${operation}: unexpected response${where ? ` at ${where.path.join('.') || '(root)'}: ${where.message}` : ''}`,
      { service: 'cml', operation, code: 'INVALID_RESPONSE', status, retryable: false },
    );
  }

  // --- system --------------------------------------------------------------------------------

  async systemInformation(): Promise<CmlSystemInformation> {
    const res = await this.http.request<unknown>({
      method: 'GET',
      path: '/system_information',
      operation: 'systemInformation',
      acceptStatuses: [502, 503],
    });
    if (res.status === 502 || res.status === 503) return { controllerUp: false, ready: false };
    const info = this.check(CmlSystemInformationSchema, res.body, 'systemInformation', res.status);
    return { controllerUp: true, ready: info.ready, version: info.version ?? undefined };
  }

  systemHealth(): Promise<CmlSystemHealth> {
    return this.authedJson(
      { method: 'GET', path: '/system_health', operation: 'systemHealth' },
      CmlSystemHealthSchema,
    );
  }

  systemStats(): Promise<CmlSystemStats> {
    return this.authedJson(
      { method: 'GET', path: '/system_stats', operation: 'systemStats' },
      CmlSystemStatsSchema,
    );
  }

  nodeDefinitions(): Promise<CmlDefinitionList> {
    return this.authedJson(
      { method: 'GET', path: '/node_definitions', operation: 'nodeDefinitions' },
      CmlDefinitionListSchema,
    );
  }

  imageDefinitions(): Promise<CmlDefinitionList> {
    return this.authedJson(
      { method: 'GET', path: '/image_definitions', operation: 'imageDefinitions' },
      CmlDefinitionListSchema,
    );
  }

  licensing(): Promise<CmlLicensing> {
    return this.authedJson({ method: 'GET', path: '/licensing', operation: 'licensing' }, CmlLicensingSchema);
  }

  async registerLicense(token: string, opts: { reregister?: boolean } = {}): Promise<void> {
    await this.authed({
      method: 'POST',
      path: '/licensing/registration',
      operation: 'registerLicense',
      body: { token, reregister: opts.reregister ?? false },
      responseKind: 'none',
      // Registering the same token again is harmless.
      idempotent: true,
    });
  }

  async deregisterLicense(): Promise<{ localOnly: boolean }> {
    const res = await this.authed({
      method: 'DELETE',
      path: '/licensing/deregistration',
      operation: 'deregisterLicense',
      responseKind: 'none',
    });
    return { localOnly: res.status === 202 };
  }

  // --- labs ----------------------------------------------------------------------------------

  listLabs(opts: { showAll?: boolean } = {}): Promise<string[]> {
    return this.authedJson(
      {
        method: 'GET',
        path: '/labs',
        operation: 'listLabs',
        query: { show_all: opts.showAll ? true : undefined },
      },
      CmlLabIdsSchema,
    );
  }

  async importLab(topologyYaml: string, title?: string): Promise<CmlImportResult> {
    const out = await this.authedJson(
      {
        method: 'POST',
        path: '/import',
        operation: 'importLab',
        query: { title },
        headers: { 'content-type': 'application/x-yaml' },
        body: topologyYaml,
        timeoutMs: this.importTimeoutMs,
        idempotent: false,
      },
      CmlImportAnswerSchema,
    );
    const warnings = (out.warnings ?? []).map((w) => (typeof w === 'string' ? w : JSON.stringify(w)));
    return { id: out.id, warnings };
  }

  getLab(labId: string): Promise<CmlLab> {
    return this.authedJson({ method: 'GET', path: `/labs/${seg(labId)}`, operation: 'getLab' }, CmlLabSchema);
  }

  labState(labId: string): Promise<CmlLabState> {
    return this.authedJson(
      { method: 'GET', path: `/labs/${seg(labId)}/state`, operation: 'labState' },
      CmlLabStateSchema,
    );
  }

  /** start/stop/wipe answer 200 or 204 with a body to ignore (UNVERIFIED in the reference). */
  private async labAction(
    labId: string,
    action: 'start' | 'stop' | 'wipe',
    operation: string,
  ): Promise<void> {
    await this.authed({
      method: 'PUT',
      path: `/labs/${seg(labId)}/${action}`,
      operation,
      responseKind: 'none',
    });
  }

  startLab(labId: string): Promise<void> {
    return this.labAction(labId, 'start', 'startLab');
  }

  stopLab(labId: string): Promise<void> {
    return this.labAction(labId, 'stop', 'stopLab');
  }

  wipeLab(labId: string): Promise<void> {
    return this.labAction(labId, 'wipe', 'wipeLab');
  }

  checkIfConverged(labId: string): Promise<boolean> {
    return this.authedJson(
      { method: 'GET', path: `/labs/${seg(labId)}/check_if_converged`, operation: 'checkIfConverged' },
      CmlConvergedSchema,
    );
  }

  async deleteLab(labId: string): Promise<{ deleted: boolean }> {
    const res = await this.authed({
      method: 'DELETE',
      path: `/labs/${seg(labId)}`,
      operation: 'deleteLab',
      responseKind: 'none',
      acceptStatuses: [404],
    });
    return { deleted: res.status !== 404 };
  }

  // --- nodes ---------------------------------------------------------------------------------

  listNodes(labId: string): Promise<CmlNodeInfo[]> {
    return this.authedJson(
      {
        method: 'GET',
        path: `/labs/${seg(labId)}/nodes`,
        operation: 'listNodes',
        query: { data: true, operational: true },
      },
      z.array(CmlNodeInfoSchema),
    );
  }

  getNode(
    labId: string,
    nodeId: string,
    opts: { excludeConfigurations?: boolean } = {},
  ): Promise<CmlNodeInfo> {
    return this.authedJson(
      {
        method: 'GET',
        path: `/labs/${seg(labId)}/nodes/${seg(nodeId)}`,
        operation: 'getNode',
        query: {
          operational: true,
          exclude_configurations:
            opts.excludeConfigurations === undefined ? undefined : opts.excludeConfigurations,
        },
      },
      CmlNodeInfoSchema,
    );
  }

  nodeInterfaces(labId: string, nodeId: string): Promise<CmlInterfaceInfo[]> {
    return this.authedJson(
      {
        method: 'GET',
        path: `/labs/${seg(labId)}/nodes/${seg(nodeId)}/interfaces`,
        operation: 'nodeInterfaces',
        query: { data: true, operational: true },
      },
      z.array(CmlInterfaceInfoSchema),
    );
  }

  layer3Addresses(labId: string): Promise<CmlLayer3Addresses> {
    return this.authedJson(
      { method: 'GET', path: `/labs/${seg(labId)}/layer3_addresses`, operation: 'layer3Addresses' },
      CmlLayer3AddressesSchema,
    );
  }

  simulationStats(labId: string): Promise<CmlSimulationStats> {
    return this.authedJson(
      { method: 'GET', path: `/labs/${seg(labId)}/simulation_stats`, operation: 'simulationStats' },
      CmlSimulationStatsSchema,
    );
  }

  async extractConfiguration(labId: string, nodeId: string): Promise<CmlExtractResult> {
    const path = `/labs/${seg(labId)}/nodes/${seg(nodeId)}`;
    const res = await this.authed<unknown>({
      method: 'PUT',
      path: `${path}/extract_configuration`,
      operation: 'extractConfiguration',
      acceptStatuses: [400],
      responseKind: 'text',
    });
    if (res.status === 400) {
      const body = res.body as { description?: string } | undefined;
      return { supported: false, reason: body?.description ?? 'configuration extraction not supported' };
    }
    // The PUT's body is a JSON string in the servers seen so far; the node's configuration is
    // the documented place to read it from, the PUT body is the fallback.
    const node = await this.getNode(labId, nodeId, { excludeConfigurations: false });
    const files = configurationFiles(node.configuration);
    if (files.length === 0) {
      const fromPut = jsonStringOrUndefined(res.body as string);
      if (fromPut !== undefined) files.push({ name: 'Main', content: fromPut });
    }
    const main = files.find((f) => f.name === 'Main');
    const configuration = main ? main.content : files.map((f) => f.content).join('\n');
    return { supported: true, configuration, files };
  }
}
function jsonStringOrUndefined(text: string): string | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

export const createCmlClient = (opts: CmlClientOptions): CmlApi => new CmlClient(opts);
