import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ConnectionPoster, LiveReply } from '@lcm/shared/api';
import { liveDeps } from '@lcm/shared/app';
import { WebSocket, WebSocketServer } from 'ws';
import { importHandler, invokeLambda, type LambdaHandler, type LocalFunction } from './lambda-runtime.ts';

/**
 * The local stand-in for the API Gateway WebSocket API of live updates (issue 14, item 3), on the
 * HTTP API's port at `/ws`: an upgrade runs the SAME $connect handler (functions/websocket/connect.ts,
 * token from `?token=`, checked against the local issuer's JWKS over HTTP) and a refused token
 * answers 401 without upgrading; each text message runs the message handler (route selection
 * `$request.body.action` needs no routing here: one handler serves subscribe, unsubscribe and
 * $default); a close runs $disconnect. Connections and subscriptions are in the local table.
 *
 * Delivery: the handlers post through the `ConnectionPoster` port; locally `liveDeps.override`
 * puts in `LocalConnections`, which writes to these sockets and answers `gone` for a connection
 * that is no longer open, exactly where the management API answers 410 in AWS. The broadcaster
 * (functions/websocket/broadcast.ts) is fed by the local bus's live-updates rule.
 */

export const LIVE_SOCKET_PATH = '/ws';

/** What API Gateway's management API is to the handlers: post to a connection, or learn it is gone. */
export class LocalConnections implements ConnectionPoster {
  private readonly sockets = new Map<string, WebSocket>();

  add(connectionId: string, socket: WebSocket): void {
    this.sockets.set(connectionId, socket);
  }

  remove(connectionId: string): void {
    this.sockets.delete(connectionId);
  }

  get size(): number {
    return this.sockets.size;
  }

  async post(connectionId: string, message: LiveReply): Promise<'sent' | 'gone'> {
    const socket = this.sockets.get(connectionId);
    if (!socket || socket.readyState !== WebSocket.OPEN) return 'gone';
    await new Promise<void>((resolve, reject) =>
      socket.send(JSON.stringify(message), (e) => (e ? reject(e) : resolve())),
    );
    return 'sent';
  }

  closeAll(): void {
    for (const socket of this.sockets.values()) socket.terminate();
    this.sockets.clear();
  }
}

export interface LiveSocketOptions {
  server: Server;
  region: string;
  log?: (line: string) => void;
}

export interface LiveSocket {
  readonly connections: LocalConnections;
  stop(): Promise<void>;
}

const fn = (name: string, region: string): LocalFunction => ({
  functionName: `lcm-local-ws-${name}`,
  region,
  timeoutMs: 10_000,
});

/** A connection id as API Gateway makes them (base64, 16 characters). */
const newConnectionId = () => randomBytes(12).toString('base64');

export async function attachLiveSocket(opts: LiveSocketOptions): Promise<LiveSocket> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const [connect, message, disconnect] = await Promise.all([
    importHandler('functions/websocket/connect.ts'),
    importHandler('functions/websocket/message.ts'),
    importHandler('functions/websocket/disconnect.ts'),
  ]);
  const connections = new LocalConnections();
  liveDeps.override({ poster: connections });
  const wss = new WebSocketServer({ noServer: true });

  const invoke = async (handler: LambdaHandler, name: string, event: unknown): Promise<number> => {
    const outcome = await invokeLambda(handler, event, fn(name, opts.region));
    if (outcome.kind === 'ok')
      return (outcome.result as { statusCode?: number } | undefined)?.statusCode ?? 200;
    log(
      `lcm: websocket ${name} ${outcome.kind === 'error' ? `failed: ${String(outcome.error)}` : 'timed out'}`,
    );
    return 500;
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname !== LIVE_SOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const connectionId = newConnectionId();
    const queryStringParameters = Object.fromEntries(url.searchParams);
    void (async () => {
      const status = await invoke(connect, 'connect', {
        requestContext: { connectionId, routeKey: '$connect', eventType: 'CONNECT' },
        queryStringParameters,
        headers: req.headers,
      });
      if (status !== 200) {
        const reason = status === 401 ? 'Unauthorized' : 'Internal Server Error';
        socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        connections.add(connectionId, ws);
        ws.on('message', (data, isBinary) => {
          if (isBinary) return;
          void invoke(message, 'message', {
            requestContext: { connectionId, routeKey: '$default', eventType: 'MESSAGE' },
            body: data.toString(),
          });
        });
        ws.on('close', () => {
          connections.remove(connectionId);
          void invoke(disconnect, 'disconnect', {
            requestContext: { connectionId, routeKey: '$disconnect', eventType: 'DISCONNECT' },
          });
        });
      });
    })().catch((e) => {
      log(`lcm: websocket upgrade failed: ${e instanceof Error ? e.message : String(e)}`);
      socket.destroy();
    });
  };
  opts.server.on('upgrade', onUpgrade);

  return {
    connections,
    async stop() {
      opts.server.off('upgrade', onUpgrade);
      connections.closeAll();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      liveDeps.override({});
    },
  };
}
