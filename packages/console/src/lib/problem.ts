/** RFC 9457 problem details as the API answers them (ProblemDetails in docs/openapi.json). */
export interface Problem {
  readonly type?: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly code?: string;
  readonly errors?: readonly { readonly path: string; readonly message: string; readonly in?: string }[];
}

/** A problem from an error body (problem+json, API Gateway's {message}, or anything else). */
export function toProblem(status: number, body: unknown): Problem {
  if (typeof body === 'object' && body !== null) {
    const b = body as Record<string, unknown>;
    if (typeof b.title === 'string') {
      return {
        title: b.title,
        status: typeof b.status === 'number' ? b.status : status,
        ...(typeof b.type === 'string' ? { type: b.type } : {}),
        ...(typeof b.detail === 'string' ? { detail: b.detail } : {}),
        ...(typeof b.code === 'string' ? { code: b.code } : {}),
        ...(Array.isArray(b.errors) ? { errors: b.errors as Problem['errors'] } : {}),
      };
    }
    if (typeof b.message === 'string') return { title: b.message, status };
  }
  return { title: `HTTP ${status}`, status };
}

/** The field errors of a problem keyed by path (`capacity.cpuCores`), for forms. */
export function fieldErrors(problem: Problem | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of problem?.errors ?? []) out[e.path] ??= e.message;
  return out;
}

export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

/** The problem a failed call threw (a ProblemError's, or one titled with anything else thrown). */
export function problemOf(e: unknown): Problem {
  return e instanceof ProblemError ? e.problem : toProblem(0, { title: String(e) });
}
