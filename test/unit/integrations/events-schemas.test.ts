import {
  CloudEventEnvelopeSchema,
  INBOUND_DATA_SCHEMAS,
  INBOUND_EVENT_TYPE_LIST,
  INBOUND_EVENT_TYPES,
  InboundCloudEventSchema,
  type InboundEventType,
  isInboundEventType,
  LCM_EVENT_SOURCE,
  lcmCloudEvent,
  OUTBOUND_EVENT_TYPE_LIST,
  OUTBOUND_EVENT_TYPES,
  parseInboundEvent,
  scoreReportFromEvent,
} from '@lcm/shared/events';
import { ScoreReportSchema } from '@lcm/shared/kernel';
import { describe, expect, it } from 'vitest';

const envelope = (type: string, data: unknown, extra: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: 'evt-1',
  source: 'https://labs.lcm.io',
  type,
  time: '2026-11-22T10:00:00Z',
  subject: 'lds-1',
  datacontenttype: 'application/json',
  data,
  ...extra,
});

const LDS_DATA = { ldsSessionId: 'lds-1', lcmSessionId: 'sess-1', at: '2026-11-22T10:00:00.123Z' };
const COMPLETED = {
  gradingSessionId: 'g-1',
  lcmSessionId: 'sess-1',
  score: 7,
  maxScore: 10,
  passed: true,
  sections: [
    { name: 'OSPF', score: 4, maxScore: 5, checks: [{ name: 'neighbors up', passed: true }] },
    {
      name: 'ACL',
      score: 3,
      maxScore: 5,
      checks: [{ name: 'deny telnet', passed: false, message: 'permit any found' }],
    },
  ],
};
const FAILED = { gradingSessionId: 'g-1', lcmSessionId: 'sess-1', error: 'rules not found' };

/** Per type: valid data, and invalid data with the path that must be reported. */
const CASES: Record<InboundEventType, { valid: unknown[]; invalid: Array<[unknown, string]> }> = {
  [INBOUND_EVENT_TYPES.ldsSessionRunning]: {
    valid: [LDS_DATA, { ldsSessionId: 'l', lcmSessionId: 's' }],
    invalid: [
      [{ lcmSessionId: 's' }, 'data.ldsSessionId'],
      [{ ...LDS_DATA, at: 'yesterday' }, 'data.at'],
    ],
  },
  [INBOUND_EVENT_TYPES.ldsSessionPaused]: {
    valid: [LDS_DATA],
    invalid: [[{ ldsSessionId: 'l', lcmSessionId: '' }, 'data.lcmSessionId']],
  },
  [INBOUND_EVENT_TYPES.ldsSessionEnded]: {
    valid: [{ ...LDS_DATA, extra: 'ignored' }],
    invalid: [[{ ldsSessionId: 1, lcmSessionId: 's' }, 'data.ldsSessionId']],
  },
  [INBOUND_EVENT_TYPES.ldsSessionUserFinished]: {
    valid: [LDS_DATA],
    invalid: [[null, 'data']],
  },
  [INBOUND_EVENT_TYPES.gradingSessionCompleted]: {
    valid: [COMPLETED, { ...COMPLETED, sections: undefined, reportedAt: '2026-11-22T11:00:00+01:00' }],
    invalid: [
      [{ ...COMPLETED, score: 11 }, 'data.score'],
      [{ ...COMPLETED, passed: 'yes' }, 'data.passed'],
      [{ ...COMPLETED, sections: [{ name: 'x', score: 1 }] }, 'data.sections.0.maxScore'],
      [{ ...COMPLETED, score: -1 }, 'data.score'],
    ],
  },
  [INBOUND_EVENT_TYPES.gradingSessionFailed]: {
    valid: [FAILED],
    invalid: [
      [{ ...FAILED, error: '' }, 'data.error'],
      [{ gradingSessionId: 'g', error: 'x' }, 'data.lcmSessionId'],
    ],
  },
};

describe('inbound CloudEvents', () => {
  for (const type of INBOUND_EVENT_TYPE_LIST) {
    describe(type, () => {
      it('accepts valid events', () => {
        for (const data of CASES[type].valid) {
          const result = parseInboundEvent(envelope(type, data));
          if (!result.ok) throw new Error(JSON.stringify(result.issues));
          expect(result.event.type).toBe(type);
          expect(INBOUND_DATA_SCHEMAS[type].safeParse(data).success).toBe(true);
        }
      });

      it('rejects invalid data naming the field', () => {
        for (const [data, path] of CASES[type].invalid) {
          const result = parseInboundEvent(envelope(type, data));
          expect(result.ok).toBe(false);
          if (result.ok) continue;
          expect(result.reason).toBe('INVALID_DATA');
          expect(result.issues.map((i) => i.path)).toContain(path);
        }
      });
    });
  }

  it('strips unknown data fields and keeps extension attributes', () => {
    const result = parseInboundEvent(
      envelope(
        INBOUND_EVENT_TYPES.ldsSessionEnded,
        { ...LDS_DATA, extra: 1 },
        { traceparent: '00-abc', partition1: 'x' },
      ),
    );
    expect(result).toMatchObject({ ok: true, event: { traceparent: '00-abc', data: LDS_DATA } });
    if (result.ok) expect(result.event.data).not.toHaveProperty('extra');
  });

  it('rejects a broken envelope before looking at the type', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ specversion: '0.3' }, 'specversion'],
      [{ id: '' }, 'id'],
      [{ source: undefined }, 'source'],
      [{ time: '22/11/2026' }, 'time'],
      [{ Bad_Name: 'x' }, 'Bad_Name'],
      [{ data_base64: 'AA==' }, 'data_base64'],
    ];
    for (const [over, path] of cases) {
      const result = parseInboundEvent({
        ...envelope(INBOUND_EVENT_TYPES.ldsSessionRunning, LDS_DATA),
        ...over,
      });
      expect(result).toMatchObject({ ok: false, reason: 'INVALID_ENVELOPE' });
      if (!result.ok) expect(result.issues.map((i) => i.path)).toContain(path);
    }
    expect(parseInboundEvent('not an object')).toMatchObject({ ok: false, reason: 'INVALID_ENVELOPE' });
  });

  it('rejects unknown types and non-JSON data', () => {
    expect(parseInboundEvent(envelope('io.lablet.lds.session.exploded.v1', LDS_DATA))).toEqual({
      ok: false,
      reason: 'UNKNOWN_TYPE',
      issues: [{ path: 'type', message: 'unknown event type io.lablet.lds.session.exploded.v1' }],
    });
    const xml = parseInboundEvent(
      envelope(INBOUND_EVENT_TYPES.ldsSessionRunning, LDS_DATA, { datacontenttype: 'application/xml' }),
    );
    expect(xml).toMatchObject({ ok: false, reason: 'INVALID_DATA' });
    const ceJson = parseInboundEvent(
      envelope(INBOUND_EVENT_TYPES.ldsSessionRunning, LDS_DATA, {
        datacontenttype: 'application/vnd.lds+json; charset=utf-8',
      }),
    );
    expect(ceJson.ok).toBe(true);
    const b64 = { ...envelope(INBOUND_EVENT_TYPES.ldsSessionRunning, undefined), data_base64: 'e30=' };
    delete (b64 as Record<string, unknown>).data;
    expect(parseInboundEvent(b64)).toMatchObject({ ok: false, reason: 'INVALID_DATA' });
  });

  it('the discriminated schema narrows data by type', () => {
    const parsed = InboundCloudEventSchema.parse(envelope(INBOUND_EVENT_TYPES.gradingSessionFailed, FAILED));
    if (parsed.type === INBOUND_EVENT_TYPES.gradingSessionFailed)
      expect(parsed.data.error).toBe('rules not found');
    else throw new Error('not narrowed');
  });

  it('turns a completed-grading event into a valid ScoreReport', () => {
    const data = INBOUND_DATA_SCHEMAS[INBOUND_EVENT_TYPES.gradingSessionCompleted].parse({
      ...COMPLETED,
      sections: undefined,
    });
    const report = scoreReportFromEvent(data, '2026-11-22T12:00:00Z');
    expect(ScoreReportSchema.parse(report)).toEqual({
      score: 7,
      maxScore: 10,
      passed: true,
      sections: [],
      reportedAt: '2026-11-22T12:00:00Z',
    });
  });
});

describe('event type names', () => {
  it('are unique and follow the naming rules', () => {
    const all = [...INBOUND_EVENT_TYPE_LIST, ...OUTBOUND_EVENT_TYPE_LIST];
    expect(new Set(all).size).toBe(all.length);
    for (const t of OUTBOUND_EVENT_TYPE_LIST) expect(t).toMatch(/^io\.lablet\.lcm\.[a-z]+\.[a-z-]+\.v1$/);
    for (const t of INBOUND_EVENT_TYPE_LIST)
      expect(t).toMatch(/^io\.lablet\.(lds|grading)\.session\.[a-z-]+\.v1$/);
    expect(OUTBOUND_EVENT_TYPES).toMatchObject({
      sessionCreated: 'io.lablet.lcm.session.created.v1',
      sessionStatusChanged: 'io.lablet.lcm.session.status-changed.v1',
      sessionReady: 'io.lablet.lcm.session.ready.v1',
      sessionScored: 'io.lablet.lcm.session.scored.v1',
      sessionPortDriftDetected: 'io.lablet.lcm.session.port-drift-detected.v1',
      workerStatusChanged: 'io.lablet.lcm.worker.status-changed.v1',
      scalingScaleUpDecided: 'io.lablet.lcm.scaling.scale-up-decided.v1',
      scalingDrainDecided: 'io.lablet.lcm.scaling.drain-decided.v1',
      definitionVersionCreated: 'io.lablet.lcm.definition.version-created.v1',
    });
    expect(isInboundEventType(INBOUND_EVENT_TYPES.ldsSessionRunning)).toBe(true);
    expect(isInboundEventType(OUTBOUND_EVENT_TYPES.sessionReady)).toBe(false);
  });

  it('lcmCloudEvent builds a valid outbound envelope', () => {
    const ev = lcmCloudEvent({
      type: OUTBOUND_EVENT_TYPES.sessionReady,
      id: 'stream-record-1',
      time: '2026-11-22T10:00:00Z',
      subject: 'sess-1',
      data: { sessionId: 'sess-1', loginUrl: 'https://lds/login/1' },
    });
    expect(ev).toEqual({
      specversion: '1.0',
      id: 'stream-record-1',
      source: LCM_EVENT_SOURCE,
      type: 'io.lablet.lcm.session.ready.v1',
      time: '2026-11-22T10:00:00Z',
      subject: 'sess-1',
      datacontenttype: 'application/json',
      data: { sessionId: 'sess-1', loginUrl: 'https://lds/login/1' },
    });
    expect(CloudEventEnvelopeSchema.safeParse(ev).success).toBe(true);
    expect(LCM_EVENT_SOURCE).toBe('lcm.control-plane');
  });
});
