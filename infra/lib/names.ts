import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/**
 * Physical names of the resources LCM's stacks share. They are deterministic (stage + concern),
 * so a stack can name a resource of a stack it must not depend on (that would be a cycle) by
 * building its ARN from the name, in its own account and region, without a cross-stack reference.
 */

/** The LCM event bus: `lcm-<stage>` (EVENT_BUS_NAME). */
export const eventBusNameFor = (stage: string): string => `lcm-${stage}`;

/** The state machines of LCM, by key (the ASL file is statemachines/<key>.asl.json). */
export const STATE_MACHINE_KEYS = {
  session: 'session-lifecycle',
  provisioning: 'worker-provisioning',
  drain: 'worker-drain',
} as const;
export type StateMachineKey = (typeof STATE_MACHINE_KEYS)[keyof typeof STATE_MACHINE_KEYS];

/** `lcm-<stage>-<key>`, e.g. `lcm-prod-session-lifecycle`. */
export const stateMachineNameFor = (stage: string, key: StateMachineKey): string => `lcm-${stage}-${key}`;

/** ARN of a state machine of `scope`'s account and region, from its name. */
export const stateMachineArnOf = (scope: Construct, name: string): string =>
  Stack.of(scope).formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });

/** ARN pattern of every execution of a state machine (DescribeExecution, StopExecution). */
export const executionArnPatternOf = (scope: Construct, stateMachineName: string): string =>
  Stack.of(scope).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });

/** Secrets Manager names: `lcm/<stage>/<name>`. */
export const secretNameFor = (stage: string, name: string): string => `lcm/${stage}/${name}`;

/** Construct id from a kebab-case name: `place-session` → `PlaceSession`. */
export const pascal = (s: string): string =>
  s
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
