import { ContentPackageError, DEFAULT_ZIP_LIMITS, normaliseEntryName, readZip } from '@lcm/shared/catalogue';
import { strFromU8, strToU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { streamedZipOf, withDeclaredSize, zipOf } from './packages.ts';

/** The defensive zip reader (catalogue/content/zip.ts) on its own. */

const refused = (fn: () => unknown): ContentPackageError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ContentPackageError);
    return e as ContentPackageError;
  }
  throw new Error('expected a refusal');
};

/** A copy with every occurrence of `from` (same length) replaced, in the local header only if `localOnly`. */
function patchName(zip: Uint8Array, from: string, to: string, localOnly: boolean): Uint8Array {
  const out = new Uint8Array(zip);
  const a = strToU8(from);
  const b = strToU8(to);
  for (let i = 0; i + a.length <= out.length; i++) {
    if (!a.every((c, j) => out[i + j] === c)) continue;
    // The local header's name starts 30 bytes after its signature PK\x03\x04.
    const isLocal = out[i - 30] === 0x50 && out[i - 29] === 0x4b && out[i - 28] === 3 && out[i - 27] === 4;
    if (!localOnly || isLocal) out.set(b, i);
  }
  return out;
}

describe('normaliseEntryName', () => {
  it.each([
    ['cml.yaml', 'cml.yaml'],
    ['./cml.yaml', 'cml.yaml'],
    ['PAv1//topology/./cml.yaml', 'PAv1/topology/cml.yaml'],
    ['PAv1\\grading\\rubric.yaml', 'PAv1/grading/rubric.yaml'],
    ['PAv1/', 'PAv1/'],
  ])('%s → %s', (raw, expected) => {
    expect(normaliseEntryName(raw)).toBe(expected);
  });

  it.each([
    ['', /empty name/],
    ['../x', /escapes the package root/],
    ['a/../../x', /escapes the package root/],
    ['a\\..\\..\\x', /escapes the package root/],
    ['/etc/passwd', /absolute path/],
    ['\\\\server\\share\\x', /absolute path/],
    ['C:\\x', /drive letter/],
    ['d:/x', /drive letter/],
    ['a\u0000b', /control character/],
    ['./', /names no file/],
    ['x'.repeat(1025), /longer than 1024/],
  ])('refuses %j', (raw, reason) => {
    const e = refused(() => normaliseEntryName(raw));
    expect(e.problem).toBe('UNSAFE_PATH');
    expect(e.reason).toMatch(reason);
  });
});

describe('readZip', () => {
  const files = {
    'cml.yaml': 'lab: {}\n',
    'PAv1/': '',
    'PAv1/manifest.yaml': 'pod_type: cml\n',
    'big.bin': 'x'.repeat(5000),
  };

  it('lists every entry and inflates only the wanted files', () => {
    const zip = readZip(zipOf(files), (p) => p !== 'big.bin');
    expect(zip.entries.map((e) => [e.path, e.directory, e.size])).toEqual([
      ['cml.yaml', false, 8],
      ['PAv1/', true, 0],
      ['PAv1/manifest.yaml', false, 14],
      ['big.bin', false, 5000],
    ]);
    expect(zip.files).toEqual(['cml.yaml', 'PAv1/manifest.yaml', 'big.bin']);
    expect([...zip.data.keys()]).toEqual(['cml.yaml', 'PAv1/manifest.yaml']);
    expect(strFromU8(zip.data.get('PAv1/manifest.yaml')!)).toBe('pod_type: cml\n');
  });

  it('reads archives written as a stream (data descriptors, no sizes in local headers)', () => {
    const zip = readZip(
      streamedZipOf({ 'cml.yaml': 'lab: {}\n', 'big.bin': 'y'.repeat(100_000) }),
      () => true,
    );
    expect(strFromU8(zip.data.get('cml.yaml')!)).toBe('lab: {}\n');
    expect(zip.data.get('big.bin')!.length).toBe(100_000);
  });

  it('stops a lying entry within about 1 MiB of its declared size, however far it would inflate', () => {
    const bomb = withDeclaredSize(zipOf({ 'a.txt': new Uint8Array(64 * 1024 * 1024) }), 'a.txt', 1000);
    const e = refused(() => readZip(bomb, () => true));
    expect(e.problem).toBe('TOO_LARGE');
    expect(e.file).toBe('a.txt');
    const stoppedAt = Number(/stopped at (\d+)/.exec(e.reason)?.[1]);
    expect(stoppedAt).toBeGreaterThan(1000);
    expect(stoppedAt).toBeLessThan(1000 + 1.1 * 1024 * 1024);
  });

  it('refuses an entry that inflates to less than it declares', () => {
    const short = withDeclaredSize(zipOf({ 'a.txt': 'hello' }), 'a.txt', 50);
    const e = refused(() => readZip(short, () => true));
    expect([e.problem, e.file]).toEqual(['NOT_A_ZIP', 'a.txt']);
    expect(e.reason).toMatch(/inflates to 5 bytes but declares 50/);
  });

  it('does not inflate a lying entry nobody asked for, but its declared size still counts', () => {
    const bomb = withDeclaredSize(
      zipOf({ 'a.txt': new Uint8Array(8 * 1024 * 1024), 'b.txt': 'b' }),
      'a.txt',
      10,
    );
    expect(strFromU8(readZip(bomb, (p) => p === 'b.txt').data.get('b.txt')!)).toBe('b');
  });

  it('refuses a local header that does not match the central directory', () => {
    const zip = patchName(zipOf({ 'cml.yaml': 'lab: {}\n' }), 'cml.yaml', 'cml.yamx', true);
    const e = refused(() => readZip(zip, () => true));
    expect(e.problem).toBe('NOT_A_ZIP');
    expect(e.reason).toMatch(/local header does not match the central directory/);
  });

  it('refuses two entries with the same normalised name', () => {
    const e = refused(() => readZip(zipOf({ 'cml.yaml': 'a', './cml.yaml': 'b' }), () => true));
    expect([e.problem, e.file, e.reason]).toEqual([
      'NOT_A_ZIP',
      'cml.yaml',
      'duplicate entry in the archive',
    ]);
  });

  it('refuses compression methods other than stored and deflate', () => {
    const zip = zipOf({ 'a.txt': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' });
    // Compression method: offset 8 in the local header, 10 in the central directory entry.
    const lzma = new Uint8Array(zip);
    lzma[8] = 14;
    const cd = lzma.findIndex(
      (_, i) => lzma[i] === 0x50 && lzma[i + 1] === 0x4b && lzma[i + 2] === 1 && lzma[i + 3] === 2,
    );
    lzma[cd + 10] = 14;
    const e = refused(() => readZip(lzma, () => true));
    expect(e.reason).toMatch(/unsupported compression method 14/);
  });

  it('applies the limits it is given', () => {
    const many = zipOf({ a: '1', b: '2', c: '3' });
    expect(refused(() => readZip(many, () => true, { ...DEFAULT_ZIP_LIMITS, maxEntries: 2 })).problem).toBe(
      'TOO_MANY_ENTRIES',
    );
    const e = refused(() => readZip(many, () => true, { ...DEFAULT_ZIP_LIMITS, maxTotalBytes: 2 }));
    expect([e.problem, e.file]).toEqual(['TOO_LARGE', '(package)']);
    expect(
      readZip(many, () => true, { maxEntries: 3, maxEntryBytes: 1, maxTotalBytes: 3 }).files,
    ).toHaveLength(3);
  });

  it.each([
    ['empty input', new Uint8Array(0)],
    ['random bytes', new Uint8Array(4096).map((_, i) => (i * 7919) % 251)],
  ])('refuses %s as not a zip', (_name, bytes) => {
    expect(refused(() => readZip(bytes, () => true)).problem).toBe('NOT_A_ZIP');
  });
});
