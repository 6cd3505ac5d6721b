import { aggregateObservations } from '@lcm/shared/catalogue';
import { ValidationError } from '@lcm/shared/kernel';
import { describe, expect, it } from 'vitest';
import { observation } from './builders.ts';

const drifted = { added: [], removed: [], changed: [], hasDrift: true, conflicts: [] };

describe('aggregateObservations', () => {
  it('returns an empty aggregate for no observations', () => {
    expect(aggregateObservations([])).toEqual({
      sessionCount: 0,
      versions: [],
      max: null,
      avg: null,
      latest: null,
      driftSessions: 0,
      sessions: [],
    });
  });

  it('counts each session once, with its latest observation, newest session first', () => {
    const obs = [
      observation({
        sessionId: 's-a',
        observedAt: '2025-06-01T10:00:00Z',
        totals: { cpuCores: 2, memoryGb: 4, storageGb: 10, nodeCount: 2 },
      }),
      observation({
        sessionId: 's-a',
        observedAt: '2025-06-01T11:00:00Z',
        totals: { cpuCores: 3, memoryGb: 6, storageGb: 12, nodeCount: 3 },
      }),
      observation({
        sessionId: 's-b',
        observedAt: '2025-06-01T12:00:00Z',
        definitionVersion: 4,
        totals: { cpuCores: 5, memoryGb: 5, storageGb: 11, nodeCount: 4 },
        drift: drifted,
      }),
      observation({
        sessionId: 's-c',
        observedAt: '2025-06-01T09:00:00Z',
        definitionVersion: 2,
        totals: { cpuCores: 1, memoryGb: 7.5, storageGb: 9, nodeCount: 4 },
      }),
    ];
    const agg = aggregateObservations(obs);
    expect(agg.sessions.map((s) => [s.sessionId, s.observedAt, s.hasDrift])).toEqual([
      ['s-b', '2025-06-01T12:00:00Z', true],
      ['s-a', '2025-06-01T11:00:00Z', false],
      ['s-c', '2025-06-01T09:00:00Z', false],
    ]);
    expect(agg.sessionCount).toBe(3);
    expect(agg.versions).toEqual([2, 3, 4]);
    expect(agg.max).toEqual({ cpuCores: 5, memoryGb: 7.5, storageGb: 12, nodeCount: 4 });
    // cpu 9/3 = 3; memory 18.5/3 = 6.1666… → 6.17; storage 32/3 = 10.666… → 10.67; nodes 11/3 → 4
    expect(agg.avg).toEqual({ cpuCores: 3, memoryGb: 6.17, storageGb: 10.67, nodeCount: 4 });
    expect(agg.latest).toEqual({ cpuCores: 5, memoryGb: 5, storageGb: 11, nodeCount: 4 });
    expect(agg.driftSessions).toBe(1);
  });

  it('keeps only the newest `limit` sessions', () => {
    const obs = [1, 2, 3, 4, 5].map((h) =>
      observation({
        sessionId: `s-${h}`,
        observedAt: `2025-06-01T0${h}:00:00Z`,
        totals: { cpuCores: h, memoryGb: h, storageGb: h, nodeCount: h },
      }),
    );
    const agg = aggregateObservations(obs, 2);
    expect(agg.sessions.map((s) => s.sessionId)).toEqual(['s-5', 's-4']);
    expect(agg.max).toEqual({ cpuCores: 5, memoryGb: 5, storageGb: 5, nodeCount: 5 });
    expect(agg.avg).toEqual({ cpuCores: 4.5, memoryGb: 4.5, storageGb: 4.5, nodeCount: 5 });
  });

  it('compares timestamps as instants, not strings', () => {
    const obs = [
      observation({ sessionId: 's-1', observedAt: '2025-06-01T11:30:00+02:00' }), // 09:30Z
      observation({ sessionId: 's-2', observedAt: '2025-06-01T10:00:00Z' }),
    ];
    expect(aggregateObservations(obs).sessions.map((s) => s.sessionId)).toEqual(['s-2', 's-1']);
  });

  it('judges drift by the latest observation of a session', () => {
    const obs = [
      observation({ sessionId: 's-1', observedAt: '2025-06-01T10:00:00Z', drift: drifted }),
      observation({ sessionId: 's-1', observedAt: '2025-06-01T11:00:00Z' }),
    ];
    expect(aggregateObservations(obs).driftSessions).toBe(0);
  });

  it('does not share objects with its input', () => {
    const o = observation();
    const agg = aggregateObservations([o]);
    agg.latest!.cpuCores = 99;
    agg.sessions[0]!.totals.cpuCores = 98;
    expect(o.totals.cpuCores).toBe(4);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects limit = %s', (limit) => {
    expect(() => aggregateObservations([], limit)).toThrow(expect.objectContaining({ field: 'limit' }));
  });

  it('rejects an unparseable timestamp, naming it', () => {
    expect(() => aggregateObservations([observation(), observation({ observedAt: 'yesterday' })])).toThrow(
      ValidationError,
    );
    expect(() => aggregateObservations([observation({ observedAt: 'yesterday' })])).toThrow(
      expect.objectContaining({ field: 'obs.0.observedAt' }),
    );
  });
});
