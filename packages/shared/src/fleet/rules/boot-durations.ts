import type { BootRecord, Worker } from '../../kernel/index.ts';

/**
 * Observed boot durations (issue 10, item 5), pure: the provisioning workflow records each boot of
 * a worker (launch or start → CML ready) in `worker.boots` (kernel/schemas.ts BootRecordSchema);
 * the scaler's look-ahead can use a template's observed p95 instead of its stated `bootMinutes`.
 */

export interface ObservedBootOptions {
  /** How many of the newest boots count (default 20). */
  readonly lastN?: number;
  /**
   * Below this many boots the prior fills the sample up to it (default 3): one lucky fast boot does
   * not shorten the look-ahead, and the template's figure keeps weight until boots are seen.
   */
  readonly minSamples?: number;
  /** The quantile (default 0.95). */
  readonly quantile?: number;
}

/**
 * The p95 (nearest rank) of the last N boot durations in seconds, `boots` oldest first; `prior`
 * (the template's `bootMinutes` × 60) when there are none, and standing in for the missing ones
 * while there are fewer than `minSamples`.
 */
export function observedBootSeconds(
  boots: readonly number[],
  prior: number,
  opts: ObservedBootOptions = {},
): number {
  const lastN = Math.max(1, opts.lastN ?? 20);
  const minSamples = Math.max(1, opts.minSamples ?? 3);
  const q = Math.min(1, Math.max(0, opts.quantile ?? 0.95));
  const sample = boots.filter((b) => Number.isFinite(b) && b >= 0).slice(-lastN);
  while (sample.length < minSamples) sample.push(prior);
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * The boot durations (seconds) of a template's workers, oldest first by ready time; `kind` LAUNCH
 * by default (a fresh instance: what the look-ahead waits for when it launches).
 */
export function templateBootSeconds(
  workers: readonly Pick<Worker, 'boots'>[],
  templateName: string,
  kind: BootRecord['kind'] = 'LAUNCH',
): number[] {
  return workers
    .flatMap((w) => w.boots ?? [])
    .filter((b) => b.templateName === templateName && b.kind === kind)
    .sort((a, b) => a.readyAt.localeCompare(b.readyAt))
    .map((b) => b.seconds);
}

/**
 * What the scalers pass the planners as `bootSeconds`: for each template, the observed p95 of its
 * workers' recorded launches (`observedBootSeconds` over `templateBootSeconds`), the template's
 * `bootMinutes` as the prior. `workers` should include TERMINATED ones the caller read anyway:
 * their boots count as much as those of the live fleet.
 */
export function observedBootSecondsByTemplate(
  workers: readonly Pick<Worker, 'boots'>[],
  templates: readonly { name: string; bootMinutes: number }[],
  opts: ObservedBootOptions = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of templates) {
    out[t.name] = observedBootSeconds(templateBootSeconds(workers, t.name), t.bootMinutes * 60, opts);
  }
  return out;
}
