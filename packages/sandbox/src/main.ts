import { isAbsolute, join, relative } from 'node:path';
import { type LocalStack, REPO_ROOT, startLocalStack } from './local-stack.ts';

/**
 * `npm start`: the local stack as a CLI (local-stack.ts lists what runs).
 *   LCM_PORT       API port (default 3000)
 *   LCM_IN_MEMORY  1 = throwaway DynamoDB (default: kept in <state dir>/dynamodb)
 *   LCM_STATE_DIR  state directory (default <repo>/.lcm): DynamoDB data, the JWT signing key,
 *                  the partners' signing secrets, evidence, content, and local.json (endpoints,
 *                  one bearer token per role, the partners' secrets, the seeded data)
 *   LCM_SANDBOX_WORKERS  RUNNING workers seeded (default 2)
 *   LCM_SANDBOX_BOOT_SECONDS, LCM_SANDBOX_LAB_BOOT_SECONDS, LCM_SANDBOX_GRADING_DELAY_SECONDS,
 *   LCM_SANDBOX_LDS_AUTOLOGIN_SECONDS, LCM_SANDBOX_LDS_AUTOEND_SECONDS, LCM_SCALE_INTERVAL_SECONDS,
 *   LCM_SANDBOX_SCHEDULES=off, LCM_SANDBOX_CONTENT_DIR: the sandbox's timing and parts
 * SIGINT/SIGTERM stop everything and exit 0; a start failure prints one line and exits 1.
 */

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`LCM_PORT must be a port number (0-65535), got "${value}"`);
  }
  return port;
}

const truthy = (value: string | undefined) => value === '1' || value?.toLowerCase() === 'true';

function parseWorkers(value: string | undefined): number {
  if (value === undefined || value === '') return 2;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 20) {
    throw new Error(`LCM_SANDBOX_WORKERS must be a whole number from 0 to 20, got "${value}"`);
  }
  return n;
}

async function main(): Promise<void> {
  let stack: LocalStack | undefined;
  let stopRequested = false;

  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopRequested) return; // already stopping; stop() is bounded, a second signal just waits
    stopRequested = true;
    if (!stack) return; // still starting: main() stops what it started once start returns
    process.stderr.write(`lcm: ${signal}, stopping\n`);
    try {
      await stack.stop();
      process.exit(0);
    } catch (e) {
      process.stderr.write(`lcm: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutdown(signal));

  try {
    stack = await startLocalStack({
      port: parsePort(process.env.LCM_PORT),
      workers: parseWorkers(process.env.LCM_SANDBOX_WORKERS),
      inMemory: truthy(process.env.LCM_IN_MEMORY),
      ...(process.env.LCM_STATE_DIR ? { stateDir: process.env.LCM_STATE_DIR } : {}),
    });
  } catch (e) {
    process.stderr.write(`lcm: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(stopRequested ? 0 : 1);
  }

  if (stopRequested) {
    await stack.stop();
    process.exit(0);
  }
  const fromRepo = relative(REPO_ROOT, stack.stateDir);
  const stateDir =
    fromRepo && !fromRepo.startsWith('..') && !isAbsolute(fromRepo) ? fromRepo : stack.stateDir;
  const data = stack.outputs.inMemory ? 'in memory' : `data in ${join(stateDir, 'dynamodb')}`;
  process.stdout.write(
    `LCM local stack ready at ${stack.apiUrl} (table ${stack.tableName}, DynamoDB Local ${stack.dynamodbEndpoint}, ${data})\n`,
  );
  process.stdout.write(tokenHelp(stack, join(stateDir, 'local.json')));
  process.stdout.write(sandboxHelp(stack, join(stateDir, 'local.json')));
}

/** The other endpoints, the seeded data and the partners. */
function sandboxHelp(stack: LocalStack, localJson: string): string {
  const o = stack.outputs as Record<string, unknown>;
  const lines: string[] = [];
  const bus = o.eventBridge as { endpoint?: string; eventsLog?: string } | undefined;
  if (bus?.endpoint) lines.push(`EventBridge ${bus.endpoint} (published events: GET ${bus.eventsLog})`);
  if (typeof o.stepFunctionsEndpoint === 'string') lines.push(`Step Functions ${o.stepFunctionsEndpoint}`);
  const sims = o.simulators as { lds?: { url?: string }; grading?: { url?: string } } | undefined;
  if (sims?.lds?.url) lines.push(`LDS simulator ${sims.lds.url}, Grading simulator ${sims.grading?.url}`);
  const seed = stack.resources.seedReport;
  if (seed) {
    lines.push(
      `Seeded: template ${seed.templates.map((t) => t.name).join(', ')}; definitions ${seed.definitions.map((d) => d.id).join(', ')}`,
    );
    for (const w of seed.workers)
      lines.push(`  worker ${w.id} ${w.status} (${w.outcome}), CML ${w.cmlBaseUrl ?? '-'}`);
  }
  if (stack.outputs.partners) {
    lines.push(`Partners of POST /v1/events (source, HMAC secret): ${localJson} under "partners"`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** The bearer tokens per role, and how to use them. */
function tokenHelp(stack: LocalStack, localJson: string): string {
  const roles = Object.entries(stack.tokens);
  if (roles.length === 0) return '';
  const width = Math.max(...roles.map(([role]) => role.length));
  const lines = [
    `Bearer tokens (valid ${stack.outputs.auth?.tokenLifetimeDays ?? '?'} days, also in ${localJson} under "tokens";`,
    `issuer ${stack.outputs.auth?.issuer}, keys at ${stack.outputs.auth?.jwksUri}):`,
    ...roles.map(([role, token]) => `  ${role.padEnd(width)}  ${token}`),
    `e.g. curl -H "Authorization: Bearer $(jq -r .tokens.viewer ${localJson})" ${stack.apiUrl}/v1/workers`,
  ];
  return `${lines.join('\n')}\n`;
}

await main();
