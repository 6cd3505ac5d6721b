import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FLEET_STATE_MACHINES } from '../../../../functions/catalogue.ts';
import type { LambdaHandler } from '../lambda-runtime.ts';
import type { LocalLambdaTask, LocalStateMachineDefinition } from '../stepfunctions/engine.ts';

/**
 * The worker-provisioning and worker-drain state machines as deployed, for the local Step
 * Functions endpoint (`startLocalStepFunctions({ stateMachines: [...] })`): the repository's ASL
 * files and one task per fleet task of functions/catalogue.ts running its handler module.
 * The handlers take their dependencies from the environment plus `setFleetDepsOverride` (the
 * local stack passes the sandbox compute provider there); `handlers` replaces modules by
 * substitution (tests).
 */

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Names of the fleet state machines in the local stack. */
export const LOCAL_PROVISIONING_STATE_MACHINE = 'lcm-local-worker-provisioning';
export const LOCAL_DRAIN_STATE_MACHINE = 'lcm-local-worker-drain';

export async function fleetStateMachines(
  opts: { handlers?: Record<string, LambdaHandler>; names?: { provisioning?: string; drain?: string } } = {},
): Promise<LocalStateMachineDefinition[]> {
  const out: LocalStateMachineDefinition[] = [];
  for (const sm of FLEET_STATE_MACHINES) {
    const definition = JSON.parse(await readFile(join(REPO_ROOT, sm.asl), 'utf8')) as Record<string, unknown>;
    const tasks: LocalLambdaTask[] = [];
    for (const t of sm.tasks) {
      let handler = opts.handlers?.[t.substitution];
      if (!handler) {
        const mod = (await import(pathToFileURL(join(REPO_ROOT, t.entry)).href)) as { handler?: unknown };
        if (typeof mod.handler !== 'function') throw new Error(`${t.entry} exports no handler function`);
        handler = mod.handler as LambdaHandler;
      }
      tasks.push({
        substitution: t.substitution,
        name: `lcm-local-task-${t.name}`,
        handler,
        timeoutSeconds: t.timeoutSeconds,
      });
    }
    const name =
      sm.key === 'worker-provisioning'
        ? (opts.names?.provisioning ?? LOCAL_PROVISIONING_STATE_MACHINE)
        : (opts.names?.drain ?? LOCAL_DRAIN_STATE_MACHINE);
    out.push({ name, definition, tasks });
  }
  return out;
}
