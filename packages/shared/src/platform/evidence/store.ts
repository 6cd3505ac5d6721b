import type { Dirent } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Where collected evidence goes (DESIGN §9): device configurations and the evidence manifest
 * the Grading Engine reads. In AWS the evidence bucket (s3.ts); locally a directory (file://
 * URIs the sandbox Grading Engine reads directly) or memory (tests).
 */
export interface EvidenceStore {
  /** `s3`, `file`, `memory`; for logs. */
  readonly kind: string;
  /** Writes (or overwrites: keys are deterministic, so a repeated collection replaces) one object. */
  put(key: string, body: string, contentType?: string): Promise<{ uri: string }>;
  /** The object's text, or undefined when there is none. */
  get(key: string): Promise<string | undefined>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** The URI a partner reads the object by (`s3://bucket/key`, `file:///…`, `memory://…`). */
  uriOf(key: string): string;
}

/** Keys of a session's evidence; one place so collection, grading and cleanup agree. */
export const evidenceKeys = {
  prefix: (sessionId: string) => `sessions/${safeSegment(sessionId)}/`,
  manifest: (sessionId: string) => `sessions/${safeSegment(sessionId)}/manifest.json`,
  deviceConfig: (sessionId: string, device: string) =>
    `sessions/${safeSegment(sessionId)}/configs/${safeSegment(device)}.txt`,
};

/** A key segment from a free-form name (node labels): no `/`, no dot-only names, bounded. */
export function safeSegment(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
  return /^\.*$/.test(cleaned) ? `_${cleaned}` : cleaned;
}

function checkKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new RangeError(`invalid evidence key: ${key}`);
  }
}

/** Evidence in memory (tests; the local stack without a directory). */
export class MemoryEvidenceStore implements EvidenceStore {
  readonly kind = 'memory';
  readonly objects = new Map<string, { body: string; contentType: string }>();

  async put(key: string, body: string, contentType = 'text/plain; charset=utf-8'): Promise<{ uri: string }> {
    checkKey(key);
    this.objects.set(key, { body, contentType });
    return { uri: this.uriOf(key) };
  }

  async get(key: string): Promise<string | undefined> {
    return this.objects.get(key)?.body;
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  uriOf(key: string): string {
    return `memory://evidence/${key}`;
  }

  /** The key of a `memory://evidence/…` URI (undefined for any other URI). */
  static keyOf(uri: string): string | undefined {
    const prefix = 'memory://evidence/';
    return uri.startsWith(prefix) ? uri.slice(prefix.length) : undefined;
  }
}

/** Evidence as files under a directory (the local stack): the URIs are file:// URLs. */
export class FileEvidenceStore implements EvidenceStore {
  readonly kind = 'file';
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private path(key: string): string {
    checkKey(key);
    const p = resolve(this.root, ...key.split('/'));
    if (!p.startsWith(this.root + sep)) throw new RangeError(`invalid evidence key: ${key}`);
    return p;
  }

  async put(key: string, body: string): Promise<{ uri: string }> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, body, 'utf8');
    await rename(tmp, p);
    return { uri: this.uriOf(key) };
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.path(key), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async list(prefix: string): Promise<string[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(this.root, { recursive: true, withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return entries
      .filter((e) => e.isFile())
      .map((e) => relative(this.root, join(e.parentPath, e.name)).split(sep).join('/'))
      .filter((k) => k.startsWith(prefix) && !k.endsWith('.tmp'))
      .sort();
  }

  uriOf(key: string): string {
    return pathToFileURL(this.path(key)).href;
  }
}
