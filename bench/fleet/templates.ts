/**
 * CML-capable worker templates for the fleet benchmark. CML runs its nodes as KVM guests, so its
 * host needs hardware virtualisation: a bare-metal instance (`*.metal*`), or an instance family
 * that offers nested virtualisation (c8i, m8i, r8i and their -flex variants, launched with
 * `CpuOptions.NestedVirtualization=enabled`). vCPU and memory are the instance types' real shapes;
 * storage (the EBS volume the template asks for) and maxNodes (a CML node budget, about 0.65
 * nodes per GiB as in the default trace) are the benchmark's choices.
 *
 * Prices: Linux on-demand list prices in us-east-1 as of 2025-10-01, from memory (the benchmark
 * runs offline); check them against the AWS price list before relying on them.
 */
import type { WorkerTemplate } from '@lcm/shared/kernel';
import { simTemplate } from './trace.ts';

export const PRICE_REGION = 'us-east-1';
export const PRICES_AS_OF = '2025-10-01';

export type Virtualisation = 'metal' | 'nested';

export interface CmlShape {
  template: WorkerTemplate;
  virtualisation: Virtualisation;
  vcpus: number;
  memoryGib: number;
}

const shape = (
  name: string,
  instanceType: string,
  virtualisation: Virtualisation,
  vcpus: number,
  memoryGib: number,
  costPerHourUsd: number,
  storageGb: number,
): CmlShape => ({
  template: simTemplate(
    name,
    instanceType,
    { cpuCores: vcpus, memoryGb: memoryGib, storageGb, maxNodes: Math.round(memoryGib * 0.65) },
    costPerHourUsd,
  ),
  virtualisation,
  vcpus,
  memoryGib,
});

/**
 * Two bare-metal shapes (general purpose and memory optimised, for a cheap mix) and two sizes of
 * nested-virtualisation m8i (small hosts for quiet hours; m8i is priced per vCPU like its larger
 * sizes, so they trade capacity per dollar for granularity).
 */
export const CML_SHAPES: CmlShape[] = [
  shape('cml-m5-metal', 'm5.metal', 'metal', 96, 384, 4.608, 2000),
  shape('cml-r7i-metal', 'r7i.metal-24xl', 'metal', 96, 768, 6.3504, 4000),
  shape('cml-m8i-32', 'm8i.8xlarge', 'nested', 32, 128, 1.69344, 600),
  shape('cml-m8i-16', 'm8i.4xlarge', 'nested', 16, 64, 0.84672, 300),
];

/**
 * Smaller m8i sizes, priced per vCPU like the rest of the family: not in the benchmark's fleet;
 * the sensitivity runs of run.ts enable them to see whether finer hosts strand less.
 */
export const CML_SMALL_SHAPES: CmlShape[] = [
  shape('cml-m8i-8', 'm8i.2xlarge', 'nested', 8, 32, 0.42336, 150),
  shape('cml-m8i-4', 'm8i.xlarge', 'nested', 4, 16, 0.21168, 80),
];

/** Fresh copies of the CML-capable templates (a simulation mutates nothing, but tests may). */
export function cmlTemplates(): WorkerTemplate[] {
  return CML_SHAPES.map((s) => structuredClone(s.template));
}
