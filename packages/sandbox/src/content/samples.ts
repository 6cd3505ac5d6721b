import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';

/**
 * The sample content packages the local stack ships in its `lcm-content` bucket. Their sources
 * live in packages/sandbox/content-samples/<name>/ as plain files; `zipDirectory` turns one into
 * the zip a definition's contentUri points at, byte for byte the same on every run (sorted
 * entries, fixed timestamps), so its content hash is stable.
 */

export const CONTENT_SAMPLES_DIR = fileURLToPath(new URL('../../content-samples/', import.meta.url));

export interface SamplePackage {
  /** Object key in the bucket (file name in the content folder). */
  file: string;
  /** Source folder under content-samples/. */
  source: string;
  description: string;
}

export const SAMPLE_PACKAGES: readonly SamplePackage[] = [
  {
    file: 'cml-patty-lab.zip',
    source: 'cml-patty-lab',
    description:
      'legacy layout: cml.yaml with PATty tags, devices.json, content.xml, grade.xml, mosaic_meta.json',
  },
  {
    file: 'pav1-ospf-lab.zip',
    source: 'pav1-ospf-lab',
    description:
      'PAv1 layout: PAv1/manifest.yaml, topology/cml.yaml, topology/devices.json, grading/rubric.yaml',
  },
];

/** DOS timestamps are local time: build the date from local fields so the bytes never depend on TZ. */
const FIXED_MTIME = new Date(2025, 0, 1, 0, 0, 0);

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** A deterministic zip of every file under `dir` (paths relative to it, forward slashes). */
export function zipDirectory(dir: string): Uint8Array {
  const files: Record<string, [Uint8Array, { mtime: Date }]> = {};
  for (const path of filesUnder(dir)) {
    files[path] = [new Uint8Array(readFileSync(join(dir, path))), { mtime: FIXED_MTIME }];
  }
  return zipSync(files, { level: 6, mtime: FIXED_MTIME });
}

/** The zip of a shipped sample, by its file name (`cml-patty-lab.zip`). */
export function samplePackageBytes(file: string): Uint8Array {
  const sample = SAMPLE_PACKAGES.find((s) => s.file === file);
  if (!sample) throw new Error(`no sample package ${file}`);
  return zipDirectory(join(CONTENT_SAMPLES_DIR, sample.source));
}

/**
 * Writes each sample package into `dir` unless a file of that name is already there (an edited
 * package is never overwritten). Returns the files written.
 */
export function seedSampleContent(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const sample of SAMPLE_PACKAGES) {
    const target = join(dir, sample.file);
    if (existsSync(target)) continue;
    const tmp = `${target}.${process.pid}.tmp`;
    writeFileSync(tmp, samplePackageBytes(sample.file));
    renameSync(tmp, target);
    written.push(sample.file);
  }
  return written;
}
