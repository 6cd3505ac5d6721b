import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { esbuildOptions, REPO_ROOT } from '../../infra/lib/bundling.ts';

/**
 * zod stays tree-shakeable in Lambda code (docs/benchmarks.md, "Lambda bundle sizes"): the `z`
 * object and the default export hold all of zod with its locales, which esbuild cannot drop.
 * Biome's noRestrictedImports (biome.json overrides) forbids them in packages/shared/src and
 * functions/; the bundle check catches what the linter cannot see, such as a `z.core.…` or
 * `z.locales` property access that keeps a whole namespace.
 */

const BIOME = join(REPO_ROOT, 'node_modules', '.bin', 'biome');
const PLANTED = '__planted_zod_import__.ts';

/** Lints `source` planted at `dir`/PLANTED inside the tree (Biome's overrides match by path), then removes it. */
function lint(dir: string, source: string): { status: number | null; output: string } {
  const file = join(REPO_ROOT, dir, PLANTED);
  writeFileSync(file, source);
  try {
    const run = spawnSync(BIOME, ['lint', '--max-diagnostics=5', file], { cwd: REPO_ROOT, encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(file, { force: true });
  }
}

describe('zod imports in Lambda code', () => {
  it.each([
    ["import { z } from 'zod';\nexport const s = z.string();\n"],
    ["import type { z } from 'zod';\nexport type S = z.infer<z.ZodString>;\n"],
    ["import z from 'zod';\nexport const s = z.string();\n"],
    ["import { z as zod } from 'zod/v4';\nexport const s = zod.string();\n"],
  ])('the linter rejects %j', (source) => {
    for (const dir of ['functions', 'packages/shared/src/kernel']) {
      const { status, output } = lint(dir, source);
      expect(status, output).not.toBe(0);
      expect(output).toContain('noRestrictedImports');
    }
  });

  it('the linter accepts the namespace import and $ZodError from the core entry', () => {
    const source =
      "import * as z from 'zod';\nimport { $ZodError } from 'zod/v4/core';\n" +
      'export const s = z.string();\nexport const isZodError = (e: unknown) => e instanceof $ZodError;\n';
    const { status, output } = lint('functions', source);
    expect(status, output).toBe(0);
  });

  it('no locale but English reaches a bundle of every context', async () => {
    const contexts = ['kernel', 'platform', 'events', 'catalogue', 'fleet', 'sessions', 'api', 'app'];
    const result = await build({
      ...esbuildOptions('(every context)', join(REPO_ROOT, 'cdk.out', 'zod-imports-probe.mjs')),
      entryPoints: undefined,
      stdin: {
        contents: contexts.map((c) => `export * as ${c} from '@lcm/shared/${c}';`).join('\n'),
        resolveDir: REPO_ROOT,
        loader: 'ts',
      },
      write: false,
      metafile: true,
    });
    // What made it into the output (the metafile's top-level inputs also list what was shaken off).
    const [output] = Object.values(result.metafile.outputs).filter((o) => o.entryPoint !== undefined);
    const kept = Object.entries(output!.inputs)
      .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
      .map(([input]) => input);
    expect(kept.some((i) => i.includes('node_modules/zod/'))).toBe(true);
    expect(kept.filter((i) => /node_modules\/zod\/v4\/locales\/(?!en\.js$)/.test(i))).toEqual([]);
  });
});
