import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The boundary rules (docs/architecture.md, "Boundaries the linter checks") run as
 * `npm run lint:boundaries`; this runs that script on the clean tree, then plants one violation of
 * each rule in a temporary file inside the tree and asserts the check fails naming file and rule.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PLANTED = '__planted_boundaries__.ts';

interface Violation {
  rule: string;
  from: string;
  to: string;
}

function lintBoundaries(): Promise<{ code: number; output: string; violations: Violation[] }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '--silent', 'lint:boundaries'], { cwd: ROOT }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      const violations = [...output.matchAll(/^\s*error (\S+): (\S+) → (\S+)$/gm)].map(
        ([, rule, from, to]) => ({
          rule: rule!,
          from: from!,
          to: to!,
        }),
      );
      resolve({ code: error ? Number(error.code ?? 1) : 0, output, violations });
    });
  });
}

/**
 * Planted file (path from the root) → its imports, and the [rule, target] violations each must raise;
 * a target is a module path or the name of an npm package.
 */
const plants: { file: string; imports: string[]; expected: [rule: string, to: string][] }[] = [
  {
    file: `packages/shared/src/kernel/${PLANTED}`,
    imports: ['@aws-sdk/client-dynamodb', '../platform/index.ts'],
    expected: [
      ['rules-are-pure', '@aws-sdk/client-dynamodb'],
      ['dependency-order', 'packages/shared/src/platform/index.ts'],
    ],
  },
  {
    file: `packages/shared/src/catalogue/rules/${PLANTED}`,
    imports: ['node:fs', 'node:child_process', 'node:crypto', '@middy/core', '@aws-lambda-powertools/logger'],
    expected: [
      ['rules-are-pure', 'fs'],
      ['rules-are-pure', 'child_process'],
      ['rules-are-pure', '@middy/core'],
      ['rules-are-pure', '@aws-lambda-powertools/logger'],
    ],
  },
  {
    file: `packages/shared/src/fleet/rules/${PLANTED}`,
    imports: ['../stores/worker-store.ts', '../../platform/index.ts'],
    expected: [
      ['rules-are-pure', 'packages/shared/src/fleet/stores/worker-store.ts'],
      ['rules-are-pure', 'packages/shared/src/platform/index.ts'],
    ],
  },
  {
    file: `packages/shared/src/fleet/${PLANTED}`,
    imports: ['../sessions/session-store.ts', '../kernel/schemas.ts', '@lcm/shared/sessions'],
    expected: [
      ['context-entry-point', 'packages/shared/src/sessions/session-store.ts'],
      ['dependency-order', 'packages/shared/src/sessions/session-store.ts'],
      ['context-entry-point', 'packages/shared/src/kernel/schemas.ts'],
      ['dependency-order', 'packages/shared/src/sessions/index.ts'],
    ],
  },
  {
    file: `packages/shared/src/events/${PLANTED}`,
    imports: ['../app/index.ts'],
    expected: [['dependency-order', 'packages/shared/src/app/index.ts']],
  },
  {
    file: `packages/shared/src/app/${PLANTED}`,
    imports: ['@lcm/sandbox'],
    expected: [['no-sandbox-in-production', 'packages/sandbox/src/index.ts']],
  },
  {
    file: `functions/${PLANTED}`,
    imports: ['@lcm/shared/fleet/rules/scaling.ts', '../packages/shared/src/kernel/index.ts', '@lcm/sandbox'],
    expected: [
      ['entry-points-only', '@lcm/shared/fleet/rules/scaling.ts'],
      ['entry-points-only', 'packages/shared/src/kernel/index.ts'],
      ['no-sandbox-in-production', 'packages/sandbox/src/index.ts'],
    ],
  },
  {
    file: `infra/${PLANTED}`,
    imports: ['@lcm/sandbox'],
    expected: [['no-sandbox-in-production', 'packages/sandbox/src/index.ts']],
  },
];

describe('boundaries checked by npm run lint:boundaries', () => {
  it('passes on the tree as committed', async () => {
    const result = await lintBoundaries();
    expect(result.violations).toEqual([]);
    expect(result.code, result.output).toBe(0);
  });

  it('fails on a planted violation of each rule, naming the file and the rule', async () => {
    try {
      for (const plant of plants) {
        mkdirSync(dirname(join(ROOT, plant.file)), { recursive: true });
        const body = plant.imports.map((specifier) => `import '${specifier}';\n`).join('');
        writeFileSync(
          join(ROOT, plant.file),
          `// Planted by test/infra/boundaries.test.ts; safe to delete.\n${body}`,
        );
      }
      const result = await lintBoundaries();
      expect(result.code, result.output).not.toBe(0);
      for (const plant of plants) {
        const found = result.violations.filter((violation) => violation.from === plant.file);
        for (const [rule, to] of plant.expected) {
          const hit = found.some(
            (violation) =>
              violation.rule === rule &&
              (violation.to === to || violation.to.includes(`node_modules/${to}/`)),
          );
          expect(hit, `${plant.file}: ${rule} → ${to}\n${result.output}`).toBe(true);
        }
      }
      // Hashing with node:crypto is allowed in a rules module (PURE_BUILTINS in .dependency-cruiser.mjs).
      expect(result.violations.filter((violation) => violation.to === 'crypto')).toEqual([]);
      // Nothing but the planted files is reported.
      expect(result.violations.filter((violation) => !violation.from.endsWith(PLANTED))).toEqual([]);
    } finally {
      for (const plant of plants) rmSync(join(ROOT, plant.file), { force: true });
    }
  });
});
