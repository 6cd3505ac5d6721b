import { Unzip, UnzipInflate, unzipSync } from 'fflate';
import { ContentPackageError, PACKAGE_FILE } from './errors.ts';

/**
 * Reading an untrusted zip with fflate, defensively. Nothing is written to disk; only the
 * entries the caller asks for are inflated, and only after the whole archive passed these checks:
 *
 * - the central directory is read first without inflating anything (`unzipSync` with a filter
 *   that declines every entry): entry count, entry names and declared sizes are checked there;
 * - names must be relative and stay inside the package root (no `..`, no `/x`, no `C:`, no NUL,
 *   backslashes count as separators), and no two entries may have the same normalised name;
 * - declared uncompressed sizes are bounded per entry and in total, before any inflation;
 * - the wanted entries are then inflated by fflate's streaming `Unzip`, fed in small slices, and
 *   every inflated byte is counted: an entry that inflates past its declared size (a lying zip
 *   bomb) is stopped there, and one that ends short of it is refused too;
 * - the local headers the stream walks must agree with the central directory (same names, same
 *   count), so a tool that reads one and a tool that reads the other see the same archive.
 */

export interface ZipLimits {
  /** Most entries (files and directories) an archive may have. */
  maxEntries: number;
  /** Largest declared uncompressed size of one entry, in bytes. */
  maxEntryBytes: number;
  /** Largest sum of the declared uncompressed sizes of all entries, in bytes. */
  maxTotalBytes: number;
  /**
   * Entries allowed more than maxEntryBytes (the CML topology of a package: up to 50 MiB, issue 11,
   * item 1); every other entry keeps the per-entry bound.
   */
  largeEntries?: { readonly paths: readonly string[]; readonly maxBytes: number };
}

export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxEntries: 2000,
  maxEntryBytes: 16 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
});

export interface ZipEntryInfo {
  /** Normalised path (forward slashes, no `./`); directories end with `/`. */
  path: string;
  /** The name as stored in the archive. */
  rawName: string;
  directory: boolean;
  /** Declared sizes from the central directory. */
  compressedSize: number;
  size: number;
  compression: number;
}

export interface ZipContents {
  /** Every entry in central-directory order. */
  entries: ZipEntryInfo[];
  /** Normalised paths of the files (not directories). */
  files: string[];
  /** The inflated bytes of each wanted file, by normalised path. */
  data: Map<string, Uint8Array>;
}

/**
 * Compressed bytes fed to the streaming inflater at a time. Deflate expands at most ~1032×, so
 * one step inflates at most ~1 MiB: an entry that lies about its size is stopped within that of
 * its declared size, however large it would really grow.
 */
const FEED_BYTES = 1024;

const unsafe = (rawName: string, reason: string): ContentPackageError =>
  new ContentPackageError('UNSAFE_PATH', rawName || '(empty name)', reason, { entry: rawName });

/**
 * The normalised path of an entry name, or a ContentPackageError('UNSAFE_PATH'). Backslashes are
 * separators; `.` segments and repeated slashes are dropped; a trailing `/` marks a directory.
 */
export function normaliseEntryName(rawName: string): string {
  if (rawName.length === 0) throw unsafe(rawName, 'entry with an empty name');
  if (rawName.length > 1024) throw unsafe(rawName.slice(0, 64), 'entry name longer than 1024 characters');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(rawName)) throw unsafe(rawName, 'control character in entry name');
  const name = rawName.replace(/\\/g, '/');
  if (name.startsWith('/')) throw unsafe(rawName, 'absolute path');
  if (/^[A-Za-z]:/.test(name)) throw unsafe(rawName, 'absolute path (drive letter)');
  const directory = name.endsWith('/');
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw unsafe(rawName, 'path escapes the package root (..)');
  if (segments.length === 0) throw unsafe(rawName, 'entry names no file');
  return segments.join('/') + (directory ? '/' : '');
}

function readCentralDirectory(bytes: Uint8Array, limits: ZipLimits): ZipEntryInfo[] {
  const entries: ZipEntryInfo[] = [];
  const seen = new Set<string>();
  let total = 0;
  try {
    unzipSync(bytes, {
      filter: (f) => {
        if (entries.length >= limits.maxEntries) {
          throw new ContentPackageError(
            'TOO_MANY_ENTRIES',
            PACKAGE_FILE,
            `more than ${limits.maxEntries} entries`,
            { maxEntries: limits.maxEntries },
          );
        }
        const path = normaliseEntryName(f.name);
        const key = path.replace(/\/$/, '');
        if (seen.has(key)) {
          throw new ContentPackageError('NOT_A_ZIP', path, 'duplicate entry in the archive', {
            entry: f.name,
          });
        }
        seen.add(key);
        if (!Number.isSafeInteger(f.originalSize) || f.originalSize < 0) {
          throw new ContentPackageError('NOT_A_ZIP', path, 'invalid declared size');
        }
        const maxEntryBytes = limits.largeEntries?.paths.includes(path)
          ? Math.max(limits.largeEntries.maxBytes, limits.maxEntryBytes)
          : limits.maxEntryBytes;
        if (f.originalSize > maxEntryBytes) {
          throw new ContentPackageError(
            'TOO_LARGE',
            path,
            `declares ${f.originalSize} bytes uncompressed; at most ${maxEntryBytes} per entry`,
            { declared: f.originalSize, maxEntryBytes },
          );
        }
        total += f.originalSize;
        if (total > limits.maxTotalBytes) {
          throw new ContentPackageError(
            'TOO_LARGE',
            PACKAGE_FILE,
            `entries declare more than ${limits.maxTotalBytes} bytes uncompressed in total`,
            { maxTotalBytes: limits.maxTotalBytes },
          );
        }
        const directory = path.endsWith('/');
        if (!directory && f.compression !== 0 && f.compression !== 8) {
          throw new ContentPackageError(
            'NOT_A_ZIP',
            path,
            `unsupported compression method ${f.compression} (stored or deflate only)`,
          );
        }
        entries.push({
          path,
          rawName: f.name,
          directory,
          compressedSize: f.size,
          size: f.originalSize,
          compression: f.compression,
        });
        return false; // nothing is inflated while the directory is checked
      },
    });
  } catch (e) {
    if (e instanceof ContentPackageError) throw e;
    throw new ContentPackageError('NOT_A_ZIP', PACKAGE_FILE, `not a readable zip archive (${errorText(e)})`);
  }
  return entries;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Checks the archive and inflates the files `want` selects. Throws ContentPackageError for every
 * refusal (NOT_A_ZIP, UNSAFE_PATH, TOO_MANY_ENTRIES, TOO_LARGE).
 */
export function readZip(
  bytes: Uint8Array,
  want: (path: string) => boolean,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): ZipContents {
  if (bytes.length < 22) {
    throw new ContentPackageError('NOT_A_ZIP', PACKAGE_FILE, `not a zip archive (${bytes.length} bytes)`);
  }
  const entries = readCentralDirectory(bytes, limits);
  const central = new Map(entries.map((e) => [e.path, e]));
  const files = entries.filter((e) => !e.directory).map((e) => e.path);
  const wanted = new Set(files.filter(want));
  const data = new Map<string, Uint8Array>();

  let localCount = 0;
  let inflatedTotal = 0;
  const unzip = new Unzip((file) => {
    localCount++;
    const path = normaliseEntryName(file.name);
    const info = central.get(path);
    if (!info || info.rawName !== file.name) {
      throw new ContentPackageError('NOT_A_ZIP', path, 'local header does not match the central directory');
    }
    if (file.originalSize !== undefined && file.originalSize !== info.size) {
      throw new ContentPackageError(
        'NOT_A_ZIP',
        path,
        `local header declares ${file.originalSize} bytes, the central directory ${info.size}`,
      );
    }
    if (!wanted.has(path) || data.has(path)) return;
    const chunks: Uint8Array[] = [];
    let inflated = 0;
    file.ondata = (err, chunk, final) => {
      // fflate hands an error thrown by this callback back to it: keep our own refusals as they are.
      if (err instanceof ContentPackageError) throw err;
      if (err) throw new ContentPackageError('NOT_A_ZIP', path, `cannot inflate (${errorText(err)})`);
      inflated += chunk.length;
      inflatedTotal += chunk.length;
      if (inflated > info.size) {
        file.terminate();
        throw new ContentPackageError(
          'TOO_LARGE',
          path,
          `inflates past its declared ${info.size} bytes (stopped at ${inflated})`,
          { declared: info.size },
        );
      }
      if (inflatedTotal > limits.maxTotalBytes) {
        file.terminate();
        throw new ContentPackageError(
          'TOO_LARGE',
          PACKAGE_FILE,
          `inflates past ${limits.maxTotalBytes} bytes`,
        );
      }
      if (chunk.length > 0) chunks.push(chunk);
      if (final) {
        if (inflated !== info.size) {
          throw new ContentPackageError(
            'NOT_A_ZIP',
            path,
            `inflates to ${inflated} bytes but declares ${info.size}`,
          );
        }
        data.set(path, concat(chunks, inflated));
      }
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  try {
    for (let at = 0; at < bytes.length; at += FEED_BYTES) {
      const end = Math.min(at + FEED_BYTES, bytes.length);
      unzip.push(bytes.subarray(at, end), end === bytes.length);
    }
  } catch (e) {
    if (e instanceof ContentPackageError) throw e;
    throw new ContentPackageError('NOT_A_ZIP', PACKAGE_FILE, `damaged zip archive (${errorText(e)})`);
  }
  if (localCount !== entries.length) {
    throw new ContentPackageError(
      'NOT_A_ZIP',
      PACKAGE_FILE,
      `the central directory lists ${entries.length} entries but ${localCount} local headers were found`,
    );
  }
  for (const path of wanted) {
    if (!data.has(path))
      throw new ContentPackageError('NOT_A_ZIP', path, 'entry data is missing or truncated');
  }
  return { entries, files, data };
}
