import {
  checkAdmission,
  type DefinitionPlacementNeeds,
  holdWarnings,
  type PlacementRequest,
} from '@lcm/shared/fleet';
import { describe, expect, it } from 'vitest';
import { template } from './builders.ts';

/** Booking admission (issue 10, item 2): could any enabled template, empty, hold the session? */

const request = (over: Partial<PlacementRequest> = {}): PlacementRequest => ({
  requirements: { cpuCores: 4, memoryGb: 16, storageGb: 50, nodeCount: 5 },
  licenseAffinity: [],
  podType: 'CML_ON_AWS',
  portsNeeded: 5,
  ...over,
});

const big = template({
  name: 'metal-96',
  capacity: { cpuCores: 96, memoryGb: 384, storageGb: 2000, maxNodes: 300 },
});
const small = template({
  name: 'nested-16',
  capacity: { cpuCores: 16, memoryGb: 64, storageGb: 500, maxNodes: 50 },
});

describe('checkAdmission', () => {
  it('admits a session some enabled template holds, naming every template that does', () => {
    expect(checkAdmission(request(), [big, small])).toEqual({
      admitted: true,
      templates: ['metal-96', 'nested-16'],
    });
    expect(
      checkAdmission(request({ requirements: { cpuCores: 40, memoryGb: 16, storageGb: 50, nodeCount: 5 } }), [
        big,
        small,
      ]),
    ).toEqual({ admitted: true, templates: ['metal-96'] });
  });

  it('names each dimension no enabled template declares enough of, with the largest figure', () => {
    const r = checkAdmission(
      request({ requirements: { cpuCores: 301, memoryGb: 16, storageGb: 50, nodeCount: 302 } }),
      [big, small],
    );
    expect(r).toEqual({
      admitted: false,
      shortfalls: [
        { dimension: 'cpuCores', required: 301, largest: 96, message: 'cpuCores 301 > 96 on every template' },
        {
          dimension: 'maxNodes',
          required: 302,
          largest: 300,
          message: 'nodeCount 302 > 300 on every template',
        },
      ],
    });
  });

  it('ignores disabled templates, and says so when none is enabled', () => {
    const r = checkAdmission(
      request({ requirements: { cpuCores: 40, memoryGb: 16, storageGb: 50, nodeCount: 5 } }),
      [{ ...big, enabled: false }, small],
    );
    expect(r.admitted).toBe(false);
    if (!r.admitted)
      expect(r.shortfalls.map((s) => s.message)).toEqual(['cpuCores 40 > 16 on every template']);
    expect(checkAdmission(request(), [{ ...small, enabled: false }])).toEqual({
      admitted: false,
      shortfalls: [{ dimension: 'templates', message: 'no worker template is enabled' }],
    });
  });

  it('says when every dimension fits some template but no single template holds them all', () => {
    const cpuHeavy = template({
      name: 'cpu',
      capacity: { cpuCores: 64, memoryGb: 32, storageGb: 500, maxNodes: 50 },
    });
    const memHeavy = template({
      name: 'mem',
      capacity: { cpuCores: 8, memoryGb: 256, storageGb: 500, maxNodes: 50 },
    });
    const r = checkAdmission(
      request({ requirements: { cpuCores: 32, memoryGb: 128, storageGb: 50, nodeCount: 5 } }),
      [cpuHeavy, memHeavy],
    );
    expect(r).toEqual({
      admitted: false,
      shortfalls: [
        {
          dimension: 'templates',
          message: 'no single template is large enough in every dimension at once (cpu, mem each lack one)',
        },
      ],
    });
  });

  it('names the filter the big-enough templates fail: licence, pod type, console ports', () => {
    const lic = checkAdmission(request({ licenseAffinity: ['PERSONAL'] }), [big]);
    expect(lic).toMatchObject({ admitted: false, shortfalls: [{ dimension: 'license' }] });
    const pod = checkAdmission(request({ podType: 'PROXMOX' }), [big]);
    expect(pod).toEqual({
      admitted: false,
      shortfalls: [
        {
          dimension: 'podType',
          message: 'no enabled template offers the pod type the definition needs (metal-96)',
        },
      ],
    });
    const ports = checkAdmission(request({ portsNeeded: 11 }), [
      template({ portRange: { start: 2000, end: 2009 } }),
    ]);
    expect(ports).toEqual({
      admitted: false,
      shortfalls: [
        {
          dimension: 'ports',
          message: 'no enabled template offers enough console ports in its port range (m5-metal)',
        },
      ],
    });
  });
});

describe('holdWarnings (issue 11, item 4)', () => {
  const definition = (cpuCores: number, nodeCount: number): DefinitionPlacementNeeds => ({
    resourceRequirements: { cpuCores, memoryGb: 16, storageGb: 50, nodeCount },
    licenseAffinity: [],
    podType: 'CML_ON_AWS' as const,
    portTemplate: [],
  });

  it('none while an enabled template holds the definition', () => {
    expect(holdWarnings(definition(40, 5), [big, small])).toEqual([]);
  });

  it('one NO_TEMPLATE_CAN_HOLD per shortfall, on the field an author would change, as a booking would be refused', () => {
    expect(holdWarnings(definition(301, 302), [big, small])).toEqual([
      {
        code: 'NO_TEMPLATE_CAN_HOLD',
        field: 'resourceRequirements.cpuCores',
        message:
          'No enabled worker template can hold a session of this definition: cpuCores 301 > 96 on every template; a booking is refused (422).',
      },
      {
        code: 'NO_TEMPLATE_CAN_HOLD',
        field: 'resourceRequirements.nodeCount',
        message:
          'No enabled worker template can hold a session of this definition: nodeCount 302 > 300 on every template; a booking is refused (422).',
      },
    ]);
  });

  it('follows the templates: a disabled template no longer counts', () => {
    expect(holdWarnings(definition(40, 5), [{ ...big, enabled: false }, small])).toMatchObject([
      { code: 'NO_TEMPLATE_CAN_HOLD', field: 'resourceRequirements.cpuCores' },
    ]);
  });
});
