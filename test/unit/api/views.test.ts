import {
  definitionReply,
  ROLES,
  type Role,
  SessionDetailSchema,
  SessionReplySchema,
  seesLoginUrl,
  sessionDetailFor,
  sessionReply,
  sessionScopeOf,
  type Viewer,
} from '@lcm/shared/api';
import type { LabletSession } from '@lcm/shared/kernel';
import { inScope, type SessionView } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';
import { definition, NOW } from '../builders.ts';

/** The view rules on their own: what each role sees of a session and a definition. */

const session = (over: Partial<LabletSession> = {}): LabletSession => ({
  id: 's-1',
  definitionId: 'lab',
  definitionVersion: 1,
  reservationId: 'res-1',
  owner: { userId: 'u-1', email: 'learner@example.com' },
  bookedBy: 'portal-a',
  timeslot: { start: NOW, end: '2025-06-01T13:00:00.000Z' },
  status: 'RUNNING',
  requirements: { cpuCores: 1, memoryGb: 1, storageGb: 1, nodeCount: 1 },
  licenseAffinity: [],
  podType: 'CML_ON_AWS',
  portTemplate: [],
  pendingWait: { kind: 'END', taskToken: 'secret-token', since: NOW },
  createdAt: NOW,
  updatedAt: NOW,
  version: 3,
  ...over,
});

const detail = (over: Partial<LabletSession> = {}): SessionView => ({
  ...session(over),
  userSession: {
    ldsSessionId: 'lds-1',
    loginUrl: 'https://lds/login',
    status: 'ACTIVE',
    createdAt: NOW,
    updatedAt: NOW,
  },
  grading: null,
  score: null,
  observations: [],
  history: [],
});

const viewer = (role: Role, tenant: string): Viewer => ({ roles: [role], tenant });

describe('session views', () => {
  it('never carry the task token, for any role', () => {
    for (const role of ROLES) {
      const reply = sessionReply(session());
      expect(reply.pendingWait).toEqual({ kind: 'END', since: NOW });
      const d = sessionDetailFor(viewer(role, 'portal-a'), detail());
      expect(JSON.stringify(d)).not.toContain('secret-token');
      expect(SessionDetailSchema.strict().safeParse(d).success).toBe(true);
    }
    expect(sessionReply(session({ pendingWait: undefined }))).not.toHaveProperty('pendingWait');
    expect(SessionReplySchema.parse(sessionReply(session())).pendingWait).toEqual({
      kind: 'END',
      since: NOW,
    });
  });

  it('show the login URL to admins and to the portal client that booked the session only', () => {
    const url = (v: Viewer | undefined, over: Partial<LabletSession> = {}) =>
      sessionDetailFor(v, detail(over)).userSession?.loginUrl;
    expect(url(viewer('lcm.admin', 'anyone'))).toBe('https://lds/login');
    expect(url(viewer('lcm.portal', 'portal-a'))).toBe('https://lds/login');
    expect(url(viewer('lcm.portal', 'portal-b'))).toBeUndefined();
    expect(url(viewer('lcm.operator', 'portal-a'))).toBeUndefined();
    expect(url(viewer('lcm.viewer', 'portal-a'))).toBeUndefined();
    expect(url(undefined)).toBeUndefined();
    // A session without a booking client: nobody's own.
    expect(url(viewer('lcm.portal', 'portal-a'), { bookedBy: undefined })).toBeUndefined();
    expect(seesLoginUrl(viewer('lcm.admin', 'x'), { bookedBy: undefined })).toBe(true);
    // The rest of the user session stays.
    expect(sessionDetailFor(viewer('lcm.viewer', 'v'), detail()).userSession).toEqual({
      ldsSessionId: 'lds-1',
      status: 'ACTIVE',
      createdAt: NOW,
      updatedAt: NOW,
    });
  });

  it('scope: every session with sessions:read-all, else the caller client’s', () => {
    const a = session();
    const b = session({ bookedBy: 'portal-b' });
    const none = session({ bookedBy: undefined });
    const sees = (v: Viewer | undefined) => [a, b, none].map((s) => inScope(sessionScopeOf(v), s));
    expect(sees(viewer('lcm.admin', 'x'))).toEqual([true, true, true]);
    expect(sees(viewer('lcm.operator', 'x'))).toEqual([true, true, true]);
    expect(sees(viewer('lcm.viewer', 'x'))).toEqual([true, true, true]);
    expect(sees(viewer('lcm.portal', 'portal-a'))).toEqual([true, false, false]);
    expect(sees(viewer('lcm.portal', ''))).toEqual([false, false, false]);
    expect(sees(undefined)).toEqual([false, false, false]);
  });
});

describe('definition views', () => {
  it('drop device usernames and passwords and keep the rest', () => {
    const d = definition({
      devices: [
        { name: 'R1', nodeLabel: 'R1', protocol: 'ssh', username: 'cisco', password: 'pw' },
        { name: 'R2' },
      ],
    });
    const reply = definitionReply(d);
    expect(reply.devices).toEqual([{ name: 'R1', nodeLabel: 'R1', protocol: 'ssh' }, { name: 'R2' }]);
    const { devices: _d, ...rest } = reply;
    const { devices: _s, ...stored } = d;
    expect(rest).toEqual(stored);
    expect(d.devices[0]).toMatchObject({ username: 'cisco', password: 'pw' }); // not mutated
  });
});
