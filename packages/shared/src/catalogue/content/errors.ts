/**
 * Why a content package was refused. Every failure of a sync names the file it is about (or
 * `(package)` when it is about the archive as a whole) and the problem, so the diagnostic
 * stored on the definition tells the author what to fix.
 */
export type ContentProblem =
  /** The object could not be read from the content store (missing, denied, bad URI). */
  | 'UNREADABLE'
  /** Not a zip archive, or a zip that is damaged or inconsistent. */
  | 'NOT_A_ZIP'
  /** An entry name that is absolute, escapes the package root or is otherwise unsafe. */
  | 'UNSAFE_PATH'
  /** More entries than allowed. */
  | 'TOO_MANY_ENTRIES'
  /** The package, an entry or all entries together are larger than allowed (zip bombs). */
  | 'TOO_LARGE'
  /** A file the layout requires is missing. */
  | 'MISSING_FILE'
  /** A file is present but not valid (YAML, JSON, schema, cross-references). */
  | 'INVALID_FILE'
  /** The topology is not a valid CML topology. */
  | 'INVALID_TOPOLOGY'
  /** No pod type, or signals naming different ones. */
  | 'POD_TYPE_INDETERMINATE'
  /** The definition cannot take the content (e.g. it was archived while the sync ran). */
  | 'REJECTED'
  /** LCM failed while syncing; not a problem of the package (see the logs). */
  | 'INTERNAL';

/** The file a whole-archive problem is reported against. */
export const PACKAGE_FILE = '(package)';

export class ContentPackageError extends Error {
  readonly problem: ContentProblem;
  /** Path inside the package (`PAv1/manifest.yaml`), or `(package)`. */
  readonly file: string;
  /** The problem without the file name. */
  readonly reason: string;
  readonly details: Record<string, unknown>;

  constructor(problem: ContentProblem, file: string, reason: string, details: Record<string, unknown> = {}) {
    super(`${file}: ${reason}`);
    this.name = 'ContentPackageError';
    this.problem = problem;
    this.file = file;
    this.reason = reason;
    this.details = details;
  }

  /** What the definition's sync status shows: `<problem> <file>: <reason>` (at most 4000 characters). */
  get diagnostic(): string {
    const text = `${this.problem} ${this.file}: ${this.reason}`;
    return text.length <= 4000 ? text : `${text.slice(0, 3997)}...`;
  }
}

export const isContentPackageError = (e: unknown): e is ContentPackageError =>
  e instanceof ContentPackageError;
