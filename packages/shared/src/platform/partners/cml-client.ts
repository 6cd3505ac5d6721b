import { z } from 'zod';
import {
  HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
  IntegrationError,
  type IntegrationLogger,
  type RetryPolicy,
  seg,
} from './http.ts';
import type { CredentialsProvider } from './secrets.ts';

/**
 * Client of one CML worker's REST API (`https://<ip>/api/v0`, contract in
 * shared/reference/cml-api.md and docs/integrations.md). Token auth: `POST /authenticate`
 * returns a bare JSON string; every other call except `system_information` carries it as a
 * Bearer token. On 401 the token is dropped, the client re-authenticates once and repeats the
 * call once; a second 401 is an `IntegrationError` with code UNAUTHORIZED. 403 at
 * `/authenticate` is BAD_CREDENTIALS (after one retry with freshly read credentials, in case
 * the secret was rotated).
 */

// ---------------------------------------------------------------------------------------------
// Response shapes (loose: CML adds fields between versions; only what LCM reads is checked)

export const CmlSystemInformationSchema = z.looseObject({
  version: z.string().nullish(),
  ready: z.boolean(),
  allow_ssh_pubkey_auth: z.boolean().nullish(),
  oui: z.string().nullish(),
});

/** `controllerUp: false` means HTTP 502/503 (the controller is still starting): not ready. */
export interface CmlSystemInformation {
  controllerUp: boolean;
  ready: boolean;
  version?: string | undefined;
}

export const CmlLabStateSchema = z.string().min(1);
/** Lab states CML reports (any other string is passed through). */
export type CmlLabState = 'DEFINED_ON_CORE' | 'STOPPED' | 'STARTED' | (string & {});

export const CmlLabSchema = z.looseObject({
  id: z.string(),
  lab_title: z.string().nullish(),
  state: z.string().nullish(),
  node_count: z.number().nullish(),
  link_count: z.number().nullish(),
  owner: z.string().nullish(),
  owner_username: z.string().nullish(),
  created: z.string().nullish(),
  modified: z.string().nullish(),
});
export type CmlLab = z.infer<typeof CmlLabSchema>;

const ConfigFileSchema = z.looseObject({ name: z.string().nullish(), content: z.string().nullish() });
/** `configuration` is a list of files in 2.7+, a plain string in older servers, or null. */
const ConfigurationSchema = z.union([z.string(), z.array(ConfigFileSchema)]).nullish();

export const CmlNodeOperationalSchema = z.looseObject({
  cpus: z.number().nullish(),
  ram: z.number().nullish(),
  cpu_limit: z.number().nullish(),
  boot_disk_size: z.number().nullish(),
  data_volume: z.number().nullish(),
  compute_id: z.string().nullish(),
  image_definition: z.string().nullish(),
  resource_pool: z.string().nullish(),
  serial_consoles: z.array(z.unknown()).nullish(),
});

export const CmlNodeInfoSchema = z.looseObject({
  id: z.string(),
  lab_id: z.string().nullish(),
  label: z.string(),
  node_definition: z.string(),
  state: z.string().nullish(),
  boot_progress: z.string().nullish(),
  cpus: z.number().nullish(),
  ram: z.number().nullish(),
  cpu_limit: z.number().nullish(),
  tags: z
    .array(z.string())
    .nullish()
    .transform((t) => t ?? []),
  configuration: ConfigurationSchema,
  operational: CmlNodeOperationalSchema.nullish(),
});
export type CmlNodeInfo = z.infer<typeof CmlNodeInfoSchema>;

export const CmlInterfaceInfoSchema = z.looseObject({
  id: z.string(),
  lab_id: z.string().nullish(),
  node: z.string().nullish(),
  label: z.string().nullish(),
  slot: z.number().nullish(),
  type: z.string().nullish(),
  mac_address: z.string().nullish(),
  is_connected: z.boolean().nullish(),
  state: z.string().nullish(),
  operational: z
    .looseObject({
      device_name: z.string().nullish(),
      mac_address: z.string().nullish(),
      src_udp_port: z.number().nullish(),
      dst_udp_port: z.number().nullish(),
    })
    .nullish(),
});
export type CmlInterfaceInfo = z.infer<typeof CmlInterfaceInfoSchema>;

export const CmlLayer3AddressesSchema = z.record(
  z.string(),
  z.looseObject({
    name: z.string().nullish(),
    interfaces: z
      .record(
        z.string(),
        z.looseObject({
          id: z.string().nullish(),
          label: z.string().nullish(),
          ip4: z.array(z.string()).nullish(),
          ip6: z.array(z.string()).nullish(),
        }),
      )
      .nullish(),
  }),
);
export type CmlLayer3Addresses = z.infer<typeof CmlLayer3AddressesSchema>;

export const CmlSimulationStatsSchema = z.looseObject({
  nodes: z
    .record(
      z.string(),
      z.looseObject({
        cpu_usage: z.number().nullish(),
        ram_usage: z.number().nullish(),
        disk_usage: z.number().nullish(),
        block0_wr_bytes: z.number().nullish(),
        block0_rd_bytes: z.number().nullish(),
        times: z.record(z.string(), z.number()).nullish(),
      }),
    )
    .nullish()
    .transform((n) => n ?? {}),
  links: z
    .record(z.string(), z.looseObject({}))
    .nullish()
    .transform((l) => l ?? {}),
});
export type CmlSimulationStats = z.infer<typeof CmlSimulationStatsSchema>;

const StatsTripleSchema = z.looseObject({
  used: z.number().nullish(),
  free: z.number().nullish(),
  total: z.number().nullish(),
});

export const CmlSystemStatsSchema = z.looseObject({
  computes: z
    .record(
      z.string(),
      z.looseObject({
        hostname: z.string().nullish(),
        is_controller: z.boolean().nullish(),
        stats: z
          .looseObject({
            cpu: z.looseObject({ count: z.number().nullish(), percent: z.number().nullish() }).nullish(),
            memory: StatsTripleSchema.nullish(),
            disk: StatsTripleSchema.nullish(),
            dominfo: z
              .looseObject({
                total_nodes: z.number().nullish(),
                running_nodes: z.number().nullish(),
                allocated_cpus: z.number().nullish(),
                allocated_memory: z.number().nullish(),
              })
              .nullish(),
          })
          .nullish(),
      }),
    )
    .nullish()
    .transform((c) => c ?? {}),
  all: z
    .looseObject({
      cpu: z.looseObject({ count: z.number().nullish(), percent: z.number().nullish() }).nullish(),
      memory: StatsTripleSchema.nullish(),
      disk: StatsTripleSchema.nullish(),
    })
    .nullish(),
});
export type CmlSystemStats = z.infer<typeof CmlSystemStatsSchema>;

export const CmlSystemHealthSchema = z.looseObject({
  valid: z.boolean().nullish(),
  is_licensed: z.boolean().nullish(),
  is_enterprise: z.boolean().nullish(),
  computes: z.record(z.string(), z.unknown()).nullish(),
  controller: z.unknown().optional(),
});
export type CmlSystemHealth = z.infer<typeof CmlSystemHealthSchema>;

export const CmlLicensingSchema = z.looseObject({
  registration: z.looseObject({ status: z.string().nullish() }).nullish(),
  authorization: z.looseObject({ status: z.string().nullish() }).nullish(),
  product_license: z
    .looseObject({ active: z.string().nullish(), is_enterprise: z.boolean().nullish() })
    .nullish(),
  features: z.array(z.unknown()).nullish(),
});
export type CmlLicensing = z.infer<typeof CmlLicensingSchema>;

export interface CmlImportResult {
  id: string;
  warnings: string[];
}

export type CmlExtractResult =
  | {
      supported: true;
      /** The main configuration ("Main" file, or all files joined when none is called Main). */
      configuration: string;
      files: Array<{ name: string; content: string }>;
    }
  | {
      supported: false;
      /** CML's 400 description (e.g. node not booted, or its node definition cannot extract). */
      reason: string;
    };

/** Node states in which a node runs. */
export const CML_ACTIVE_NODE_STATES: readonly string[] = ['STARTED', 'QUEUED', 'BOOTED'];

// ---------------------------------------------------------------------------------------------
// The interface

/** The CML calls LCM makes against one worker. */
export interface CmlApi {
  readonly baseUrl: string;
  /** No auth. 502/503 (controller still starting) → `{controllerUp: false, ready: false}`. */
  systemInformation(): Promise<CmlSystemInformation>;
  systemHealth(): Promise<CmlSystemHealth>;
  systemStats(): Promise<CmlSystemStats>;
  licensing(): Promise<CmlLicensing>;
  registerLicense(token: string, opts?: { reregister?: boolean }): Promise<void>;
  /** Lab ids (`showAll` needs an admin user). */
  listLabs(opts?: { showAll?: boolean }): Promise<string[]>;
  /** `POST /import?title=` with the topology YAML; not retried (it is not idempotent). */
  importLab(topologyYaml: string, title?: string): Promise<CmlImportResult>;
  getLab(labId: string): Promise<CmlLab>;
  labState(labId: string): Promise<CmlLabState>;
  startLab(labId: string): Promise<void>;
  checkIfConverged(labId: string): Promise<boolean>;
  stopLab(labId: string): Promise<void>;
  wipeLab(labId: string): Promise<void>;
  /** Needs a stopped and wiped lab. A lab that is already gone (404) → `{deleted: false}`. */
  deleteLab(labId: string): Promise<{ deleted: boolean }>;
  /** Node objects with operational data. */
  listNodes(labId: string): Promise<CmlNodeInfo[]>;
  getNode(labId: string, nodeId: string, opts?: { excludeConfigurations?: boolean }): Promise<CmlNodeInfo>;
  nodeInterfaces(labId: string, nodeId: string): Promise<CmlInterfaceInfo[]>;
  layer3Addresses(labId: string): Promise<CmlLayer3Addresses>;
  simulationStats(labId: string): Promise<CmlSimulationStats>;
  /** 400 (not booted, or extraction unsupported) → `{supported: false}`, not an error. */
  extractConfiguration(labId: string, nodeId: string): Promise<CmlExtractResult>;
}

// ---------------------------------------------------------------------------------------------
// The client

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
        const token = z.string().min(1).safeParse(res.body);
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

  // --- labs ----------------------------------------------------------------------------------

  listLabs(opts: { showAll?: boolean } = {}): Promise<string[]> {
    return this.authedJson(
      {
        method: 'GET',
        path: '/labs',
        operation: 'listLabs',
        query: { show_all: opts.showAll ? true : undefined },
      },
      z.array(z.string()),
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
      z.looseObject({ id: z.string().min(1), warnings: z.array(z.unknown()).nullish() }),
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
      z.boolean(),
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

/** Normalises `configuration` (string | [{name, content}] | null) to a list of files. */
export function configurationFiles(
  configuration: CmlNodeInfo['configuration'],
): Array<{ name: string; content: string }> {
  if (configuration == null) return [];
  if (typeof configuration === 'string') return [{ name: 'Main', content: configuration }];
  return configuration
    .filter((f) => typeof f.content === 'string')
    .map((f) => ({ name: f.name ?? 'Main', content: f.content as string }));
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
