export {
  fleetStateMachines,
  LOCAL_DRAIN_STATE_MACHINE,
  LOCAL_PROVISIONING_STATE_MACHINE,
} from './fleet-state-machines.ts';
export {
  createSandboxCompute,
  type SandboxCompute,
  type SandboxComputeOptions,
  type SandboxImage,
  type SandboxInstance,
} from './sandbox-compute.ts';
