/**
 * `npm run screenshots`: the console's pictures in docs/img/console-*.png, taken in Chromium
 * against a fresh `npm start` (throwaway DynamoDB, the seeded demo fleet, a few sessions booked
 * through the API), never drawn by hand. Builds the console first.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  freePort,
  type LocalJson,
  REPO_ROOT,
  readLocalJson,
  startedByTests,
  waitForHealthy,
} from '../e2e/support.ts';
import { consoleOrigin, launchChromium, signIn } from './support.ts';

const started = startedByTests();
const out = join(REPO_ROOT, 'docs/img');

async function main() {
  execFileSync('npm', ['run', 'build:console'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const stateDir = started.tempDir('lcm-screenshots-');
  const port = await freePort();
  const run = started.start({
    ...process.env,
    LCM_IN_MEMORY: '1',
    // The LDS simulator logs the learner in: the first session runs and can be observed.
    LCM_SANDBOX_LDS_AUTOLOGIN_SECONDS: '1',
    LCM_PORT: String(port),
    LCM_STATE_DIR: stateDir,
  });
  // A script, not a test: no startup budget, only a generous limit (the machine may be loaded).
  await waitForHealthy(`http://127.0.0.1:${port}`, 180_000, () => run.child.exitCode === null).catch(
    (e: Error) => {
      throw new Error(`${e.message}\n--- npm start output ---\n${run.output().slice(-3000)}`);
    },
  );
  const local = await readLocalJson<LocalJson>(stateDir);
  started.pid(local.dynamodbPid);

  const book = async (definitionId: string, user: string) => {
    const now = Date.now();
    const res = await fetch(`${local.apiUrl}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${local.tokens.portal}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        definitionId,
        reservationId: `res-${randomUUID()}`,
        owner: { userId: user, username: user },
        timeslot: { start: new Date(now).toISOString(), end: new Date(now + 12 * 60_000).toISOString() },
      }),
    });
    if (res.status !== 201) throw new Error(`booking: HTTP ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };
  // The graded definition allows extensions, so the session page shows one (issue 15, item 1).
  const graded = (await (
    await fetch(`${local.apiUrl}/v1/definitions/demo-ospf-graded`, {
      headers: { authorization: `Bearer ${local.tokens.admin}` },
    })
  ).json()) as { version: number };
  const put = await fetch(`${local.apiUrl}/v1/definitions/demo-ospf-graded`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${local.tokens.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ maxExtensionMinutes: 15, expectedVersion: graded.version }),
  });
  if (put.status !== 200) throw new Error(`definition update: HTTP ${put.status} ${await put.text()}`);
  const first = await book('demo-ospf-graded', 'alice');
  await book('demo-console-practice', 'bob');
  const get = async (path: string) =>
    (await (
      await fetch(`${local.apiUrl}${path}`, { headers: { authorization: `Bearer ${local.tokens.admin}` } })
    ).json()) as { status?: string; sessionCount?: number };
  const until = async (what: string, check: () => Promise<boolean>) => {
    const deadline = Date.now() + 90_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  // Let the first session boot and the learner log in, then observe it (the definition page's observations).
  await until('the session to run', async () => (await get(`/v1/sessions/${first}`)).status === 'RUNNING');
  const extended = await fetch(`${local.apiUrl}/v1/sessions/${first}/extend`, {
    method: 'POST',
    headers: { authorization: `Bearer ${local.tokens.operator}`, 'content-type': 'application/json' },
    body: JSON.stringify({ minutes: 10, reason: 'the learner asked for more time' }),
  });
  if (extended.status !== 200) throw new Error(`extend: HTTP ${extended.status} ${await extended.text()}`);
  await fetch(`${local.apiUrl}/v1/sessions/${first}/observe`, {
    method: 'POST',
    headers: { authorization: `Bearer ${local.tokens.admin}` },
  });
  await until(
    'the observation',
    async () => ((await get('/v1/definitions/demo-ospf-graded/observations')).sessionCount ?? 0) > 0,
  );

  const origin = await consoleOrigin(local.apiUrl);
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
    await signIn(page, origin, 'admin', local.tokens);
    mkdirSync(out, { recursive: true });
    const shots: [string, string, string][] = [
      ['fleet', '#/fleet', 'tr[data-worker]'],
      ['sessions', '#/sessions', 'tr[data-session]'],
      ['session', `#/sessions/${first}`, '[data-testid="session-status"]'],
      ['definitions', '#/definitions', 'table'],
      ['definition', '#/definitions/demo-ospf-graded', '[data-testid="latest-version"]'],
      ['templates', '#/templates/sandbox-cml', 'form.editor'],
      // The heat-map once the week's slots are in (the table is drawn empty first).
      ['capacity', '#/capacity', 'table.heatmap tbody tr'],
    ];
    // The API has the availability route (issue 10, item 3): the console shows the capacity book.
    if (!(await page.getByRole('link', { name: 'Capacity book' }).count())) {
      throw new Error('no Capacity book page: the API document has no GET /v1/availability');
    }
    for (const [name, hash, ready] of shots) {
      await page.goto(`${origin.url}${hash}`);
      await page.locator(ready).first().waitFor({ timeout: 20_000 });
      await page.waitForLoadState('networkidle');
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(out, `console-${name}.png`), fullPage: true });
      console.log(`wrote docs/img/console-${name}.png`);
    }
  } finally {
    await browser.close();
    await origin.close();
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => started.cleanup());
