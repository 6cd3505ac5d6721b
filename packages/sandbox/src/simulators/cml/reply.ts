import { HttpError, type SimReply } from '../common.ts';

/** CML's error body (`{code, description}`) and the reply helpers every route module uses. */

export const cmlError = (status: number, description: string) => ({ code: status, description });

/** An error CML answers with `{code, description}`. */
export const fail = (status: number, description: string): HttpError =>
  new HttpError(status, description, cmlError(status, description));

export const ok = (body: unknown, status = 200): SimReply => ({ status, body });

/** A boolean query parameter (`true` in any case). */
export const flag = (q: URLSearchParams, name: string): boolean => q.get(name)?.toLowerCase() === 'true';
