import type { Capacity, Virtualisation } from '../../kernel/index.ts';

/**
 * Can CML run on an instance type as a template claims (issue 10, item 4), pure: CML needs
 * hardware virtualisation, which EC2 offers on bare-metal types (`BareMetal: true`) and, on the
 * families that support it (today c8i, m8i, r8i and their flex variants), as nested
 * virtualisation enabled at launch (`nested-virtualization` in `ProcessorInfo.SupportedFeatures`).
 *
 * Each problem names the template field it is about, for the 422 of a create or update.
 */

/** What EC2 says of the type (platform's InstanceTypeInfo satisfies it). */
export interface InstanceTypeFacts {
  readonly bareMetal: boolean;
  readonly nestedVirtualisation: boolean;
  readonly vCpus?: number | undefined;
  readonly memoryGib?: number | undefined;
}

export interface VirtualisationProblem {
  readonly path: 'instanceType' | 'virtualisation' | 'capacity.cpuCores' | 'capacity.memoryGb';
  readonly message: string;
}

export function virtualisationProblems(
  template: { instanceType: string; virtualisation: Virtualisation; capacity?: Capacity | undefined },
  info: InstanceTypeFacts | undefined,
): VirtualisationProblem[] {
  const type = template.instanceType;
  if (!info) return [{ path: 'instanceType', message: `EC2 knows no instance type ${type}` }];
  if (!info.bareMetal && !info.nestedVirtualisation) {
    return [
      {
        path: 'instanceType',
        message: `${type} can run CML neither on bare metal nor with nested virtualisation: choose a *.metal type or one of the c8i, m8i, r8i (or -flex) types`,
      },
    ];
  }
  const out: VirtualisationProblem[] = [];
  if (template.virtualisation === 'metal' && !info.bareMetal) {
    out.push({
      path: 'virtualisation',
      message: `${type} is not bare metal; it offers nested virtualisation: set virtualisation to 'nested'`,
    });
  }
  if (template.virtualisation === 'nested' && !info.nestedVirtualisation) {
    out.push({
      path: 'virtualisation',
      message: `${type} does not offer nested virtualisation; it is bare metal: set virtualisation to 'metal'`,
    });
  }
  // A template may declare less than the host has (headroom for CML itself), never more.
  const cap = template.capacity;
  if (cap && info.vCpus !== undefined && cap.cpuCores > info.vCpus) {
    out.push({
      path: 'capacity.cpuCores',
      message: `${cap.cpuCores} > ${info.vCpus} vCPUs of ${type}`,
    });
  }
  if (cap && info.memoryGib !== undefined && cap.memoryGb > info.memoryGib) {
    out.push({
      path: 'capacity.memoryGb',
      message: `${cap.memoryGb} > ${info.memoryGib} GiB of ${type}`,
    });
  }
  return out;
}
