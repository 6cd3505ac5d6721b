import { createContext, useContext } from 'react';
import type { Api } from '../api/client.ts';
import type { ConsoleConfig } from './config.ts';
import type { LiveClient } from './live.ts';
import type { Caller } from './permissions.ts';

export interface ConsoleContext {
  readonly config: ConsoleConfig;
  readonly api: Api;
  readonly caller: Caller;
  readonly token: () => string | null;
  readonly live: LiveClient | null;
}

export const Ctx = createContext<ConsoleContext | null>(null);

export function useConsole(): ConsoleContext {
  const c = useContext(Ctx);
  if (!c) throw new Error('useConsole outside the console');
  return c;
}
