import {
  broadcastLiveEvent,
  handleLiveMessage,
  type LiveConnection,
  type LiveDeps,
  type LiveReply,
  type LiveStore,
  liveEventFor,
  liveViewerOf,
  subscriptionVerdict,
  topicsOfEvent,
} from '@lcm/shared/api';
import { describe, expect, it } from 'vitest';

/** An in-memory LiveStore: the port's contract, without DynamoDB (the DynamoDB one: integration test). */
class MemoryLiveStore implements LiveStore {
  readonly connections = new Map<string, LiveConnection>();
  readonly topics = new Map<string, Set<string>>();
  async putConnection(c: LiveConnection) {
    this.connections.set(c.connectionId, c);
  }
  async getConnection(id: string) {
    return this.connections.get(id);
  }
  async subscribe(c: LiveConnection, topic: string) {
    const set = this.topics.get(topic) ?? new Set<string>();
    set.add(c.connectionId);
    this.topics.set(topic, set);
  }
  async unsubscribe(id: string, topic: string) {
    this.topics.get(topic)?.delete(id);
  }
  async subscribers(topic: string) {
    return [...(this.topics.get(topic) ?? [])].flatMap((id) => {
      const c = this.connections.get(id);
      return c ? [c] : [];
    });
  }
  async removeConnection(id: string) {
    this.connections.delete(id);
    for (const set of this.topics.values()) set.delete(id);
  }
}

/** Records what was posted; connections in `gone` answer 410. */
class RecordingPoster {
  readonly posted: { connectionId: string; message: LiveReply }[] = [];
  readonly gone = new Set<string>();
  async post(connectionId: string, message: LiveReply): Promise<'sent' | 'gone'> {
    if (this.gone.has(connectionId)) return 'gone';
    this.posted.push({ connectionId, message });
    return 'sent';
  }
  to(connectionId: string) {
    return this.posted.filter((p) => p.connectionId === connectionId).map((p) => p.message);
  }
}

const SESSIONS: Record<string, { bookedBy: string }> = {
  's-own': { bookedBy: 'portal-a' },
  's-other': { bookedBy: 'portal-b' },
};

function setup() {
  const live = new MemoryLiveStore();
  const poster = new RecordingPoster();
  const deps: LiveDeps = { live, poster, sessionOf: async (id) => SESSIONS[id] };
  return { live, poster, deps };
}

const conn = (connectionId: string, role: string, clientId: string): LiveConnection => ({
  connectionId,
  ...liveViewerOf({ sub: `${connectionId}-user`, 'cognito:groups': [role], client_id: clientId })!,
  connectedAt: '2030-01-01T00:00:00.000Z',
});

const sessionEvent = (id: string, data: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: `sessions/${id}/v2/status-changed`,
  source: 'lcm.control-plane',
  type: 'io.lablet.lcm.session.status-changed.v1',
  subject: `sessions/${id}`,
  data: { sessionId: id, from: 'SCHEDULED', to: 'READY', ...data },
});

const workerEvent = {
  specversion: '1.0',
  id: 'workers/w-1/v3/status-changed',
  source: 'lcm.control-plane',
  type: 'io.lablet.lcm.worker.status-changed.v1',
  subject: 'workers/w-1',
  data: { workerId: 'w-1', from: 'STARTING', to: 'RUNNING' },
};

describe('live updates: topics and verdicts (pure)', () => {
  const portal = conn('p', 'lcm.portal', 'portal-a');
  const operator = conn('o', 'lcm.operator', 'console');

  it('maps session events to sessions and session:<id>, fleet events to fleet', () => {
    expect(topicsOfEvent(sessionEvent('s-own'))).toEqual(['sessions', 'session:s-own']);
    expect(topicsOfEvent(workerEvent)).toEqual(['fleet']);
    expect(topicsOfEvent({ type: 'x', subject: 'definitions/d-1' })).toEqual(['fleet']);
    expect(topicsOfEvent({ type: 'x', subject: 'other/1' })).toEqual([]);
  });

  it('refuses unknown topics with 400 and what a role may not see with 403', () => {
    expect(subscriptionVerdict(portal, 'everything')).toMatchObject({ ok: false, status: 400 });
    expect(subscriptionVerdict(portal, 'fleet')).toMatchObject({ ok: false, status: 403 });
    expect(subscriptionVerdict(portal, 'sessions')).toEqual({ ok: true });
    expect(subscriptionVerdict(portal, 'session:s-own', SESSIONS['s-own'])).toEqual({ ok: true });
    expect(subscriptionVerdict(portal, 'session:s-other', SESSIONS['s-other'])).toMatchObject({
      status: 403,
    });
    // A session that does not exist answers exactly like another tenant's.
    expect(subscriptionVerdict(portal, 'session:s-none', undefined)).toMatchObject({ status: 403 });
    expect(subscriptionVerdict(operator, 'session:s-other', SESSIONS['s-other'])).toEqual({ ok: true });
    expect(subscriptionVerdict(operator, 'fleet')).toEqual({ ok: true });
  });

  it('never shows task tokens or credentials; login URLs only to the booking portal and admins', () => {
    const event = sessionEvent('s-own', {
      pendingWait: { kind: 'LOGIN', taskToken: 'secret-token' },
      userSession: { loginUrl: 'https://lds/login/abc' },
      devices: [{ name: 'r1', username: 'cisco', password: 'cisco' }],
    });
    const admin = conn('a', 'lcm.admin', 'console');
    const forPortal = liveEventFor(portal, 'session:s-own', event, SESSIONS['s-own']);
    const forOperator = liveEventFor(operator, 'sessions', event, SESSIONS['s-own']);
    const forAdmin = liveEventFor(admin, 'sessions', event, SESSIONS['s-own']);
    for (const view of [forPortal, forOperator, forAdmin]) {
      expect(JSON.stringify(view)).not.toContain('secret-token');
      expect(JSON.stringify(view)).not.toContain('password');
      expect(JSON.stringify(view)).not.toContain('"username"');
    }
    expect(JSON.stringify(forPortal)).toContain('https://lds/login/abc');
    expect(JSON.stringify(forAdmin)).toContain('https://lds/login/abc');
    expect(JSON.stringify(forOperator)).not.toContain('loginUrl');
    expect(liveEventFor(portal, 'sessions', sessionEvent('s-other'), SESSIONS['s-other'])).toBeUndefined();
  });
});

describe('live updates: subscribe and broadcast', () => {
  it('subscribes, replies, and refuses another tenant with 403', async () => {
    const { live, poster, deps } = setup();
    await live.putConnection(conn('p', 'lcm.portal', 'portal-a'));
    expect(
      await handleLiveMessage(deps, 'p', JSON.stringify({ action: 'subscribe', topic: 'session:s-own' })),
    ).toEqual({
      type: 'subscribed',
      topic: 'session:s-own',
    });
    expect(
      await handleLiveMessage(deps, 'p', '{"action":"subscribe","topic":"session:s-other"}'),
    ).toMatchObject({
      type: 'error',
      topic: 'session:s-other',
      status: 403,
    });
    expect(await handleLiveMessage(deps, 'p', '{"action":"dance","topic":"fleet"}')).toMatchObject({
      type: 'error',
      status: 400,
      detail: expect.stringContaining('action'),
    });
    expect(await handleLiveMessage(deps, 'p', 'not json')).toMatchObject({ type: 'error', status: 400 });
    expect(poster.to('p').map((m) => m.type)).toEqual(['subscribed', 'error', 'error', 'error']);
    expect(await live.subscribers('session:s-other')).toEqual([]);
  });

  it("delivers each subscriber its own view: a portal gets only its tenant's sessions", async () => {
    const { live, poster, deps } = setup();
    const a = conn('pa', 'lcm.portal', 'portal-a');
    const b = conn('pb', 'lcm.portal', 'portal-b');
    const op = conn('op', 'lcm.operator', 'console');
    for (const c of [a, b, op]) {
      await live.putConnection(c);
      await live.subscribe(c, 'sessions');
    }
    await live.subscribe(op, 'fleet');
    const result = await broadcastLiveEvent(deps, sessionEvent('s-own'));
    expect(result).toEqual({ sent: 2, gone: 0, withheld: 1 });
    expect(poster.to('pa')).toEqual([{ type: 'event', topic: 'sessions', event: sessionEvent('s-own') }]);
    expect(poster.to('pb')).toEqual([]);
    expect(poster.to('op')).toHaveLength(1);

    expect(await broadcastLiveEvent(deps, workerEvent)).toEqual({ sent: 1, gone: 0, withheld: 0 });
    expect(poster.to('op').at(-1)).toEqual({ type: 'event', topic: 'fleet', event: workerEvent });
  });

  it('removes a gone connection (410) with all its subscriptions', async () => {
    const { live, poster, deps } = setup();
    const op = conn('op', 'lcm.operator', 'console');
    const left = conn('left', 'lcm.operator', 'console');
    for (const c of [op, left]) {
      await live.putConnection(c);
      await live.subscribe(c, 'sessions');
      await live.subscribe(c, 'session:s-own');
      await live.subscribe(c, 'fleet');
    }
    poster.gone.add('left');
    const result = await broadcastLiveEvent(deps, sessionEvent('s-own'));
    expect(result).toEqual({ sent: 2, gone: 1, withheld: 0 });
    expect(await live.getConnection('left')).toBeUndefined();
    for (const topic of ['sessions', 'session:s-own', 'fleet']) {
      expect((await live.subscribers(topic)).map((s) => s.connectionId)).toEqual(['op']);
    }
    expect(poster.to('op').map((m) => (m.type === 'event' ? m.topic : m.type))).toEqual([
      'sessions',
      'session:s-own',
    ]);
  });
});
