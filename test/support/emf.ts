import { discardMetrics } from '@lcm/shared/platform';
import { afterEach, beforeEach, vi } from 'vitest';

/** One CloudWatch EMF document as Powertools Metrics prints it. */
export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  [key: string]: unknown;
}

/** A data point read back from EMF: the metric, its value(s) and its dimension set. */
export interface EmfPoint {
  namespace: string;
  name: string;
  unit: string;
  values: number[];
  dimensions: Record<string, string>;
}

const isEmf = (v: unknown): v is EmfDocument =>
  typeof v === 'object' && v !== null && Array.isArray((v as EmfDocument)._aws?.CloudWatchMetrics);

/**
 * Runs `fn` with process.stdout captured (where Powertools Metrics writes its EMF lines, through
 * its own Console) and returns the EMF documents it printed; other output passes through.
 */
export async function captureEmf(fn: () => unknown): Promise<EmfPoint[]> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    for (const line of text.split('\n')) {
      if (line.includes('"CloudWatchMetrics"')) lines.push(line);
    }
    if (!text.includes('"CloudWatchMetrics"')) return write(chunk as string, ...(rest as []));
    return true;
  }) as typeof process.stdout.write);
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return lines.flatMap((line) => {
    const doc = JSON.parse(line) as unknown;
    return isEmf(doc) ? pointsOf(doc) : [];
  });
}

export function pointsOf(doc: EmfDocument): EmfPoint[] {
  return doc._aws.CloudWatchMetrics.flatMap((directive) => {
    const names = directive.Dimensions[0] ?? [];
    const dimensions = Object.fromEntries(names.map((n) => [n, String(doc[n])]));
    return directive.Metrics.map((m) => {
      const v = doc[m.Name];
      return {
        namespace: directive.Namespace,
        name: m.Name,
        unit: m.Unit,
        values: Array.isArray(v) ? (v as number[]) : [v as number],
        dimensions,
      };
    });
  });
}

/** In the calling describe: LCM_STAGE is `stage` (restored after each test), nothing recorded left over. */
export function metricsStageForTests(stage: string): void {
  const saved = process.env.LCM_STAGE;
  beforeEach(() => {
    process.env.LCM_STAGE = stage;
    discardMetrics();
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.LCM_STAGE;
    else process.env.LCM_STAGE = saved;
  });
}
