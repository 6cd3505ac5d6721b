import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  verifyWebhook,
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
} from '@lcm/shared/events';

/** One request the receiver got, with the raw body exactly as sent. */
export interface ReceivedEvent {
  headers: IncomingMessage['headers'];
  raw: string;
  body: unknown;
}

export interface EventReceiver {
  url: string;
  received: ReceivedEvent[];
  /** Statuses to answer with, in order, before falling back to 202. */
  queueStatuses(...statuses: number[]): void;
  /** Resolves once `count` events arrived (rejects after timeoutMs). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedEvent[]>;
  close(): Promise<void>;
}

/** A stand-in for LCM's `POST /v1/events` on a free loopback port. */
export async function startEventReceiver(): Promise<EventReceiver> {
  const received: ReceivedEvent[] = [];
  const statuses: number[] = [];
  const waiters: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = statuses.shift() ?? 202;
      if (status < 300) {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        received.push({ headers: req.headers, raw, body });
        for (const w of waiters.splice(0)) w();
      }
      res.writeHead(status).end();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/events`,
    received,
    queueStatuses: (...s) => statuses.push(...s),
    waitFor: (count, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`expected ${count} events, got ${received.length}`)),
          timeoutMs,
        );
        const check = () => {
          if (received.length >= count) {
            clearTimeout(timer);
            resolve(received.slice(0, count));
          } else waiters.push(check);
        };
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Expects `promise` to reject and returns the error. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

export const headerOf = (h: IncomingMessage['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Verifies a delivered event's Standard Webhooks signature the way LCM's ingest does. */
export const delivered = (ev: ReceivedEvent, secrets: readonly string[]) =>
  verifyWebhook(
    ev.raw,
    {
      id: headerOf(ev.headers, WEBHOOK_ID_HEADER),
      timestamp: headerOf(ev.headers, WEBHOOK_TIMESTAMP_HEADER),
      signature: headerOf(ev.headers, WEBHOOK_SIGNATURE_HEADER),
    },
    secrets,
  );
