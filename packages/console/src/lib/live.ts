/**
 * Live updates: the WebSocket protocol the API serves (`wsUrl?token=<access token>`).
 * Client → server `{"action":"subscribe","topic":"fleet"|"sessions"|"session:<id>"}`;
 * server → client `{"type":"subscribed"}`, `{"type":"error"}`, `{"type":"event","topic","event"}`
 * where `event` is one of LCM's outbound CloudEvents. Reconnects with capped exponential backoff
 * and full jitter, and re-subscribes every topic that still has a listener. A socket whose handshake
 * has not completed within `openTimeoutMs` (default 10 s: a `$connect` that hangs) is given up and
 * retried like a closed one, so the console never stays 'connecting'.
 */
export type Topic = 'fleet' | 'sessions' | `session:${string}`;

export interface CloudEventLike {
  readonly id?: string;
  readonly type: string;
  readonly source?: string;
  readonly subject?: string;
  readonly time?: string;
  readonly data?: unknown;
}

export type ServerMessage =
  | { type: 'subscribed'; topic?: string }
  | { type: 'error'; message?: string; topic?: string }
  | { type: 'event'; topic: string; event: CloudEventLike };

export type LiveState = 'connecting' | 'open' | 'closed';

/** The delay before reconnect attempt `attempt` (0-based): min(cap, base·2^attempt) scaled by `random()`. */
export function backoffMs(attempt: number, random: () => number = Math.random, baseMs = 500, capMs = 15_000) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** A server message, or null for anything the protocol does not define. */
export function parseServerMessage(raw: string): ServerMessage | null {
  let m: unknown;
  try {
    m = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof m !== 'object' || m === null) return null;
  const o = m as Record<string, unknown>;
  if (o.type === 'subscribed' || o.type === 'error') return o as ServerMessage;
  if (o.type === 'event' && typeof o.topic === 'string' && typeof o.event === 'object' && o.event !== null) {
    return o as ServerMessage;
  }
  return null;
}

type Listener = (event: CloudEventLike) => void;

interface SocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(): void;
}

export interface LiveOptions {
  readonly url: string;
  readonly token: () => string | null;
  readonly createSocket?: (url: string) => SocketLike;
  readonly setTimer?: (fn: () => void, ms: number) => unknown;
  readonly clearTimer?: (handle: unknown) => void;
  readonly random?: () => number;
  /** How long a handshake may take before the socket is given up and retried (ms). */
  readonly openTimeoutMs?: number;
}

export const DEFAULT_OPEN_TIMEOUT_MS = 10_000;

export class LiveClient {
  private socket: SocketLike | null = null;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly stateListeners = new Set<(s: LiveState) => void>();
  private attempt = 0;
  private timer: unknown = null;
  private openTimer: unknown = null;
  private stopped = false;
  state: LiveState = 'closed';

  constructor(private readonly opts: LiveOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) (this.opts.clearTimer ?? clearTimeout)(this.timer as number);
    this.timer = null;
    this.clearOpenTimer();
    this.socket?.close();
    this.socket = null;
    this.setState('closed');
  }

  onState(fn: (s: LiveState) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** Listens to a topic (subscribing on the socket when it is the first listener); returns the unsubscribe. */
  subscribe(topic: Topic, fn: Listener): () => void {
    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
      this.sendSubscribe(topic);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(topic);
    };
  }

  private sendSubscribe(topic: string): void {
    if (this.socket && this.socket.readyState === 1) {
      this.socket.send(JSON.stringify({ action: 'subscribe', topic }));
    }
  }

  private setState(s: LiveState): void {
    this.state = s;
    for (const fn of this.stateListeners) fn(s);
  }

  private connect(): void {
    const token = this.opts.token();
    if (!token || this.stopped) return;
    const sep = this.opts.url.includes('?') ? '&' : '?';
    const url = `${this.opts.url}${sep}token=${encodeURIComponent(token)}`;
    const socket = (this.opts.createSocket ?? ((u: string) => new WebSocket(u) as unknown as SocketLike))(
      url,
    );
    this.socket = socket;
    this.setState('connecting');
    this.openTimer = (this.opts.setTimer ?? setTimeout)(() => {
      this.openTimer = null;
      if (this.socket !== socket || socket.readyState === 1) return;
      // The handshake hangs: drop this socket (its late close is ignored) and reconnect.
      this.dropped(socket);
      socket.close();
    }, this.opts.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS);
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.clearOpenTimer();
      this.attempt = 0;
      this.setState('open');
      for (const topic of this.listeners.keys()) this.sendSubscribe(topic);
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      const msg = parseServerMessage(String(ev.data));
      if (msg?.type !== 'event') return;
      for (const fn of this.listeners.get(msg.topic) ?? []) fn(msg.event);
    };
    socket.onerror = () => {};
    socket.onclose = () => {
      if (this.socket === socket) this.dropped(socket);
    };
  }

  /** The current socket is gone (closed, or its handshake timed out): reconnect after the backoff. */
  private dropped(socket: SocketLike): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.clearOpenTimer();
    this.setState('closed');
    if (this.stopped) return;
    const delay = backoffMs(this.attempt++, this.opts.random);
    this.timer = (this.opts.setTimer ?? setTimeout)(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private clearOpenTimer(): void {
    if (this.openTimer !== null) (this.opts.clearTimer ?? clearTimeout)(this.openTimer as number);
    this.openTimer = null;
  }
}
