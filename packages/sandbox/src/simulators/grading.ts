import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { INBOUND_EVENT_TYPES } from '@lcm/shared/events';
import { type EvidenceManifest, EvidenceManifestSchema } from '@lcm/shared/platform';
import {
  controlRoute,
  type EventDelivery,
  emitPartnerEvent,
  FaultRegistry,
  type FaultSpec,
  HttpError,
  header,
  type RequestLogEntry,
  type SimReply,
  type SimRequest,
  startSimServer,
  Timers,
} from './common.ts';

/**
 * The Grading Engine as LCM's REST contract describes it (docs/integrations.md §Grading):
 * accepts grading sessions, reads the evidence manifest, scores it deterministically (one
 * check per device whose configuration could be extracted: present and not empty) and, after
 * `gradingDelayMs`, POSTs a signed `io.lablet.grading.session.completed.v1` CloudEvent to
 * `eventsUrl` (`...failed.v1` when the evidence cannot be read or a failure was injected).
 */

export const SANDBOX_GRADING_SOURCE = 'urn:lablet:grading:sandbox';

export type GradingSimState = 'SUBMITTED' | 'GRADING' | 'COMPLETED' | 'FAILED';

export interface ScoreResult {
  score: number;
  maxScore: number;
  passed: boolean;
  sections: Array<{
    name: string;
    score: number;
    maxScore: number;
    checks: Array<{ name: string; passed: boolean; message?: string }>;
  }>;
}

export interface GradingSimSession {
  id: string;
  externalSessionId: string;
  rulesRef: string;
  evidenceUri: string;
  idempotencyKey?: string;
  state: GradingSimState;
  submittedAt: string;
  result?: ScoreResult;
  error?: string;
}

export interface GradingSimulatorOptions {
  host?: string;
  port?: number;
  /** API key expected in `x-api-key` (default `grading-sandbox-key`). */
  apiKey?: string;
  eventsUrl?: string;
  eventSecret?: string;
  eventKeyId?: string;
  eventSource?: string;
  /** Delay between submission and the result event (default 100 ms). */
  gradingDelayMs?: number;
  /**
   * Reads the evidence manifest at a URI (the local stack passes a reader of its evidence
   * store). Default: http(s) and data: URLs with fetch, file: URLs from disk.
   */
  readEvidence?: (uri: string) => Promise<unknown>;
  /** Fraction of the max score needed to pass (default 1: every check). */
  passThreshold?: number;
  /** Known rules references; absent = any. */
  rules?: string[];
  eventAttempts?: number;
  eventRetryDelayMs?: number;
}

export interface GradingSimulator {
  url: string;
  port: number;
  stop(): Promise<void>;
  gradingSessions(): GradingSimSession[];
  /** The next `times` gradings fail with `error` (a failed event instead of completed). */
  failNext(error?: string, times?: number): void;
  deliveries(): EventDelivery[];
  idle(): Promise<void>;
  injectFault(spec: FaultSpec): string;
  clearFaults(): void;
  requests(): RequestLogEntry[];
}

const problem = (status: number, message: string) => ({ error: { code: status, message } });
const fail = (status: number, message: string) => new HttpError(status, message, problem(status, message));
const str = (v: unknown, field: string, max = 2048): string => {
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw fail(400, `${field} must be a string of 1-${max} characters`);
  return v;
};

/** The simulator's deterministic score: per extractable device, a configuration that is not empty. */
export function scoreEvidence(manifest: EvidenceManifest, passThreshold = 1): ScoreResult {
  const checks = manifest.devices
    .filter((d) => d.supported)
    .map((d) => {
      const present = typeof d.configuration === 'string' && d.configuration.trim().length > 0;
      return {
        name: `${d.name}: configuration present`,
        passed: present,
        ...(present ? {} : { message: d.reason ?? 'no configuration collected' }),
      };
    });
  const score = checks.filter((c) => c.passed).length;
  const maxScore = checks.length;
  return {
    score,
    maxScore,
    passed: maxScore > 0 && score >= Math.ceil(passThreshold * maxScore),
    sections: [{ name: 'device-configurations', score, maxScore, checks }],
  };
}

async function defaultReadEvidence(uri: string): Promise<unknown> {
  const scheme = uri.slice(0, uri.indexOf(':')).toLowerCase();
  if (scheme === 'file') return JSON.parse(await readFile(fileURLToPath(uri), 'utf8'));
  if (scheme === 'http' || scheme === 'https' || scheme === 'data') {
    const res = await fetch(uri, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`evidence ${uri} answered HTTP ${res.status}`);
    return res.json();
  }
  throw new Error(`no reader for evidence URI scheme ${scheme || '(none)'}`);
}

export async function startGradingSimulator(opts: GradingSimulatorOptions = {}): Promise<GradingSimulator> {
  const apiKey = opts.apiKey ?? 'grading-sandbox-key';
  const source = opts.eventSource ?? SANDBOX_GRADING_SOURCE;
  if (opts.eventsUrl && !opts.eventSecret) throw new Error('eventSecret is required with eventsUrl');
  const readEvidence = opts.readEvidence ?? defaultReadEvidence;
  const faults = new FaultRegistry();
  const sessions = new Map<string, GradingSimSession>();
  const byKey = new Map<string, string>();
  const deliveries: EventDelivery[] = [];
  const timers = new Timers();
  const abort = new AbortController();
  const failures: string[] = [];

  const view = (s: GradingSimSession) => ({
    id: s.id,
    state: s.state,
    externalSessionId: s.externalSessionId,
    rulesRef: s.rulesRef,
    evidenceUri: s.evidenceUri,
    submittedAt: s.submittedAt,
    ...(s.result ? { result: s.result } : {}),
    ...(s.error ? { error: s.error } : {}),
  });

  const emit = async (type: string, s: GradingSimSession, data: Record<string, unknown>) => {
    const delivery = await emitPartnerEvent(opts, abort.signal, {
      source,
      type,
      subject: s.id,
      data: { gradingSessionId: s.id, lcmSessionId: s.externalSessionId, ...data },
    });
    if (delivery) deliveries.push(delivery);
  };

  const grade = async (s: GradingSimSession) => {
    s.state = 'GRADING';
    const injected = failures.shift();
    let error = injected;
    let result: ScoreResult | undefined;
    if (error === undefined) {
      try {
        const parsed = EvidenceManifestSchema.safeParse(await readEvidence(s.evidenceUri));
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          error = `evidence manifest is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`;
        } else if (parsed.data.lcmSessionId !== s.externalSessionId) {
          error = `evidence belongs to session ${parsed.data.lcmSessionId}, not ${s.externalSessionId}`;
        } else {
          result = scoreEvidence(parsed.data, opts.passThreshold);
        }
      } catch (e) {
        error = `evidence could not be read: ${(e as Error).message}`;
      }
    }
    if (result) {
      s.state = 'COMPLETED';
      s.result = result;
      await emit(INBOUND_EVENT_TYPES.gradingSessionCompleted, s, {
        ...result,
        reportedAt: new Date().toISOString(),
      });
    } else {
      s.state = 'FAILED';
      s.error = error ?? 'grading failed';
      await emit(INBOUND_EVENT_TYPES.gradingSessionFailed, s, { error: s.error });
    }
  };

  const route = (req: SimRequest): SimReply => {
    const control = controlRoute(req, faults, () => [...server.log]);
    if (control) return control;
    if (req.path === '/_sim/grading-sessions' && req.method === 'GET') {
      return { status: 200, body: [...sessions.values()] };
    }
    if (!req.path.startsWith('/api/v1/')) throw fail(404, 'Not found');
    if (header(req, 'x-api-key') !== apiKey) throw fail(401, 'missing or invalid API key');

    if (req.path === '/api/v1/grading-sessions' && req.method === 'POST') {
      const b = req.json() as Record<string, unknown>;
      if (!b || typeof b !== 'object') throw fail(400, 'body must be a JSON object');
      const externalSessionId = str(b.externalSessionId, 'externalSessionId', 256);
      const rulesRef = str(b.rulesRef, 'rulesRef', 1024);
      const evidenceUri = str(b.evidenceUri, 'evidenceUri');
      if (opts.rules && !opts.rules.includes(rulesRef)) throw fail(404, `Rules not found: ${rulesRef}`);
      const key = header(req, 'idempotency-key');
      const existing = key ? sessions.get(byKey.get(key) ?? '') : undefined;
      if (existing) {
        if (existing.externalSessionId !== externalSessionId || existing.rulesRef !== rulesRef) {
          throw fail(409, 'Idempotency-Key reused with a different request');
        }
        return { status: 200, body: view(existing) };
      }
      const s: GradingSimSession = {
        id: randomUUID(),
        externalSessionId,
        rulesRef,
        evidenceUri,
        ...(key ? { idempotencyKey: key } : {}),
        state: 'SUBMITTED',
        submittedAt: new Date().toISOString(),
      };
      sessions.set(s.id, s);
      if (key) byKey.set(key, s.id);
      timers.after(opts.gradingDelayMs ?? 100, () => grade(s));
      return { status: 202, body: view(s) };
    }
    const m = /^\/api\/v1\/grading-sessions\/([^/]+)$/.exec(req.path);
    if (m && req.method === 'GET') {
      const s = sessions.get(decodeURIComponent(m[1]!));
      if (!s) throw fail(404, `Grading session not found: ${m[1]}`);
      return { status: 200, body: view(s) };
    }
    throw fail(404, 'Not found');
  };

  const server = await startSimServer({
    host: opts.host,
    port: opts.port,
    errorBody: problem,
    faults,
    handler: route,
  });

  return {
    url: server.url,
    port: server.port,
    stop: async () => {
      abort.abort();
      await timers.stop();
      await server.close();
    },
    gradingSessions: () => [...sessions.values()].map((s) => structuredClone(s)),
    failNext: (error = 'grading engine failure (injected)', times = 1) => {
      for (let i = 0; i < times; i++) failures.push(error);
    },
    deliveries: () => deliveries.map((d) => ({ ...d })),
    idle: () => timers.idle(),
    injectFault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    requests: () => [...server.log],
  };
}
