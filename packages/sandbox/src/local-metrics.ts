/**
 * The local stack's CloudWatch stand-in for the business metrics (issue 13, item 8): the handlers
 * run in this process and Powertools Metrics prints their EMF documents to stdout, as in Lambda,
 * where CloudWatch Logs turns them into metrics. The collector takes those lines off stdout
 * (they are not echoed: the figures are served instead), keeps per metric and dimension set the
 * latest value, count, sum, min, max and the last `historySize` samples, and answers a snapshot
 * for `GET /_lcm/metrics` on the API's port. Other output passes through unchanged.
 */

export interface MetricSample {
  at: string;
  value: number;
}

export interface MetricSeries {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  latest: number;
  latestAt: string;
  count: number;
  sum: number;
  min: number;
  max: number;
  /** The newest samples, oldest first. */
  history: MetricSample[];
}

export interface MetricsSnapshot {
  since: string;
  /** EMF documents read. */
  documents: number;
  /** Sum of every sample per metric name, over all dimension sets. */
  totals: Record<string, number>;
  series: MetricSeries[];
}

export interface LocalMetrics {
  /** Reads one line; true when it was an EMF document. */
  ingest(line: string): boolean;
  snapshot(): MetricsSnapshot;
  /** Gives stdout back. */
  stop(): void;
}

interface EmfDirective {
  Namespace?: unknown;
  Dimensions?: unknown;
  Metrics?: unknown;
}

const DEFAULT_HISTORY = 60;

const emfOf = (line: string): Record<string, unknown> | undefined => {
  if (!line.startsWith('{') || !line.includes('"CloudWatchMetrics"')) return undefined;
  try {
    const doc = JSON.parse(line) as { _aws?: { CloudWatchMetrics?: unknown } };
    return Array.isArray(doc._aws?.CloudWatchMetrics) ? (doc as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

export function collectMetrics(opts: { historySize?: number } = {}): Omit<LocalMetrics, 'stop'> {
  const historySize = opts.historySize ?? DEFAULT_HISTORY;
  const since = new Date().toISOString();
  const series = new Map<string, MetricSeries>();
  let documents = 0;

  const add = (
    s: Omit<MetricSeries, 'latest' | 'latestAt' | 'count' | 'sum' | 'min' | 'max' | 'history'>,
    at: string,
    value: number,
  ) => {
    const id = JSON.stringify([s.namespace, s.name, Object.entries(s.dimensions).sort()]);
    const current =
      series.get(id) ??
      ({
        ...s,
        latest: value,
        latestAt: at,
        count: 0,
        sum: 0,
        min: value,
        max: value,
        history: [],
      } as MetricSeries);
    current.latest = value;
    current.latestAt = at;
    current.count++;
    current.sum += value;
    current.min = Math.min(current.min, value);
    current.max = Math.max(current.max, value);
    current.history.push({ at, value });
    if (current.history.length > historySize) current.history.splice(0, current.history.length - historySize);
    series.set(id, current);
  };

  return {
    ingest(line) {
      const doc = emfOf(line.trim());
      if (!doc) return false;
      documents++;
      const meta = doc._aws as { Timestamp?: unknown; CloudWatchMetrics: EmfDirective[] };
      const at = new Date(typeof meta.Timestamp === 'number' ? meta.Timestamp : Date.now()).toISOString();
      for (const directive of meta.CloudWatchMetrics) {
        const names = Array.isArray(directive.Dimensions)
          ? ((directive.Dimensions[0] as string[]) ?? [])
          : [];
        const dimensions = Object.fromEntries(names.map((n) => [n, String(doc[n])]));
        const metrics = Array.isArray(directive.Metrics)
          ? (directive.Metrics as Array<{ Name: string; Unit?: string }>)
          : [];
        for (const m of metrics) {
          const raw = doc[m.Name];
          const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
          for (const value of values) {
            add(
              { namespace: String(directive.Namespace), name: m.Name, unit: m.Unit ?? 'None', dimensions },
              at,
              value,
            );
          }
        }
      }
      return true;
    },
    snapshot() {
      const all = [...series.values()].sort(
        (a, b) =>
          a.name.localeCompare(b.name) ||
          JSON.stringify(a.dimensions).localeCompare(JSON.stringify(b.dimensions)),
      );
      const totals: Record<string, number> = {};
      for (const s of all) totals[s.name] = (totals[s.name] ?? 0) + s.sum;
      return { since, documents, totals, series: all.map((s) => ({ ...s, history: [...s.history] })) };
    },
  };
}

/**
 * Collects the EMF lines written to `stream` (process.stdout: where Powertools Metrics' console
 * writes) until stop(); a chunk's other lines are written on as they came.
 */
export function startMetricsCollector(
  opts: { historySize?: number; stream?: NodeJS.WriteStream } = {},
): LocalMetrics {
  const stream = opts.stream ?? process.stdout;
  const collector = collectMetrics(opts);
  const original = stream.write;
  const patched = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    const text =
      typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
    if (text === undefined || !text.includes('"CloudWatchMetrics"')) {
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    }
    const kept = text
      .split('\n')
      .filter((line) => !collector.ingest(line))
      .join('\n');
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    if (kept.trim() === '') {
      callback?.();
      return true;
    }
    return (original as (...a: unknown[]) => boolean).call(this, kept, ...rest);
  };
  stream.write = patched as typeof stream.write;
  return {
    ...collector,
    stop() {
      if (stream.write === patched) stream.write = original;
    },
  };
}
