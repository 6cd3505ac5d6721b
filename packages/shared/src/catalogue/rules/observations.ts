import type { ResourceObservation, ResourceRequirements } from '../../kernel/index.ts';
import { ValidationError } from '../../kernel/index.ts';

/**
 * Aggregation of runtime observations across the sessions of a definition, so an operator can
 * fold what labs really consumed back into the definition's requirements. One session counts
 * once, with its latest observation: repeated observations of one long session must not
 * outweigh the others.
 */

export interface ObservedSessionSummary {
  sessionId: string;
  definitionVersion: number;
  observedAt: string;
  totals: ResourceRequirements;
  hasDrift: boolean;
}

export interface ObservationAggregate {
  sessionCount: number;
  /** Distinct definition versions among the sessions, ascending. */
  versions: number[];
  /** Per dimension; null when there is no observation. */
  max: ResourceRequirements | null;
  /** cpuCores/memoryGb/storageGb rounded to 2 decimals, nodeCount rounded up to an integer. */
  avg: ResourceRequirements | null;
  /** Totals of the newest observation. */
  latest: ResourceRequirements | null;
  /** Sessions whose latest observation reported port drift. */
  driftSessions: number;
  /** Newest first. */
  sessions: ObservedSessionSummary[];
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

export function aggregateObservations(obs: ResourceObservation[], limit?: number): ObservationAggregate {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new ValidationError('limit', `must be an integer >= 1, got ${String(limit)}`);
  }

  const latestBySession = new Map<string, { o: ResourceObservation; t: number }>();
  obs.forEach((o, i) => {
    const t = Date.parse(o.observedAt);
    if (Number.isNaN(t)) throw new ValidationError(`obs.${i}.observedAt`, `not a date-time: ${o.observedAt}`);
    const current = latestBySession.get(o.sessionId);
    if (!current || t > current.t) latestBySession.set(o.sessionId, { o, t });
  });

  let newest = [...latestBySession.values()].sort(
    (a, b) => b.t - a.t || (a.o.sessionId < b.o.sessionId ? -1 : a.o.sessionId > b.o.sessionId ? 1 : 0),
  );
  if (limit !== undefined) newest = newest.slice(0, limit);

  const sessions: ObservedSessionSummary[] = newest.map(({ o }) => ({
    sessionId: o.sessionId,
    definitionVersion: o.definitionVersion,
    observedAt: o.observedAt,
    totals: { ...o.totals },
    hasDrift: o.drift?.hasDrift === true,
  }));
  const n = sessions.length;
  if (n === 0) {
    return { sessionCount: 0, versions: [], max: null, avg: null, latest: null, driftSessions: 0, sessions };
  }

  const max: ResourceRequirements = { cpuCores: 0, memoryGb: 0, storageGb: 0, nodeCount: 0 };
  const sum: ResourceRequirements = { cpuCores: 0, memoryGb: 0, storageGb: 0, nodeCount: 0 };
  for (const { totals } of sessions) {
    for (const d of ['cpuCores', 'memoryGb', 'storageGb', 'nodeCount'] as const) {
      max[d] = Math.max(max[d], totals[d]);
      sum[d] += totals[d];
    }
  }
  return {
    sessionCount: n,
    versions: [...new Set(sessions.map((s) => s.definitionVersion))].sort((a, b) => a - b),
    max,
    avg: {
      cpuCores: round2(sum.cpuCores / n),
      memoryGb: round2(sum.memoryGb / n),
      storageGb: round2(sum.storageGb / n),
      nodeCount: Math.ceil(sum.nodeCount / n),
    },
    latest: { ...sessions[0]!.totals },
    driftSessions: sessions.filter((s) => s.hasDrift).length,
    sessions,
  };
}
