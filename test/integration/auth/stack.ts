import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { type LocalStack, REPO_ROOT, startLocalStack } from '@lcm/sandbox/local-stack';
import { createDocumentClient } from '@lcm/shared/platform';
import { inject } from 'vitest';
import { handlerEntry, ROUTE_GROUPS } from '../../../functions/api/routes.ts';

/**
 * The real local stack in this process, for driving the API over HTTP with the tokens the
 * stack wrote to local.json: a temporary state dir, the test run's in-memory DynamoDB Local
 * (a table of its own) instead of another JVM, an API port picked by the OS.
 */

export type TokenName = 'admin' | 'operator' | 'portal' | 'viewer';

export interface AuthTestStack {
  stack: LocalStack;
  apiUrl: string;
  /** As read from `<stateDir>/local.json`. */
  tokens: Record<TokenName, string>;
  /** Route groups whose handler module does not exist yet (they answer 501). */
  missingGroups: Set<string>;
  /** Gateway diagnostics (handler crashes are logged here). */
  log: string[];
  stop(): Promise<void>;
}

export async function startAuthTestStack(prefix: string): Promise<AuthTestStack> {
  const stateDir = mkdtempSync(join(tmpdir(), `lcm-${prefix}-`));
  const log: string[] = [];
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  const dynamodbEndpoint = inject('dynamodbEndpoint');
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      port: 0,
      stateDir,
      dynamodbEndpoint,
      tableName,
      log: (line) => log.push(line),
    });
  } catch (e) {
    rmSync(stateDir, { recursive: true, force: true });
    throw e;
  }
  const local = JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as {
    apiUrl: string;
    tokens: Record<TokenName, string>;
  };
  const missingGroups = new Set<string>(
    ROUTE_GROUPS.filter((g) => !existsSync(join(REPO_ROOT, handlerEntry(g)))),
  );
  return {
    stack,
    apiUrl: local.apiUrl,
    tokens: local.tokens,
    missingGroups,
    log,
    async stop() {
      try {
        await stack.stop();
      } finally {
        const db = createDocumentClient({ endpoint: dynamodbEndpoint });
        try {
          await db.send(new DeleteTableCommand({ TableName: tableName }));
        } catch {
          // already gone
        } finally {
          db.destroy();
        }
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
}

/** Fills `{name}` placeholders; values are percent-encoded like a client would. */
export const pathOf = (template: string, params: Record<string, string>): string =>
  template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? 'x'));
