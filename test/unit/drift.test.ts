import { detectPortDrift } from '@lcm/shared/catalogue';
import { PortDriftSchema, ValidationError } from '@lcm/shared/kernel';
import { describe, expect, it } from 'vitest';

describe('detectPortDrift', () => {
  it('reports no drift when observed equals allocated', () => {
    const ports = { R1_serial: 2000, R1_ssh: 2001 };
    expect(detectPortDrift(ports, { ...ports })).toEqual({
      added: [],
      removed: [],
      changed: [],
      hasDrift: false,
      conflicts: [],
    });
  });

  it('reports added, removed and changed ports, sorted by name', () => {
    const drift = detectPortDrift(
      { z_serial: 2000, a_serial: 2001, m_ssh: 2002, b_vnc: 2003 },
      { z_serial: 2000, m_ssh: 2010, y_http: 2011, c_https: 2012 },
    );
    expect(drift).toEqual({
      added: [
        { name: 'c_https', port: 2012 },
        { name: 'y_http', port: 2011 },
      ],
      removed: [
        { name: 'a_serial', port: 2001 },
        { name: 'b_vnc', port: 2003 },
      ],
      changed: [{ name: 'm_ssh', allocated: 2002, observed: 2010 }],
      hasDrift: true,
      conflicts: [],
    });
    expect(PortDriftSchema.parse(drift)).toEqual(drift);
  });

  it('reports observed ports leased by other sessions as conflicts', () => {
    const drift = detectPortDrift(
      { R1_serial: 2000, R1_ssh: 2001 },
      { R1_serial: 2000, R1_ssh: 2005, R2_vnc: 2006 },
      [
        { port: 2006, sessionId: 's-9' },
        { port: 2005, sessionId: 's-7' },
        { port: 2100, sessionId: 's-8' },
      ],
    );
    expect(drift.conflicts).toEqual([
      { name: 'R1_ssh', port: 2005, otherSessionId: 's-7' },
      { name: 'R2_vnc', port: 2006, otherSessionId: 's-9' },
    ]);
    expect(drift.changed).toEqual([{ name: 'R1_ssh', allocated: 2001, observed: 2005 }]);
    expect(drift.added).toEqual([{ name: 'R2_vnc', port: 2006 }]);
  });

  it('counts a conflict alone as drift (the lease table disagrees with the lab)', () => {
    const drift = detectPortDrift({ a: 2000 }, { a: 2000 }, [{ port: 2000, sessionId: 's-2' }]);
    expect(drift.hasDrift).toBe(true);
    expect(drift.conflicts).toEqual([{ name: 'a', port: 2000, otherSessionId: 's-2' }]);
  });

  it('handles empty maps on either side', () => {
    expect(detectPortDrift({}, {}).hasDrift).toBe(false);
    expect(detectPortDrift({}, { a: 2000 }).added).toEqual([{ name: 'a', port: 2000 }]);
    expect(detectPortDrift({ a: 2000 }, {}).removed).toEqual([{ name: 'a', port: 2000 }]);
  });

  it('rejects a port that is not a port, naming it', () => {
    expect(() => detectPortDrift({ a: 2000 }, { a: 0 })).toThrow(ValidationError);
    expect(() => detectPortDrift({ a: 2000.5 }, {})).toThrow(
      expect.objectContaining({ field: 'allocated.a' }),
    );
    expect(() => detectPortDrift({}, { b: 70_000 })).toThrow(
      expect.objectContaining({ field: 'observed.b' }),
    );
  });
});
