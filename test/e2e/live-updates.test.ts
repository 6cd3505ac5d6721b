import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { loadLocalIdentityProvider, SIGNING_KEY_FILE } from '@lcm/sandbox/local-auth';
import { type LocalStack, startLocalStack } from '@lcm/sandbox/local-stack';
import { DEMO_PRACTICE_DEFINITION_ID } from '@lcm/sandbox/seed';
import { createDocumentClient } from '@lcm/shared/platform';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

/**
 * Live updates over WebSocket against the local stack (issue 14, item 3): `/ws` runs the same
 * handlers as the WebSocket API (functions/websocket/), fed by the local bus's live-updates rule.
 * A token is checked on connect; subscriptions obey the role table and tenancy; a session booked
 * and terminated through the API reaches the subscribed sockets as its CloudEvents.
 */

let stack: LocalStack;
let stateDir: string;
let wsUrl: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'lcm-live-'));
  stack = await startLocalStack({ port: 0, inMemory: true, stateDir, workers: 1, log: () => {} });
  wsUrl = (stack.outputs.live as { wsUrl: string }).wsUrl;
});

/** Every client a test opened: closed after it, whatever it asserted. */
const opened: Client[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

afterAll(async () => {
  await stack?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

interface Message {
  type: string;
  topic?: string | null;
  status?: number;
  detail?: string;
  event?: { type: string; subject?: string; data?: Record<string, unknown> };
}

/** A connected client that keeps every message it receives, with its arrival time. */
class Client {
  readonly messages: { at: number; message: Message }[] = [];
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) =>
      this.messages.push({ at: performance.now(), message: JSON.parse(String(data)) }),
    );
  }

  static open(token: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
      const client = new Client(socket);
      opened.push(client);
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  send(message: unknown) {
    this.socket.send(JSON.stringify(message));
  }

  async next(
    match: (m: Message) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<{ at: number; message: Message }> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.messages.find((m) => match(m.message));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(
      `no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.messages.map((m) => m.message))}`,
    );
  }

  async subscribe(topic: string): Promise<Message> {
    const before = this.messages.length;
    this.send({ action: 'subscribe', topic });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const reply = this.messages
        .slice(before)
        .find((m) => m.message.topic === topic && m.message.type !== 'event');
      if (reply) return reply.message;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no reply to subscribe ${topic}`);
  }

  close() {
    this.socket.close();
  }
}

async function api(
  token: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const sessionEventOf = (id: string, type: string, topic: string) => (m: Message) =>
  m.type === 'event' && m.topic === topic && m.event?.subject === `sessions/${id}` && m.event.type === type;

describe('live updates on the local stack (/ws)', () => {
  it('refuses a connection without a valid token (401)', async () => {
    await expect(Client.open('not-a-jwt')).rejects.toThrow('HTTP 401');
    await expect(Client.open('')).rejects.toThrow('HTTP 401');
    // Signed by the stack's own key, but expired, or for another audience.
    const identity = await loadLocalIdentityProvider({
      keyPath: join(stateDir, SIGNING_KEY_FILE),
      issuer: stack.apiUrl,
    });
    const claims = { sub: 'local-operator', groups: ['lcm.operator'] };
    await expect(Client.open(await identity.issueToken(claims, { expiresInSeconds: -60 }))).rejects.toThrow(
      'HTTP 401',
    );
    await expect(
      Client.open(await identity.issueToken(claims, { audience: 'someone-else' })),
    ).rejects.toThrow('HTTP 401');
    // The same key and claims with the right audience and lifetime connect.
    (await Client.open(await identity.issueToken(claims))).close();
  });

  it('pushes a booked and terminated session to its subscribers; a portal never sees another tenant’s', async () => {
    const operator = await Client.open(stack.tokens.operator!);
    const portalA = await Client.open(stack.tokens.portal!);
    // A second reservation portal: another client id, so another tenant.
    const otherToken = stack.outputs.clients?.portal?.token ?? '';
    const portalB = await Client.open(otherToken);

    expect(await operator.subscribe('sessions')).toEqual({ type: 'subscribed', topic: 'sessions' });
    expect(await operator.subscribe('fleet')).toEqual({ type: 'subscribed', topic: 'fleet' });
    expect(await portalA.subscribe('sessions')).toEqual({ type: 'subscribed', topic: 'sessions' });
    expect(await portalB.subscribe('sessions')).toEqual({ type: 'subscribed', topic: 'sessions' });
    expect(await portalB.subscribe('fleet')).toMatchObject({ type: 'error', status: 403 });
    expect(await portalB.subscribe('nonsense')).toMatchObject({ type: 'error', status: 400 });

    // The portal (tenant lcm-local, the role tokens' client) books a session.
    const start = Date.now();
    const booked = await api(stack.tokens.portal!, '/v1/sessions', {
      definitionId: DEMO_PRACTICE_DEFINITION_ID,
      reservationId: `res-${randomUUID()}`,
      owner: { userId: 'u-live', username: 'live', email: 'live@example.com' },
      timeslot: {
        start: new Date(start + 60_000).toISOString(),
        end: new Date(start + 15 * 60_000).toISOString(),
      },
    });
    expect(booked, JSON.stringify(booked.body)).toMatchObject({ status: 201 });
    const id = booked.body.id as string;
    const bookedAt = performance.now();

    expect(await portalA.subscribe(`session:${id}`)).toEqual({ type: 'subscribed', topic: `session:${id}` });
    expect(await portalB.subscribe(`session:${id}`)).toMatchObject({
      type: 'error',
      topic: `session:${id}`,
      status: 403,
    });

    const created = await operator.next(
      sessionEventOf(id, 'io.lablet.lcm.session.created.v1', 'sessions'),
      'created',
    );
    await portalA.next(
      sessionEventOf(id, 'io.lablet.lcm.session.created.v1', 'sessions'),
      'created (portal)',
    );
    const createdLatencyMs = created.at - bookedAt;

    const terminatedAt = performance.now();
    const terminate = await api(stack.tokens.portal!, `/v1/sessions/${id}/terminate`, { reason: 'live e2e' });
    expect(terminate.status).toBe(202);
    const isTerminated = (topic: string) => (m: Message) =>
      sessionEventOf(id, 'io.lablet.lcm.session.status-changed.v1', topic)(m) &&
      m.event?.data?.to === 'TERMINATED';
    const done = await operator.next(isTerminated('sessions'), 'TERMINATED (operator)', 60_000);
    await portalA.next(isTerminated(`session:${id}`), 'TERMINATED on session:<id> (portal)', 60_000);
    const firstChange = await operator.next(
      sessionEventOf(id, 'io.lablet.lcm.session.status-changed.v1', 'sessions'),
      'status change',
    );
    process.stdout.write(
      `live updates: created reached the socket ${Math.round(createdLatencyMs)} ms after the 201, ` +
        `the first status change ${Math.round(firstChange.at - terminatedAt)} ms after the terminate's 202, ` +
        `TERMINATED after ${Math.round(done.at - terminatedAt)} ms\n`,
    );

    // The other tenant saw nothing of this session, on any topic.
    expect(portalB.messages.filter((m) => m.message.event?.subject === `sessions/${id}`)).toEqual([]);
    // What reached the sockets carries no task token.
    expect(JSON.stringify(operator.messages)).not.toContain('taskToken');

    for (const c of [operator, portalA, portalB]) c.close();
  });

  it('removes a closed connection and its subscriptions', async () => {
    const identity = await loadLocalIdentityProvider({
      keyPath: join(stateDir, SIGNING_KEY_FILE),
      issuer: stack.apiUrl,
    });
    const viewer = await Client.open(
      await identity.issueToken({ sub: 'live-e2e-viewer', groups: ['lcm.viewer'] }),
    );
    expect(await viewer.subscribe('fleet')).toEqual({ type: 'subscribed', topic: 'fleet' });
    const db = createDocumentClient({ endpoint: stack.dynamodbEndpoint });
    const livePartitions = async () => {
      const out = await db.send(
        new ScanCommand({
          ConsistentRead: true,
          TableName: stack.tableName,
          FilterExpression: 'begins_with(PK, :p) AND #sub = :sub',
          ExpressionAttributeNames: { '#sub': 'sub' },
          ExpressionAttributeValues: { ':p': 'LIVE#', ':sub': 'live-e2e-viewer' },
        }),
      );
      return (out.Items ?? []).map((i) => `${i.PK} ${i.SK}`);
    };
    try {
      const held = await livePartitions();
      expect(held.some((k) => k.endsWith(' TOPIC#fleet'))).toBe(true);
      viewer.close();
      const deadline = Date.now() + 10_000;
      let left = held;
      while (Date.now() < deadline) {
        left = await livePartitions();
        if (!left.some((k) => k.endsWith(' TOPIC#fleet'))) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // The connection's item and its subscription are gone.
      expect(held).toHaveLength(2);
      expect(left).toEqual([]);
    } finally {
      db.destroy();
    }
  });
});
