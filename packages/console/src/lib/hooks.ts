import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { LiveClient, LiveState, Topic } from './live.ts';
import { type Problem, problemOf } from './problem.ts';

export interface Loaded<T> {
  readonly data: T | null;
  readonly problem: Problem | null;
  readonly loading: boolean;
  readonly reload: () => void;
}

/** Runs `load` when `deps` change and on reload(); keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  // biome-ignore lint/correctness/useExhaustiveDependencies: deps are the caller's.
  useEffect(() => {
    let live = true;
    setLoading(true);
    loadRef.current().then(
      (d) => {
        if (!live) return;
        setData(d);
        setProblem(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setProblem(problemOf(e));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, problem, loading, reload };
}

/**
 * The live client's socket state, as React's external-store hook reads it: a change between the
 * first render and the subscription (the socket opening while the page mounts) is not missed, as
 * it was with a state initialised at render and subscribed in an effect (the header then said
 * 'connecting' over an open socket until the next change).
 */
export function useLiveState(live: LiveClient | null): LiveState {
  const subscribe = useCallback(
    (notify: () => void) => {
      const off = live?.onState(notify);
      return () => {
        off?.();
      };
    },
    [live],
  );
  return useSyncExternalStore(subscribe, () => live?.state ?? 'closed');
}

/** How often a page re-reads while the socket is not open (no WebSocket, or reconnecting). */
export const POLL_WHILE_OFFLINE_MS = 5_000;

/**
 * Calls `onEvent` (coalesced over 150 ms) for every event on `topic` while mounted. While the
 * socket is not open (the stack serves none, a proxy blocks it, or it is reconnecting) the page
 * re-reads every POLL_WHILE_OFFLINE_MS instead, so it never goes stale, and once more when the
 * socket opens again after a reconnect.
 */
export function useLive(live: LiveClient | null, topic: Topic | null, onEvent: () => void): void {
  const ref = useRef(onEvent);
  ref.current = onEvent;
  const open = useLiveState(live) === 'open';
  useEffect(() => {
    if (!live || !topic) return;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = live.subscribe(topic, () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        ref.current();
      }, 150);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [live, topic]);
  useEffect(() => {
    if (open || !topic) return;
    const poll = setInterval(() => ref.current(), POLL_WHILE_OFFLINE_MS);
    return () => clearInterval(poll);
  }, [open, topic]);
  // Back from a reconnect (the socket closed, then opened again): events sent while it was down
  // are lost, so the page re-reads once. Not on the first open, when the page has just loaded.
  const wasOpen = useRef(open);
  const wasClosedAfterOpen = useRef(false);
  useEffect(() => {
    if (!open && wasOpen.current) wasClosedAfterOpen.current = true;
    if (open && wasClosedAfterOpen.current && topic) {
      wasClosedAfterOpen.current = false;
      ref.current();
    }
    wasOpen.current = wasOpen.current || open;
  }, [open, topic]);
}
