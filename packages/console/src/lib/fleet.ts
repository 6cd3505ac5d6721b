import type { components } from '../api/schema.gen.ts';

type Worker = components['schemas']['Worker'];
type Capacity = components['schemas']['Capacity'];

export const DIMENSIONS = [
  { key: 'cpuCores', label: 'CPU cores' },
  { key: 'memoryGb', label: 'Memory GB' },
  { key: 'storageGb', label: 'Storage GB' },
  { key: 'maxNodes', label: 'Nodes' },
] as const satisfies readonly { key: keyof Capacity; label: string }[];

export interface Bar {
  readonly key: keyof Capacity;
  readonly label: string;
  readonly allocated: number;
  readonly declared: number;
  /** allocated / declared in [0, 1]; 0 when nothing is declared. */
  readonly share: number;
  /** More allocated than declared (a bug or a template shrunk under live sessions). */
  readonly over: boolean;
}

/** One bar per capacity dimension: allocated against declared. */
export function capacityBars(declared: Capacity, allocated: Capacity): Bar[] {
  return DIMENSIONS.map(({ key, label }) => {
    const d = declared[key];
    const a = allocated[key];
    return { key, label, declared: d, allocated: a, share: d > 0 ? Math.min(1, a / d) : 0, over: a > d };
  });
}

/**
 * The worker's last boot: from the last transition into STARTING (or PROVISIONING when it never
 * showed STARTING) to the RUNNING that followed, in seconds; null when it has not booted.
 */
export function lastBootSeconds(worker: Pick<Worker, 'stateHistory'>): number | null {
  const h = worker.stateHistory ?? [];
  let running = -1;
  for (let i = h.length - 1; i >= 0; i--) {
    if (h[i]!.to === 'RUNNING') {
      running = i;
      break;
    }
  }
  if (running < 0) return null;
  for (const wanted of ['STARTING', 'PROVISIONING'] as const) {
    for (let i = running - 1; i >= 0; i--) {
      if (h[i]!.to === 'RUNNING') break;
      if (h[i]!.to === wanted) {
        return Math.round((Date.parse(h[running]!.at) - Date.parse(h[i]!.at)) / 1000);
      }
    }
  }
  return null;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return s ? `${m} min ${s} s` : `${m} min`;
}

export const formatTime = (iso: string | undefined | null): string =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' }) : '—';

export const usd = (n: number | undefined): string => (n === undefined ? '—' : `$${n.toFixed(2)}`);
