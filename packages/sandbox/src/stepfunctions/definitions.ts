import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StateMachineSpec } from '../../../../functions/catalogue.ts';
import { importHandler, type LambdaHandler } from '../lambda-runtime.ts';
import type { LocalLambdaTask, LocalStateMachineDefinition } from './engine.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * A state machine of the function catalogue (functions/catalogue.ts) as deployed, for the local
 * Step Functions endpoint: its ASL file of the repository and, per task of the catalogue, the
 * `${substitution}` it fills, run as `lcm-local-task-<name>` with the task's timeout by its
 * handler module. `handlers` replaces modules by substitution (tests).
 */
export async function catalogueStateMachine(
  spec: Pick<StateMachineSpec, 'asl' | 'tasks'>,
  opts: { name: string; handlers?: Record<string, LambdaHandler> | undefined },
): Promise<LocalStateMachineDefinition> {
  const definition = JSON.parse(await readFile(join(REPO_ROOT, spec.asl), 'utf8')) as Record<string, unknown>;
  const tasks: LocalLambdaTask[] = [];
  for (const t of spec.tasks) {
    tasks.push({
      substitution: t.substitution,
      name: `lcm-local-task-${t.name}`,
      handler: opts.handlers?.[t.substitution] ?? (await importHandler(t.entry)),
      timeoutSeconds: t.timeoutSeconds,
    });
  }
  return { name: opts.name, definition, tasks };
}
