import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Docs and code comments name files by their repository path; a move or a rename must take the
 * names along. Every path the README, docs/*.md and the production sources cite must exist.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOP = '(?:packages|functions|infra|statemachines|test|bench|docs|layers|\\.ci)';
/** `path` in Markdown backticks, or a Markdown link target. */
const MD_PATH = new RegExp(`\`(${TOP}/[A-Za-z0-9_./-]+)\`|\\]\\((${TOP}/[^)#\\s]+)\\)`, 'g');
/** A path with an extension cited anywhere in a source file (comments included). */
const SOURCE_PATH = new RegExp(`(?<![\\w./@-])(${TOP}/[A-Za-z0-9_./-]+\\.(?:ts|json|md|yaml|mjs))`, 'g');

const tracked = (): string[] =>
  execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);

function missingIn(files: string[], pattern: RegExp): string[] {
  const missing: string[] = [];
  for (const file of files) {
    if (!existsSync(join(ROOT, file))) continue;
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(pattern)) {
      const cited = (m[1] ?? m[2] ?? '').replace(/[.,:;]+$/, '');
      if (cited && !existsSync(join(ROOT, cited))) missing.push(`${file}: ${cited}`);
    }
  }
  return missing;
}

describe('paths cited in docs and code', () => {
  const files = tracked();

  it('README.md and docs/*.md cite only files and folders that exist', () => {
    const docs = files.filter((f) => f === 'README.md' || (f.startsWith('docs/') && f.endsWith('.md')));
    expect(docs.length).toBeGreaterThan(3);
    expect(missingIn(docs, MD_PATH)).toEqual([]);
  });

  it('production sources cite only files that exist', () => {
    const sources = files.filter(
      (f) => /^(packages\/[^/]+\/src|functions|infra)\//.test(f) && f.endsWith('.ts') && !f.includes('test'),
    );
    expect(sources.length).toBeGreaterThan(100);
    expect(missingIn(sources, SOURCE_PATH)).toEqual([]);
  });
});
