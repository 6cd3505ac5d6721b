import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { INBOUND_EVENT_TYPES } from '@lcm/shared/events';
import { type EvidenceManifest, EvidenceManifestSchema } from '@lcm/shared/platform';
import {
  partnerFail as fail,
  header,
  type PartnerRoute,
  type PartnerSimulator,
  type PartnerSimulatorOptions,
  partnerSimulatorKit,
  stringField,
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

export interface GradingSimulatorOptions extends PartnerSimulatorOptions {
  /** API key expected in `x-api-key` (default `grading-sandbox-key`). */
  apiKey?: string;
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
}

export interface GradingSimulator extends PartnerSimulator {
  gradingSessions(): GradingSimSession[];
  /** The next `times` gradings fail with `error` (a failed event instead of completed). */
  failNext(error?: string, times?: number): void;
}

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
  const kit = partnerSimulatorKit(opts, {
    apiKey: opts.apiKey ?? 'grading-sandbox-key',
    source: opts.eventSource ?? SANDBOX_GRADING_SOURCE,
  });
  const readEvidence = opts.readEvidence ?? defaultReadEvidence;
  const sessions = new Map<string, GradingSimSession>();
  const byKey = new Map<string, string>();
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

  const emit = (type: string, s: GradingSimSession, data: Record<string, unknown>) =>
    kit.emit({
      type,
      subject: s.id,
      data: { gradingSessionId: s.id, lcmSessionId: s.externalSessionId, ...data },
    });

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

  const open: PartnerRoute = (req) => {
    if (req.path === '/_sim/grading-sessions' && req.method === 'GET') {
      return { status: 200, body: [...sessions.values()] };
    }
    return undefined;
  };

  const api: PartnerRoute = (req) => {
    if (req.path === '/api/v1/grading-sessions' && req.method === 'POST') {
      const b = req.json() as Record<string, unknown>;
      if (!b || typeof b !== 'object') throw fail(400, 'body must be a JSON object');
      const externalSessionId = stringField(b.externalSessionId, 'externalSessionId', 256);
      const rulesRef = stringField(b.rulesRef, 'rulesRef', 1024);
      const evidenceUri = stringField(b.evidenceUri, 'evidenceUri', 2048);
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
      kit.timers.after(opts.gradingDelayMs ?? 100, () => grade(s));
      return { status: 202, body: view(s) };
    }
    const m = /^\/api\/v1\/grading-sessions\/([^/]+)$/.exec(req.path);
    if (m && req.method === 'GET') {
      const s = sessions.get(decodeURIComponent(m[1]!));
      if (!s) throw fail(404, `Grading session not found: ${m[1]}`);
      return { status: 200, body: view(s) };
    }
    return undefined;
  };

  return {
    ...(await kit.serve({ open, api })),
    gradingSessions: () => [...sessions.values()].map((s) => structuredClone(s)),
    failNext: (error = 'grading engine failure (injected)', times = 1) => {
      for (let i = 0; i < times; i++) failures.push(error);
    },
  };
}
