// @vitest-environment jsdom
import { act, cleanup, render } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { useLive, useLiveState } from '../src/lib/hooks.ts';
import { LiveClient } from '../src/lib/live.ts';

/**
 * useLive with the real LiveClient over a socket the test drives: a page re-reads once when its
 * socket opens again after a reconnect (the events sent while it was down are lost), not on the
 * first open, and the client subscribes again on the new socket.
 */

afterEach(cleanup);

class FakeSocket {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  readonly sent: string[] = [];
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({});
  }
}

/** A LiveClient over FakeSockets; `timers` are the pending ones (the handshake timer is cleared on open). */
function liveOverFakeSockets() {
  const sockets: FakeSocket[] = [];
  const timers: (() => void)[] = [];
  const live = new LiveClient({
    url: 'ws://lcm.test/ws',
    token: () => 'token',
    createSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    setTimer: (fn) => {
      timers.push(fn);
      return fn;
    },
    clearTimer: (fn) => {
      const i = timers.indexOf(fn as () => void);
      if (i >= 0) timers.splice(i, 1);
    },
    random: () => 0,
  });
  return { live, sockets, timers };
}

function Probe(props: { live: LiveClient; onEvent: () => void }) {
  useLive(props.live, 'fleet', props.onEvent);
  return null;
}

describe('useLive across a reconnect', () => {
  it('re-reads once when the socket opens again, not on the first open, and subscribes again', () => {
    const { live, sockets, timers } = liveOverFakeSockets();
    live.start();
    let reads = 0;
    render(<Probe live={live} onEvent={() => reads++} />);

    act(() => sockets[0]!.open());
    expect(reads).toBe(0);
    expect(sockets[0]!.sent).toEqual([JSON.stringify({ action: 'subscribe', topic: 'fleet' })]);

    // The stack goes away; the client waits its backoff, then connects again.
    act(() => sockets[0]!.drop());
    expect(live.state).toBe('closed');
    expect(timers).toHaveLength(1);
    act(() => timers.shift()!());
    expect(sockets).toHaveLength(2);
    expect(reads).toBe(0);
    act(() => sockets[1]!.open());
    expect(reads).toBe(1);
    expect(sockets[1]!.sent).toEqual([JSON.stringify({ action: 'subscribe', topic: 'fleet' })]);

    // Open and staying open: no further re-read.
    act(() => {});
    expect(reads).toBe(1);
    live.stop();
  });
});

function StateProbe(props: { live: LiveClient }) {
  return <output data-testid="state">{useLiveState(props.live)}</output>;
}

/** Opens the socket while it renders: after StateProbe has read the state, before its effects run. */
function OpenWhileMounting(props: { socket: FakeSocket }) {
  if (props.socket.readyState === 0) props.socket.open();
  return null;
}

describe('useLiveState', () => {
  it('shows a socket that opened between the first render and the subscription as open', () => {
    const { live, sockets } = liveOverFakeSockets();
    live.start();
    expect(live.state).toBe('connecting');
    const { getByTestId } = render(
      <>
        <StateProbe live={live} />
        <OpenWhileMounting socket={sockets[0]!} />
      </>,
    );
    expect(live.state).toBe('open');
    expect(getByTestId('state').textContent).toBe('open');
    act(() => sockets[0]!.drop());
    expect(getByTestId('state').textContent).toBe('closed');
    live.stop();
  });
});
