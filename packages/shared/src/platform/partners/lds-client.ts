import * as z from 'zod';
import { seg } from './http.ts';
import { type ApiKeyWire, WireClient, type WireClientOptions } from './partner-http.ts';

/**
 * Client of the Lab Delivery System (LDS): create a session for a content part, set the
 * devices the learner reaches, read the session (login URL), archive it. The REST contract is
 * LCM's own (docs/integrations.md §LDS); every wire name lives in `DEFAULT_LDS_WIRE`, so a
 * deployment whose LDS names things differently supplies its own `LdsWireFormat`.
 */

export interface LdsUser {
  id: string;
  username?: string | undefined;
  email?: string | undefined;
}

export interface CreateLdsSessionInput {
  /** The LDS content part: the definition's formQualifiedName. */
  partId: string;
  /** The LCM session id; LDS echoes it in its CloudEvents (`lcmSessionId`). */
  externalSessionId: string;
  user: LdsUser;
  timeslot?: { start: string; end: string } | undefined;
}

export type LdsProtocol = 'ssh' | 'telnet' | 'vnc' | 'http' | 'https' | 'rdp' | 'tcp' | 'udp';

/** One way into a device: a port leased on the worker and how to use it. */
export interface LdsDevicePort {
  /** The port template entry's name (`R1_serial`, `R1_vnc`). */
  name: string;
  port: number;
  protocol: LdsProtocol;
}

/**
 * A device LDS shows the learner: one per reachable node (issue 11, item 2). `port` and `protocol`
 * are its main way in (a console where it has one); `ports` lists every way in, the main one first
 * (a node with a serial console and VNC is one device with two ports).
 */
export interface LdsDevice {
  name: string;
  host: string;
  port: number;
  protocol: LdsProtocol;
  username?: string | undefined;
  password?: string | undefined;
  ports?: LdsDevicePort[] | undefined;
}

/** LDS session states (the wire string passes through; these are the ones LCM knows). */
export type LdsSessionState = 'PROVISIONED' | 'RUNNING' | 'PAUSED' | 'ENDED' | 'ARCHIVED' | (string & {});

export interface LdsSessionInfo {
  id: string;
  state: LdsSessionState;
  loginUrl?: string | undefined;
  externalSessionId?: string | undefined;
}

export interface LdsApi {
  /** Creates the session with its part. Safe to repeat: the external id is the idempotency key. */
  createSession(input: CreateLdsSessionInput): Promise<{ id: string }>;
  /**
   * The sessions LDS holds for an LCM session id (archived ones included): LCM looks before it
   * creates, and when tearing down a session whose LDS id it never recorded. An LDS that does not
   * offer the look-up (404, 405, 501) → `[]`.
   */
  findSessions(externalSessionId: string): Promise<LdsSessionInfo[]>;
  /** Replaces the session's device list. */
  setDevices(ldsSessionId: string, devices: readonly LdsDevice[]): Promise<void>;
  getSession(ldsSessionId: string): Promise<LdsSessionInfo>;
  /** Idempotent; a session LDS no longer knows (404) → `{archived: false}`. */
  archiveSession(ldsSessionId: string): Promise<{ archived: boolean }>;
}

// ---------------------------------------------------------------------------------------------
// The wire format: the ONE place that knows LDS's paths, headers and field names

export interface LdsWireFormat extends ApiKeyWire {
  paths: {
    createSession: string;
    /** The look-up by LCM's session id (path and query). */
    findSessions: { path: string; query(externalSessionId: string): Record<string, string> };
    session(id: string): string;
    devices(id: string): string;
    archive(id: string): string;
  };
  encodeCreateSession(input: CreateLdsSessionInput): unknown;
  /** Reads the created session's id from the create response. */
  decodeCreated(body: unknown): { id: string };
  encodeDevices(devices: readonly LdsDevice[]): unknown;
  decodeSession(body: unknown): LdsSessionInfo;
  decodeSessionList(body: unknown): LdsSessionInfo[];
}

const CreatedWire = z.looseObject({ id: z.string().min(1) });
const SessionWire = z.looseObject({
  id: z.string().min(1),
  state: z.string().min(1),
  loginUrl: z.string().nullish(),
  externalSessionId: z.string().nullish(),
});
const SessionListWire = z.looseObject({ items: z.array(SessionWire) });

export const DEFAULT_LDS_WIRE: LdsWireFormat = {
  apiKeyHeader: 'x-api-key',
  apiKeyPrefix: '',
  idempotencyKeyHeader: 'idempotency-key',
  paths: {
    createSession: '/api/v1/sessions',
    findSessions: {
      path: '/api/v1/sessions',
      query: (externalSessionId) => ({ externalSessionId }),
    },
    session: (id) => `/api/v1/sessions/${seg(id)}`,
    devices: (id) => `/api/v1/sessions/${seg(id)}/devices`,
    archive: (id) => `/api/v1/sessions/${seg(id)}/archive`,
  },
  encodeCreateSession: (input) => ({
    partId: input.partId,
    externalSessionId: input.externalSessionId,
    user: {
      id: input.user.id,
      ...(input.user.username !== undefined ? { username: input.user.username } : {}),
      ...(input.user.email !== undefined ? { email: input.user.email } : {}),
    },
    ...(input.timeslot ? { timeslot: { start: input.timeslot.start, end: input.timeslot.end } } : {}),
  }),
  decodeCreated: (body) => CreatedWire.parse(body),
  encodeDevices: (devices) =>
    devices.map((d) => ({
      name: d.name,
      host: d.host,
      port: d.port,
      protocol: d.protocol,
      ...(d.username !== undefined ? { username: d.username } : {}),
      ...(d.password !== undefined ? { password: d.password } : {}),
      ...(d.ports !== undefined
        ? { ports: d.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })) }
        : {}),
    })),
  decodeSession: (body) => sessionInfo(SessionWire.parse(body)),
  decodeSessionList: (body) => SessionListWire.parse(body).items.map(sessionInfo),
};

function sessionInfo(s: z.output<typeof SessionWire>): LdsSessionInfo {
  return {
    id: s.id,
    state: s.state,
    loginUrl: s.loginUrl ?? undefined,
    externalSessionId: s.externalSessionId ?? undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// The client

export type LdsClientOptions = WireClientOptions<LdsWireFormat>;

export class LdsClient extends WireClient<LdsWireFormat> implements LdsApi {
  constructor(opts: LdsClientOptions) {
    super('lds', opts, DEFAULT_LDS_WIRE);
  }

  createSession(input: CreateLdsSessionInput): Promise<{ id: string }> {
    // The external session id makes the create idempotent on the LDS side.
    return this.api.createKeyed({
      path: this.wire.paths.createSession,
      operation: 'createSession',
      body: this.wire.encodeCreateSession(input),
      key: input.externalSessionId,
      decode: (body) => this.wire.decodeCreated(body),
    });
  }

  async findSessions(externalSessionId: string): Promise<LdsSessionInfo[]> {
    const res = await this.api.request<unknown>({
      method: 'GET',
      path: this.wire.paths.findSessions.path,
      query: this.wire.paths.findSessions.query(externalSessionId),
      operation: 'findSessions',
      // An LDS without the look-up finds nothing: LCM then relies on the create's idempotency.
      acceptStatuses: [404, 405, 501],
    });
    if (res.status !== 200) return [];
    const found = this.api.decode('findSessions', res.status, () => this.wire.decodeSessionList(res.body));
    // Only what LDS holds for this id (a partner that ignores the filter must not hand over others).
    return found.filter((s) => s.externalSessionId === externalSessionId);
  }

  async setDevices(ldsSessionId: string, devices: readonly LdsDevice[]): Promise<void> {
    await this.api.request({
      method: 'PUT',
      path: this.wire.paths.devices(ldsSessionId),
      operation: 'setDevices',
      body: this.wire.encodeDevices(devices),
      responseKind: 'none',
    });
  }

  async getSession(ldsSessionId: string): Promise<LdsSessionInfo> {
    const res = await this.api.request<unknown>({
      method: 'GET',
      path: this.wire.paths.session(ldsSessionId),
      operation: 'getSession',
    });
    return this.api.decode('getSession', res.status, () => this.wire.decodeSession(res.body));
  }

  async archiveSession(ldsSessionId: string): Promise<{ archived: boolean }> {
    const res = await this.api.request({
      method: 'POST',
      path: this.wire.paths.archive(ldsSessionId),
      operation: 'archiveSession',
      body: {},
      responseKind: 'none',
      idempotent: true,
      acceptStatuses: [404],
    });
    return { archived: res.status !== 404 };
  }
}

export const createLdsClient = (opts: LdsClientOptions): LdsApi => new LdsClient(opts);
