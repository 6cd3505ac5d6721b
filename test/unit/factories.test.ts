import {
  ConflictError,
  LabletDefinitionSchema,
  LabletSessionSchema,
  newSession,
  newWorkerFromTemplate,
  nextDefinitionVersion,
  ValidationError,
  WorkerSchema,
} from '@lcm/shared/kernel';
import { describe, expect, it } from 'vitest';
import { definition, NOW, template } from './builders.ts';

const LATER = '2025-06-02T08:00:00.000Z';
const sessionInput = {
  id: 'sess-1',
  reservationId: 'res-42',
  owner: { userId: 'u-1', username: 'ada', email: 'ada@example.com' },
  timeslot: { start: '2025-06-03T09:00:00Z', end: '2025-06-03T11:00:00Z' },
};

const catchError = (fn: () => unknown): ValidationError => {
  try {
    fn();
  } catch (e) {
    return e as ValidationError;
  }
  throw new Error('expected an error');
};

describe('newWorkerFromTemplate', () => {
  it('builds a PENDING worker with the template capacity and nothing allocated', () => {
    const t = template();
    const w = newWorkerFromTemplate(t, 'w-01', NOW);
    expect(w).toEqual({
      id: 'w-01',
      templateName: 'm5-metal',
      status: 'PENDING',
      serviceStatus: 'UNAVAILABLE',
      license: { type: 'ENTERPRISE', status: 'UNREGISTERED' },
      podType: 'CML_ON_AWS',
      amiId: 'ami-0123456789abcdef0',
      declaredCapacity: { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
      allocatedCapacity: { cpuCores: 0, memoryGb: 0, storageGb: 0, maxNodes: 0 },
      portRange: { start: 2000, end: 7999 },
      leasedPortCount: 0,
      createdAt: NOW,
      updatedAt: NOW,
      version: 0,
      stateHistory: [],
    });
    expect(WorkerSchema.parse(w)).toEqual(w);
    // A copy: later edits of the template do not reach the worker.
    t.capacity.cpuCores = 1;
    t.portRange.end = 2001;
    expect(w.declaredCapacity.cpuCores).toBe(48);
    expect(w.portRange.end).toBe(7999);
  });

  it('omits the AMI id when the template selects the AMI by name pattern', () => {
    const w = newWorkerFromTemplate(template({ amiId: undefined, amiNamePattern: 'cml-2.9.*' }), 'w-02', NOW);
    expect(w).not.toHaveProperty('amiId');
  });

  it('refuses a disabled template', () => {
    expect(() => newWorkerFromTemplate(template({ enabled: false }), 'w-03', NOW)).toThrow(ConflictError);
  });

  it('validates the result, naming the field', () => {
    expect(catchError(() => newWorkerFromTemplate(template(), 'bad id!', NOW)).field).toBe('id');
    expect(catchError(() => newWorkerFromTemplate(template(), 'w-04', 'not a date')).field).toBe('createdAt');
  });
});

describe('newSession', () => {
  it('builds a PENDING session pinned to the definition version, copying placement inputs', () => {
    const def = definition();
    const s = newSession(def, sessionInput, NOW);
    expect(s).toEqual({
      id: 'sess-1',
      definitionId: 'ccna-ospf',
      definitionVersion: 3,
      reservationId: 'res-42',
      owner: sessionInput.owner,
      timeslot: sessionInput.timeslot,
      status: 'PENDING',
      requirements: def.resourceRequirements,
      licenseAffinity: ['ENTERPRISE'],
      podType: 'CML_ON_AWS',
      amiRequirement: 'cml-2.9.*',
      portTemplate: def.portTemplate,
      createdAt: NOW,
      updatedAt: NOW,
      version: 0,
    });
    expect(LabletSessionSchema.parse(s)).toEqual(s);
    def.resourceRequirements.cpuCores = 99;
    def.portTemplate[0]!.name = 'changed';
    def.licenseAffinity.push('PERSONAL');
    expect(s.requirements.cpuCores).toBe(4);
    expect(s.portTemplate[0]!.name).toBe('R1_serial');
    expect(s.licenseAffinity).toEqual(['ENTERPRISE']);
  });

  it('leaves amiRequirement out when the definition has none', () => {
    expect(newSession(definition({ amiRequirement: undefined }), sessionInput, NOW)).not.toHaveProperty(
      'amiRequirement',
    );
  });

  it('accepts a deprecated definition but refuses an archived one', () => {
    expect(newSession(definition({ status: 'DEPRECATED' }), sessionInput, NOW).status).toBe('PENDING');
    expect(() => newSession(definition({ status: 'ARCHIVED' }), sessionInput, NOW)).toThrow(ConflictError);
  });

  it('validates the input, naming the field', () => {
    const backwards = {
      ...sessionInput,
      timeslot: { start: sessionInput.timeslot.end, end: sessionInput.timeslot.start },
    };
    expect(catchError(() => newSession(definition(), backwards, NOW)).field).toBe('timeslot.end');
    expect(
      catchError(() => newSession(definition(), { ...sessionInput, reservationId: '' }, NOW)).field,
    ).toBe('reservationId');
    const badEmail = { ...sessionInput, owner: { userId: 'u-1', email: 'nope' } };
    expect(catchError(() => newSession(definition(), badEmail, NOW)).field).toBe('owner.email');
  });
});

describe('nextDefinitionVersion', () => {
  it('makes version + 1 with the changes, authored now, leaving the previous version untouched', () => {
    const prev = definition();
    const snapshot = structuredClone(prev);
    const next = nextDefinitionVersion(
      prev,
      { resourceRequirements: { cpuCores: 6, memoryGb: 12, storageGb: 20, nodeCount: 4 }, warmPoolDepth: 2 },
      'admin@example.com',
      LATER,
    );
    expect(next).toEqual({
      ...snapshot,
      version: 4,
      resourceRequirements: { cpuCores: 6, memoryGb: 12, storageGb: 20, nodeCount: 4 },
      warmPoolDepth: 2,
      createdAt: LATER,
      createdBy: 'admin@example.com',
    });
    expect(prev).toEqual(snapshot);
    expect(LabletDefinitionSchema.parse(next)).toEqual(next);
    next.portTemplate[0]!.name = 'mutated';
    expect(prev.portTemplate[0]!.name).toBe('R1_serial');
  });

  it('clears an optional field set to undefined', () => {
    const next = nextDefinitionVersion(definition(), { amiRequirement: undefined }, 'a', LATER);
    expect(next).not.toHaveProperty('amiRequirement');
  });

  it('never lets changes rewrite identity or authorship', () => {
    const sneaky = { id: 'other', version: 42, createdBy: 'mallory' } as unknown as Parameters<
      typeof nextDefinitionVersion
    >[1];
    const next = nextDefinitionVersion(definition(), sneaky, 'alice', LATER);
    expect(next).toMatchObject({ id: 'ccna-ospf', version: 4, createdBy: 'alice', createdAt: LATER });
  });

  it('validates the new version, naming the field', () => {
    const err = catchError(() => nextDefinitionVersion(definition(), { maxDurationMinutes: 0 }, 'a', LATER));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.field).toBe('maxDurationMinutes');
    expect(
      catchError(() =>
        nextDefinitionVersion(
          definition(),
          { resourceRequirements: { cpuCores: -1, memoryGb: 1, storageGb: 1, nodeCount: 1 } },
          'a',
          LATER,
        ),
      ).field,
    ).toBe('resourceRequirements.cpuCores');
  });
});
