import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AslErrorHandling, FLEET_ERROR_HANDLING, FLEET_ERRORS } from '@lcm/shared/fleet';
import { WORKFLOW_ERROR_HANDLING, WORKFLOW_ERRORS } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';

/**
 * The workflow error names against every ASL file in statemachines/: each name a Retry or Catch
 * matches is one of the tables (or defined by AWS), and each table entry is handled by its ASL
 * files exactly as the table says (retried, caught, or raised-only: left to the catch-all).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = join(ROOT, 'statemachines');

/** Names AWS defines: Step Functions' own and the Lambda service errors every task retries. */
const AWS_DEFINED = new Set([
  'States.ALL',
  'States.Timeout',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.Unknown',
]);

/** Which table covers which ASL file. */
const TABLES: ReadonlyArray<{
  name: string;
  handling: Readonly<Record<string, AslErrorHandling>>;
  files: string[];
}> = [
  {
    name: 'WORKFLOW_ERROR_HANDLING',
    handling: WORKFLOW_ERROR_HANDLING,
    files: ['session-lifecycle.asl.json'],
  },
  {
    name: 'FLEET_ERROR_HANDLING',
    handling: FLEET_ERROR_HANDLING,
    files: ['worker-provisioning.asl.json', 'worker-drain.asl.json'],
  },
];

type Matcher = { ErrorEquals: string[] };

/** Every Retry and Catch of a definition, states of nested Parallel/Map branches included. */
function matchers(node: unknown, out = { retry: new Set<string>(), caught: new Set<string>() }) {
  if (Array.isArray(node)) for (const v of node) matchers(v, out);
  else if (node && typeof node === 'object') {
    const o = node as { Retry?: Matcher[]; Catch?: Matcher[] };
    for (const r of o.Retry ?? []) for (const e of r.ErrorEquals) out.retry.add(e);
    for (const c of o.Catch ?? []) for (const e of c.ErrorEquals) out.caught.add(e);
    for (const v of Object.values(node)) matchers(v, out);
  }
  return out;
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.asl.json'));
const byFile = new Map(files.map((f) => [f, matchers(JSON.parse(readFileSync(join(DIR, f), 'utf8')))]));

describe('workflow error names', () => {
  it('covers every ASL file in statemachines/ with one table', () => {
    expect(files.sort()).toEqual(TABLES.flatMap((t) => t.files).sort());
  });

  it('has each table cover exactly its names', () => {
    expect(Object.keys(WORKFLOW_ERROR_HANDLING).sort()).toEqual(Object.values(WORKFLOW_ERRORS).sort());
    expect(Object.keys(FLEET_ERROR_HANDLING).sort()).toEqual([...FLEET_ERRORS].sort());
  });

  describe.each(TABLES.map((t) => [t.name, t] as const))('%s', (_name, table) => {
    const seen = { retry: new Set<string>(), caught: new Set<string>() };
    for (const f of table.files) {
      const m = byFile.get(f)!;
      for (const e of m.retry) seen.retry.add(e);
      for (const e of m.caught) seen.caught.add(e);
    }

    it('knows every name its ASL files match (AWS-defined ones aside)', () => {
      const unknown = [...seen.retry, ...seen.caught].filter(
        (e) => !AWS_DEFINED.has(e) && !(e in table.handling),
      );
      expect(unknown).toEqual([]);
    });

    it.each(Object.entries(table.handling))('%s is %s in the ASL', (name, handling) => {
      const actual: AslErrorHandling = seen.retry.has(name)
        ? 'retried'
        : seen.caught.has(name)
          ? 'caught'
          : 'raised-only';
      expect(actual).toBe(handling);
    });
  });
});
