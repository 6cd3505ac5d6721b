import { contentSyncDeps } from '@lcm/shared/app';
import { TRIGGERS_CONSUMER } from '@lcm/shared/events';
import { triggersHandler } from '../../../../functions/streams/triggers.ts';
import type { LambdaHandler } from '../lambda-runtime.ts';
import { createLocalContentStore, type LocalContentStore, localContentDir } from './local-store.ts';

export * from './local-store.ts';
export * from './samples.ts';

export interface LocalContentTriggers {
  /** The `lcm-content` bucket (the folder, seeded with the sample packages). */
  store: LocalContentStore;
  /** For the stream poller's `handlers`: the triggers consumer reading packages from the folder. */
  handlers: Record<string, LambdaHandler>;
}

/**
 * The local stack's content sync: the folder LCM_SANDBOX_CONTENT_DIR (default .lcm/content)
 * served as s3://lcm-content/, and the triggers stream handler bound to it (the same handler
 * module as in AWS; only its content store differs). Wire it as
 * `startStreamPoller({ ..., consumers: [...STREAM_CONSUMERS, TRIGGERS_CONSUMER], handlers })`.
 */
export function localContentTriggers(opts: { dir?: string } = {}): LocalContentTriggers {
  const store = createLocalContentStore(opts.dir ?? localContentDir());
  const handler = triggersHandler({ contentSync: () => ({ ...contentSyncDeps(), content: store }) });
  return { store, handlers: { [TRIGGERS_CONSUMER.module]: handler as LambdaHandler } };
}
