import { FLEET_STATE_MACHINES } from '../../../../functions/catalogue.ts';
import type { LambdaHandler } from '../lambda-runtime.ts';
import { catalogueStateMachine } from '../stepfunctions/definitions.ts';
import type { LocalStateMachineDefinition } from '../stepfunctions/engine.ts';

/**
 * The worker-provisioning and worker-drain state machines as deployed, for the local Step
 * Functions endpoint (`startLocalStepFunctions({ stateMachines: [...] })`), each the
 * `catalogueStateMachine` of its entry in functions/catalogue.ts.
 * The handlers take their dependencies from the environment plus `setFleetDepsOverride` (the
 * local stack passes the sandbox compute provider there); `handlers` replaces modules by
 * substitution (tests).
 */

/** Names of the fleet state machines in the local stack. */
export const LOCAL_PROVISIONING_STATE_MACHINE = 'lcm-local-worker-provisioning';
export const LOCAL_DRAIN_STATE_MACHINE = 'lcm-local-worker-drain';

export async function fleetStateMachines(
  opts: { handlers?: Record<string, LambdaHandler>; names?: { provisioning?: string; drain?: string } } = {},
): Promise<LocalStateMachineDefinition[]> {
  const out: LocalStateMachineDefinition[] = [];
  for (const sm of FLEET_STATE_MACHINES) {
    const name =
      sm.key === 'worker-provisioning'
        ? (opts.names?.provisioning ?? LOCAL_PROVISIONING_STATE_MACHINE)
        : (opts.names?.drain ?? LOCAL_DRAIN_STATE_MACHINE);
    out.push(await catalogueStateMachine(sm, { name, handlers: opts.handlers }));
  }
  return out;
}
