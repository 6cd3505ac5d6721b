import {
  type GradingSimulator,
  SANDBOX_GRADING_SOURCE,
  scoreEvidence,
  startGradingSimulator,
} from '@lcm/sandbox/simulators/grading';
import { INBOUND_EVENT_TYPES, parseInboundEvent, scoreReportFromEvent } from '@lcm/shared/events';
import type { IntegrationError } from '@lcm/shared/platform';
import {
  DEFAULT_GRADING_WIRE,
  EVIDENCE_MANIFEST_VERSION,
  type EvidenceManifest,
  EvidenceManifestSchema,
  GradingClient,
  staticApiKey,
} from '@lcm/shared/platform';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { delivered, type EventReceiver, rejectionOf, startEventReceiver } from './support.ts';

const API_KEY = 'grading-test-key';
const CURRENT = 'grading-secret-current-0001';
const PREVIOUS = 'grading-secret-previous-0000';

const manifest = (lcmSessionId: string): EvidenceManifest => ({
  schemaVersion: EVIDENCE_MANIFEST_VERSION,
  lcmSessionId,
  cmlLabId: 'lab-1',
  collectedAt: '2026-11-22T12:00:00Z',
  devices: [
    { name: 'iosv-0', nodeDefinition: 'iosv', supported: true, configuration: 'hostname iosv-0\n!' },
    { name: 'PC', nodeDefinition: 'ubuntu', supported: true, configuration: '   ', reason: undefined },
    {
      name: 'sw',
      nodeDefinition: 'unmanaged_switch',
      supported: false,
      configuration: null,
      reason: 'not supported',
    },
  ],
});

/** Evidence "store" the simulator reads through its callback. */
const evidence = new Map<string, unknown>();

describe('GradingClient and the Grading Engine simulator', () => {
  let receiver: EventReceiver;
  let sim: GradingSimulator;
  let grading: GradingClient;

  beforeAll(async () => {
    receiver = await startEventReceiver();
    sim = await startGradingSimulator({
      apiKey: API_KEY,
      eventsUrl: receiver.url,
      eventSecret: CURRENT,
      gradingDelayMs: 20,
      readEvidence: async (uri) => {
        if (!evidence.has(uri)) throw new Error(`no object at ${uri}`);
        return evidence.get(uri);
      },
    });
    grading = new GradingClient({ baseUrl: sim.url, apiKey: staticApiKey(API_KEY), sleep: async () => {} });
  });
  afterEach(async () => {
    await sim.idle();
    sim.clearFaults();
    receiver.received.length = 0;
  });
  afterAll(async () => {
    await sim.stop();
    await receiver.close();
  });

  it('submits a grading session and the result arrives as a signed completed CloudEvent', async () => {
    evidence.set('s3://evidence/s-1/manifest.json', manifest('s-1'));
    const { gradingSessionId } = await grading.submitGrading({
      externalSessionId: 's-1',
      rulesRef: 'rules/ccna-01@3',
      evidenceUri: 's3://evidence/s-1/manifest.json',
    });
    expect(gradingSessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await grading.getGradingSession(gradingSessionId)).externalSessionId).toBe('s-1');

    const [ev] = await receiver.waitFor(1);
    // Receivers hold current + previous during a rotation: either matches.
    expect(delivered(ev!, [PREVIOUS, CURRENT])).toMatchObject({ ok: true, secretIndex: 1 });
    const parsed = parseInboundEvent(ev!.body);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    expect(parsed.event).toMatchObject({
      type: INBOUND_EVENT_TYPES.gradingSessionCompleted,
      source: SANDBOX_GRADING_SOURCE,
      subject: gradingSessionId,
      data: {
        gradingSessionId,
        lcmSessionId: 's-1',
        score: 1,
        maxScore: 2,
        passed: false,
        sections: [
          {
            name: 'device-configurations',
            score: 1,
            maxScore: 2,
            checks: [
              { name: 'iosv-0: configuration present', passed: true },
              { name: 'PC: configuration present', passed: false, message: 'no configuration collected' },
            ],
          },
        ],
      },
    });
    if (parsed.event.type !== INBOUND_EVENT_TYPES.gradingSessionCompleted) throw new Error('unexpected type');
    const report = scoreReportFromEvent(parsed.event.data, '2026-11-22T12:05:00Z');
    expect(report).toMatchObject({ score: 1, maxScore: 2, passed: false });
    expect(report.reportedAt).toBe(parsed.event.data.reportedAt);
    expect((await grading.getGradingSession(gradingSessionId)).state).toBe('COMPLETED');
  });

  it('an injected failure produces a signed failed event', async () => {
    evidence.set('s3://evidence/s-2/manifest.json', manifest('s-2'));
    sim.failNext('rules engine crashed');
    const { gradingSessionId } = await grading.submitGrading({
      externalSessionId: 's-2',
      rulesRef: 'rules/ccna-01@3',
      evidenceUri: 's3://evidence/s-2/manifest.json',
    });
    const [ev] = await receiver.waitFor(1);
    expect(delivered(ev!, [CURRENT]).ok).toBe(true);
    const parsed = parseInboundEvent(ev!.body);
    expect(parsed).toMatchObject({
      ok: true,
      event: {
        type: INBOUND_EVENT_TYPES.gradingSessionFailed,
        data: { gradingSessionId, lcmSessionId: 's-2', error: 'rules engine crashed' },
      },
    });
    expect((await grading.getGradingSession(gradingSessionId)).state).toBe('FAILED');
  });

  it('evidence that cannot be read or belongs to another session fails the grading', async () => {
    await grading.submitGrading({
      externalSessionId: 's-3',
      rulesRef: 'r',
      evidenceUri: 's3://evidence/missing',
    });
    evidence.set('s3://evidence/s-4', manifest('someone-else'));
    await grading.submitGrading({
      externalSessionId: 's-4',
      rulesRef: 'r',
      evidenceUri: 's3://evidence/s-4',
    });
    const events = await receiver.waitFor(2);
    const errors = Object.fromEntries(
      events.map((e) => {
        const p = parseInboundEvent(e.body);
        if (!p.ok || p.event.type !== INBOUND_EVENT_TYPES.gradingSessionFailed)
          throw new Error('expected failed');
        return [p.event.data.lcmSessionId, p.event.data.error];
      }),
    );
    expect(errors['s-3']).toBe('evidence could not be read: no object at s3://evidence/missing');
    expect(errors['s-4']).toBe('evidence belongs to session someone-else, not s-4');
  });

  it('a submission is idempotent per key (retried through a 503) and a re-grade with a new key is a new session', async () => {
    evidence.set('s3://evidence/s-5', manifest('s-5'));
    sim.injectFault({ method: 'POST', path: '/grading-sessions$', status: 503 });
    const body = { externalSessionId: 's-5', rulesRef: 'r', evidenceUri: 's3://evidence/s-5' };
    const a = await grading.submitGrading(body);
    const b = await grading.submitGrading(body);
    expect(b.gradingSessionId).toBe(a.gradingSessionId);
    const c = await grading.submitGrading({ ...body, idempotencyKey: 's-5:2' });
    expect(c.gradingSessionId).not.toBe(a.gradingSessionId);
    await receiver.waitFor(2);
    await sim.idle();
    expect(receiver.received).toHaveLength(2);
    expect(sim.gradingSessions().filter((g) => g.externalSessionId === 's-5')).toHaveLength(2);
  });

  it('rejects a bad request and a wrong API key with typed errors', async () => {
    const bad = (await rejectionOf(
      grading.submitGrading({ externalSessionId: 's-6', rulesRef: '', evidenceUri: 'x' }),
    )) as IntegrationError;
    expect(bad).toMatchObject({ service: 'grading', code: 'BAD_REQUEST', status: 400, attempts: 1 });
    const wrong = new GradingClient({ baseUrl: sim.url, apiKey: staticApiKey('nope') });
    await expect(wrong.getGradingSession('x')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(grading.getGradingSession('unknown')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('the default wire format is the documented contract', () => {
    expect(DEFAULT_GRADING_WIRE.paths.submit).toBe('/api/v1/grading-sessions');
    expect(
      DEFAULT_GRADING_WIRE.encodeSubmit({
        externalSessionId: 's',
        rulesRef: 'r',
        evidenceUri: 'u',
        idempotencyKey: 'k',
      }),
    ).toEqual({
      externalSessionId: 's',
      rulesRef: 'r',
      evidenceUri: 'u',
    });
  });
});

describe('grading simulator evidence readers and scoring', () => {
  it('reads a data: URL by default and passes when every extractable device has a configuration', async () => {
    const receiver = await startEventReceiver();
    const sim = await startGradingSimulator({
      eventsUrl: receiver.url,
      eventSecret: CURRENT,
      gradingDelayMs: 5,
    });
    try {
      const m = manifest('s-data');
      m.devices[1]!.configuration = 'hostname PC';
      const uri = `data:application/json,${encodeURIComponent(JSON.stringify(m))}`;
      const g = new GradingClient({ baseUrl: sim.url, apiKey: staticApiKey('grading-sandbox-key') });
      await g.submitGrading({ externalSessionId: 's-data', rulesRef: 'r', evidenceUri: uri });
      const [ev] = await receiver.waitFor(1);
      expect(parseInboundEvent(ev!.body)).toMatchObject({
        ok: true,
        event: { data: { score: 2, maxScore: 2, passed: true } },
      });
    } finally {
      await sim.stop();
      await receiver.close();
    }
  });

  it('scores deterministically and validates against the manifest schema', () => {
    const m = manifest('s');
    expect(EvidenceManifestSchema.parse(m)).toBeTruthy();
    expect(scoreEvidence(m)).toEqual(scoreEvidence(structuredClone(m)));
    expect(scoreEvidence(m, 0.5).passed).toBe(true);
    expect(scoreEvidence({ ...m, devices: [] }).passed).toBe(false);
    expect(EvidenceManifestSchema.safeParse({ ...m, schemaVersion: 2 }).success).toBe(false);
  });
});
