export {
  fleetStateMachines,
  LOCAL_DRAIN_STATE_MACHINE,
  LOCAL_PROVISIONING_STATE_MACHINE,
} from './fleet-state-machines.ts';
export {
  describeInstanceTypesShapeOf,
  instanceTypeInfoOf,
  PRICE_DATE,
  PRICE_REGION,
  SANDBOX_INSTANCE_TYPES,
  type SandboxInstanceType,
  sandboxInstanceType,
} from './instance-types.ts';
export {
  createSandboxCompute,
  type LaunchFaultScope,
  type SandboxCompute,
  type SandboxComputeOptions,
  type SandboxImage,
  type SandboxInstance,
  type SandboxLaunchAttempt,
} from './sandbox-compute.ts';
