import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLEET_ERRORS } from '@lcm/shared/fleet';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { FLEET_STATE_MACHINES } from '../../../functions/catalogue.ts';

/**
 * The fleet ASL files against the task list CDK and the local endpoint read: every `${…}` has its
 * task and every task is used, the definitions are valid JSONPath ASL, every task retries Lambda
 * service errors and Fleet.Transient, every working task is caught into its failure handler,
 * and every error name the ASL matches is one the tasks can throw.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

type State = {
  Type: string;
  Parameters?: { FunctionName?: string };
  Retry?: Array<{ ErrorEquals: string[] }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
};

describe.each(FLEET_STATE_MACHINES.map((m) => [m.key, m] as const))('%s', (_key, sm) => {
  const text = readFileSync(join(ROOT, sm.asl), 'utf8');
  const asl = JSON.parse(text) as { QueryLanguage?: string; States: Record<string, State> };

  it('its substitutions are exactly its tasks', () => {
    const used = new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(sm.tasks.map((t) => t.substitution).sort());
  });

  it('is valid JSONPath ASL (as aws-local-stepfunctions validates it)', () => {
    expect(asl.QueryLanguage).toBe('JSONPath');
    const concrete = text.replace(
      /\$\{([A-Za-z0-9_]+)\}/g,
      'arn:aws:lambda:us-east-1:000000000000:function:$1',
    );
    expect(() => new StateMachine(JSON.parse(concrete))).not.toThrow();
  });

  it('every task retries Lambda errors and Fleet.Transient; working tasks are caught', () => {
    const tasks = Object.entries(asl.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(0);
    for (const [name, s] of tasks) {
      const retried = (s.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(retried, name).toContain('Lambda.ServiceException');
      expect(retried, name).toContain('Fleet.Transient');
      if (name.startsWith('Fail')) {
        expect(s.Catch, name).toBeUndefined();
      } else {
        expect(s.Catch?.[0]?.ErrorEquals, name).toEqual(['States.ALL']);
        expect(s.Catch?.[0]?.Next, name).toMatch(/^Fail/);
      }
    }
  });

  it('matches only error names the tasks throw', () => {
    const known = new Set<string>([...FLEET_ERRORS, 'States.ALL']);
    for (const [name, s] of Object.entries(asl.States)) {
      for (const r of [...(s.Retry ?? []), ...(s.Catch ?? [])]) {
        for (const e of r.ErrorEquals) {
          if (e.startsWith('Lambda.')) continue;
          expect(known.has(e), `${name}: ${e}`).toBe(true);
        }
      }
    }
  });
});
