import { randomUUID } from 'node:crypto';
import { INBOUND_EVENT_TYPES } from '@lcm/shared/events';
import {
  type EventDelivery,
  partnerFail as fail,
  type PartnerRoute,
  type PartnerSimulator,
  type PartnerSimulatorOptions,
  partnerSimulatorKit,
  stringField,
} from './common.ts';

/**
 * The Lab Delivery System as LCM's REST contract describes it (docs/integrations.md §LDS):
 * sessions with a part, devices, a login URL (`<url>/login/<id>`), archive. Visiting the login
 * URL or calling `login()` marks the learner logged in and sends a signed
 * `io.lablet.lds.session.running.v1` CloudEvent to `eventsUrl`; `autoLoginSeconds` does the
 * same on its own once the devices are set, and `autoEndSeconds` then ends the session.
 * The wire names here are spelled out on purpose (not imported from the client's mapping):
 * the simulator checks the documented contract.
 */

export const SANDBOX_LDS_SOURCE = 'urn:lablet:lds:sandbox';

export type LdsSimSessionState = 'PROVISIONED' | 'RUNNING' | 'PAUSED' | 'ENDED' | 'ARCHIVED';

export interface LdsSimDevice {
  name: string;
  host: string;
  port: number;
  protocol: string;
  username?: string;
  password?: string;
  /** Every way into the device (its main `port` first): a node with a console and VNC is one device. */
  ports?: Array<{ name: string; port: number; protocol: string }>;
}

export interface LdsSimSession {
  id: string;
  partId: string;
  externalSessionId: string;
  user: { id: string; username?: string; email?: string };
  timeslot?: { start: string; end: string };
  state: LdsSimSessionState;
  loginUrl: string;
  devices: LdsSimDevice[];
  devicesSetAt?: string;
  createdAt: string;
  archivedAt?: string;
}

export interface LdsSimulatorOptions extends PartnerSimulatorOptions {
  /** API key expected in `x-api-key` (default `lds-sandbox-key`). */
  apiKey?: string;
  /** Known part ids; absent = any part exists. */
  parts?: string[];
  eventSource?: string;
  /** Seconds after the devices are set until the simulated learner logs in (unset = never). */
  autoLoginSeconds?: number;
  /** Seconds after the login until the session ends (unset = never). */
  autoEndSeconds?: number;
}

export interface LdsSimulator extends PartnerSimulator {
  sessions(): LdsSimSession[];
  session(id: string): LdsSimSession | undefined;
  /** The learner logs in: RUNNING + running event. */
  login(id: string): Promise<EventDelivery | undefined>;
  pause(id: string): Promise<EventDelivery | undefined>;
  /** The session ends (time up at LDS): ENDED + ended event. */
  end(id: string): Promise<EventDelivery | undefined>;
  /** The learner presses "finished": ENDED + user-finished event. */
  userFinish(id: string): Promise<EventDelivery | undefined>;
}

const PROTOCOLS = new Set(['ssh', 'telnet', 'vnc', 'http', 'https', 'rdp', 'tcp', 'udp', 'web']);

const str = (v: unknown, field: string, max = 512): string => stringField(v, field, max);
const optStr = (v: unknown, field: string): string | undefined =>
  v === undefined || v === null ? undefined : str(v, field);

export async function startLdsSimulator(opts: LdsSimulatorOptions = {}): Promise<LdsSimulator> {
  const kit = partnerSimulatorKit(opts, {
    apiKey: opts.apiKey ?? 'lds-sandbox-key',
    source: opts.eventSource ?? SANDBOX_LDS_SOURCE,
  });
  const { timers } = kit;
  const sessions = new Map<string, LdsSimSession>();
  const byExternal = new Map<string, string>();
  let baseUrl = '';

  const get = (id: string): LdsSimSession => {
    const s = sessions.get(id);
    if (!s) throw fail(404, `Session not found: ${id}`);
    return s;
  };
  const view = (s: LdsSimSession) => ({
    id: s.id,
    externalSessionId: s.externalSessionId,
    partId: s.partId,
    state: s.state,
    loginUrl: s.loginUrl,
    deviceCount: s.devices.length,
    createdAt: s.createdAt,
    ...(s.archivedAt ? { archivedAt: s.archivedAt } : {}),
  });

  const emit = (s: LdsSimSession, type: string): Promise<EventDelivery | undefined> => {
    const at = new Date().toISOString();
    return kit.emit({
      type,
      time: at,
      subject: s.id,
      data: { ldsSessionId: s.id, lcmSessionId: s.externalSessionId, at },
    });
  };

  const transition = (id: string, to: LdsSimSessionState, type: string, from: LdsSimSessionState[]) => {
    const s = get(id);
    if (!from.includes(s.state)) return Promise.resolve(undefined);
    s.state = to;
    const p = emit(s, type);
    timers.track(p);
    if (to === 'RUNNING' && opts.autoEndSeconds !== undefined) {
      timers.after(opts.autoEndSeconds * 1000, () =>
        transition(id, 'ENDED', INBOUND_EVENT_TYPES.ldsSessionEnded, ['RUNNING', 'PAUSED']),
      );
    }
    return p;
  };
  const login = (id: string) =>
    transition(id, 'RUNNING', INBOUND_EVENT_TYPES.ldsSessionRunning, ['PROVISIONED', 'PAUSED']);

  const open: PartnerRoute = (req) => {
    if (req.path === '/_sim/sessions' && req.method === 'GET')
      return { status: 200, body: [...sessions.values()] };

    const loginPage = /^\/login\/([^/]+)$/.exec(req.path);
    if (loginPage && req.method === 'GET') {
      const s = get(decodeURIComponent(loginPage[1]!));
      if (s.state === 'ARCHIVED' || s.state === 'ENDED') throw fail(410, `Session ${s.id} is over`);
      void login(s.id);
      return {
        status: 200,
        contentType: 'text/html; charset=utf-8',
        body: `<!doctype html><title>LDS sandbox</title><h1>Lab ${escapeHtml(s.partId)}</h1><p>Session ${escapeHtml(s.id)}: ${s.devices.length} device(s).</p>`,
      };
    }
    return undefined;
  };

  const api: PartnerRoute = (req) => {
    if (req.path === '/api/v1/sessions' && req.method === 'GET') {
      // LCM's look-up by its own session id, before a create and when tearing down.
      const externalSessionId = req.query.get('externalSessionId');
      if (!externalSessionId) throw fail(400, 'externalSessionId is required');
      const items = [...sessions.values()].filter((s) => s.externalSessionId === externalSessionId);
      return { status: 200, body: { items: items.map(view) } };
    }
    if (req.path === '/api/v1/sessions' && req.method === 'POST') {
      const b = req.json() as Record<string, unknown>;
      if (!b || typeof b !== 'object') throw fail(400, 'body must be a JSON object');
      const partId = str(b.partId, 'partId');
      const externalSessionId = str(b.externalSessionId, 'externalSessionId', 256);
      const u = (b.user && typeof b.user === 'object' ? b.user : undefined) as
        | Record<string, unknown>
        | undefined;
      if (!u) throw fail(400, 'user is required');
      const user = {
        id: str(u.id, 'user.id', 256),
        ...(optStr(u.username, 'user.username') !== undefined ? { username: u.username as string } : {}),
        ...(optStr(u.email, 'user.email') !== undefined ? { email: u.email as string } : {}),
      };
      let timeslot: { start: string; end: string } | undefined;
      if (b.timeslot !== undefined) {
        const t = b.timeslot as Record<string, unknown>;
        timeslot = { start: str(t?.start, 'timeslot.start', 64), end: str(t?.end, 'timeslot.end', 64) };
      }
      if (opts.parts && !opts.parts.includes(partId)) throw fail(404, `Part not found: ${partId}`);
      const existingId = byExternal.get(externalSessionId);
      const existing = existingId ? sessions.get(existingId) : undefined;
      if (existing && existing.state !== 'ARCHIVED') {
        if (existing.partId !== partId)
          throw fail(409, `externalSessionId ${externalSessionId} is used with another part`);
        return { status: 200, body: view(existing) };
      }
      const id = randomUUID();
      const s: LdsSimSession = {
        id,
        partId,
        externalSessionId,
        user,
        ...(timeslot ? { timeslot } : {}),
        state: 'PROVISIONED',
        loginUrl: `${baseUrl}/login/${id}`,
        devices: [],
        createdAt: new Date().toISOString(),
      };
      sessions.set(id, s);
      byExternal.set(externalSessionId, id);
      return { status: 201, body: view(s) };
    }

    const m = /^\/api\/v1\/sessions\/([^/]+)(?:\/(devices|archive))?$/.exec(req.path);
    if (m) {
      const s = get(decodeURIComponent(m[1]!));
      const sub = m[2];
      if (!sub && req.method === 'GET') return { status: 200, body: view(s) };
      if (sub === 'devices' && req.method === 'PUT') {
        if (s.state === 'ARCHIVED') throw fail(409, `Session ${s.id} is archived`);
        const list = req.json();
        if (!Array.isArray(list)) throw fail(400, 'devices must be a JSON array');
        s.devices = list.map((d: unknown, i) => {
          const o = (d && typeof d === 'object' ? d : {}) as Record<string, unknown>;
          const port = o.port;
          if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
            throw fail(400, `devices[${i}].port must be a TCP/UDP port`);
          }
          const protocol = str(o.protocol, `devices[${i}].protocol`, 16);
          if (!PROTOCOLS.has(protocol)) throw fail(400, `devices[${i}].protocol is not supported`);
          const username = optStr(o.username, `devices[${i}].username`);
          const password = optStr(o.password, `devices[${i}].password`);
          let ports: LdsSimDevice['ports'];
          if (o.ports !== undefined) {
            if (!Array.isArray(o.ports) || o.ports.length === 0) {
              throw fail(400, `devices[${i}].ports must be a non-empty array`);
            }
            ports = o.ports.map((p: unknown, j) => {
              const q = (p && typeof p === 'object' ? p : {}) as Record<string, unknown>;
              const at = `devices[${i}].ports[${j}]`;
              if (typeof q.port !== 'number' || !Number.isInteger(q.port) || q.port < 1 || q.port > 65535) {
                throw fail(400, `${at}.port must be a TCP/UDP port`);
              }
              const protocol = str(q.protocol, `${at}.protocol`, 16);
              if (!PROTOCOLS.has(protocol)) throw fail(400, `${at}.protocol is not supported`);
              return { name: str(q.name, `${at}.name`, 160), port: q.port, protocol };
            });
            if (ports[0]!.port !== port || ports[0]!.protocol !== protocol) {
              throw fail(400, `devices[${i}].ports[0] must be the device's own port and protocol`);
            }
          }
          return {
            name: str(o.name, `devices[${i}].name`, 128),
            host: str(o.host, `devices[${i}].host`, 255),
            port,
            protocol,
            ...(username !== undefined ? { username } : {}),
            ...(password !== undefined ? { password } : {}),
            ...(ports !== undefined ? { ports } : {}),
          };
        });
        const first = s.devicesSetAt === undefined;
        s.devicesSetAt = new Date().toISOString();
        if (first && opts.autoLoginSeconds !== undefined) {
          timers.after(opts.autoLoginSeconds * 1000, () => login(s.id));
        }
        return { status: 204 };
      }
      if (sub === 'archive' && req.method === 'POST') {
        if (s.state !== 'ARCHIVED') {
          s.state = 'ARCHIVED';
          s.archivedAt = new Date().toISOString();
        }
        return { status: 204 };
      }
      throw fail(405, 'Method not allowed');
    }
    return undefined;
  };

  const simulator = await kit.serve({ open, api });
  baseUrl = simulator.url;

  return {
    ...simulator,
    sessions: () => [...sessions.values()].map((s) => structuredClone(s)),
    session: (id) => {
      const s = sessions.get(id);
      return s ? structuredClone(s) : undefined;
    },
    login: (id) => login(id),
    pause: (id) => transition(id, 'PAUSED', INBOUND_EVENT_TYPES.ldsSessionPaused, ['RUNNING']),
    end: (id) =>
      transition(id, 'ENDED', INBOUND_EVENT_TYPES.ldsSessionEnded, ['PROVISIONED', 'RUNNING', 'PAUSED']),
    userFinish: (id) =>
      transition(id, 'ENDED', INBOUND_EVENT_TYPES.ldsSessionUserFinished, ['RUNNING', 'PAUSED']),
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The auto-event options of the local stack: `LCM_SANDBOX_LDS_AUTOLOGIN_SECONDS` and
 * `LCM_SANDBOX_LDS_AUTOEND_SECONDS` (unset or empty = never).
 */
export function ldsAutoOptionsFromEnv(
  env: Record<string, string | undefined> = process.env,
): Pick<LdsSimulatorOptions, 'autoLoginSeconds' | 'autoEndSeconds'> {
  const read = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number of seconds >= 0`);
    return n;
  };
  const autoLoginSeconds = read('LCM_SANDBOX_LDS_AUTOLOGIN_SECONDS');
  const autoEndSeconds = read('LCM_SANDBOX_LDS_AUTOEND_SECONDS');
  return {
    ...(autoLoginSeconds !== undefined ? { autoLoginSeconds } : {}),
    ...(autoEndSeconds !== undefined ? { autoEndSeconds } : {}),
  };
}
