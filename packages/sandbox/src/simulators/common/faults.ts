import { randomUUID } from 'node:crypto';

/**
 * Failure injection: faults matched by method and path, answering a status, delaying or
 * resetting the connection for a number of calls (programmatic, or over `POST /_sim/faults`).
 */

export interface FaultSpec {
  /** HTTP method to match (any when absent). */
  method?: string | undefined;
  /** Regular expression matched against the request path (no query string). */
  path: string | RegExp;
  /** Reply with this status instead of handling the call (omit to only delay, or with `reset`). */
  status?: number | undefined;
  /** Reply body (JSON); default: the simulator's error body for `status`. */
  body?: unknown;
  /** Wait this long first (then reply `status`, or handle the call normally when no status). */
  delayMs?: number | undefined;
  /** Destroy the connection without a reply (a network error for the client). */
  reset?: boolean | undefined;
  /**
   * Handle the call first, then answer `status` (or reset) instead of its reply: the partner did
   * the work and the answer is lost (a create that happened although the caller saw a failure).
   */
  after?: boolean | undefined;
  /** How many matching calls it affects (default 1); `'always'` until cleared. */
  times?: number | 'always' | undefined;
}

interface ActiveFault {
  id: string;
  method: string | undefined;
  path: RegExp;
  pathText: string;
  status: number | undefined;
  body: unknown;
  delayMs: number;
  reset: boolean;
  after: boolean;
  remaining: number;
  hits: number;
}

export interface FaultSnapshot {
  id: string;
  method?: string | undefined;
  path: string;
  status?: number | undefined;
  after?: true | undefined;
  remaining: number | 'always';
  hits: number;
}

export class FaultRegistry {
  private faults: ActiveFault[] = [];

  add(spec: FaultSpec): string {
    const times = spec.times ?? 1;
    if (times !== 'always' && (!Number.isInteger(times) || times < 1)) {
      throw new RangeError("fault times must be an integer >= 1 or 'always'");
    }
    if (spec.status === undefined && !spec.reset && !spec.delayMs) {
      throw new RangeError('a fault needs a status, a delay or reset');
    }
    if (spec.after && spec.status === undefined && !spec.reset) {
      throw new RangeError('a fault after the call needs a status or reset');
    }
    const fault: ActiveFault = {
      id: randomUUID(),
      method: spec.method?.toUpperCase(),
      path: typeof spec.path === 'string' ? new RegExp(spec.path) : spec.path,
      pathText: typeof spec.path === 'string' ? spec.path : spec.path.source,
      status: spec.status,
      body: spec.body,
      delayMs: spec.delayMs ?? 0,
      reset: spec.reset ?? false,
      after: spec.after ?? false,
      remaining: times === 'always' ? Number.POSITIVE_INFINITY : times,
      hits: 0,
    };
    this.faults.push(fault);
    return fault.id;
  }

  /** The first active fault matching the call (consumed once). */
  take(method: string, path: string): ActiveFault | undefined {
    const f = this.faults.find(
      (x) => x.remaining > 0 && (!x.method || x.method === method) && x.path.test(path),
    );
    if (!f) return undefined;
    f.remaining -= 1;
    f.hits += 1;
    return f;
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length !== before;
  }

  clear(): void {
    this.faults = [];
  }

  list(): FaultSnapshot[] {
    return this.faults.map((f) => ({
      id: f.id,
      ...(f.method ? { method: f.method } : {}),
      path: f.pathText,
      ...(f.status !== undefined ? { status: f.status } : {}),
      ...(f.after ? { after: true as const } : {}),
      remaining: Number.isFinite(f.remaining) ? f.remaining : 'always',
      hits: f.hits,
    }));
  }
}

/** Validates a fault posted to `/_sim/faults` (JSON: path is a regex source string). */
export function faultFromJson(body: unknown): FaultSpec {
  if (!body || typeof body !== 'object') throw new RangeError('fault must be a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.path !== 'string' || b.path === '') throw new RangeError('fault.path must be a regex string');
  try {
    new RegExp(b.path);
  } catch {
    throw new RangeError('fault.path is not a valid regular expression');
  }
  const num = (k: string) => {
    const v = b[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`fault.${k} must be a number`);
    return v;
  };
  const status = num('status');
  if (status !== undefined && (!Number.isInteger(status) || status < 100 || status > 599)) {
    throw new RangeError('fault.status must be an HTTP status');
  }
  const times = b.times === 'always' ? 'always' : num('times');
  return {
    method: typeof b.method === 'string' ? b.method : undefined,
    path: b.path,
    status,
    body: b.body,
    delayMs: num('delayMs'),
    reset: b.reset === true,
    after: b.after === true,
    times,
  };
}
