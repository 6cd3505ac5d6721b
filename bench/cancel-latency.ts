/**
 * Cancellation latency on the local stack (issue 10, Done when: "a cancelled future session is
 * TERMINATED and its capacity free within 10 s on the local stack").
 *
 * Starts the stack as `npm start` runs it (startLocalStack in-process, every service, in-memory
 * DynamoDB Local, a temporary state dir), but with production's session timing
 * (LCM_PLACEMENT_LEAD_SECONDS=900, LCM_INSTANTIATE_LEAD_SECONDS=600: the local defaults of 30 s and
 * 5 s would leave a placed session SCHEDULED for 25 s only). Then, through the HTTP API with the
 * admin token, on the demo data's first definition and workers:
 * - **booked far ahead**: sessions booked 2 days ahead (PENDING, holding nothing), each cancelled
 *   with POST /v1/sessions/{id}/terminate; time until GET /v1/sessions/{id} says TERMINATED;
 * - **placed, SCHEDULED**: sessions booked 12 min ahead, so the placement window (15 min) is open
 *   and the workflow places them at once; once GET says SCHEDULED with a worker, wait a random
 *   time within one SCHEDULE_CHECK_MAX_SECONDS (the period at which the workflow's SCHEDULED wait
 *   checks for a termination, so the cancellation lands anywhere in that cycle), cancel, and time until the session is TERMINATED
 *   and until its capacity is free: the worker's allocated capacity (GET /v1/workers/{id}/capacity)
 *   is back to what it was before the booking and none of its port leases remain. One at a time,
 *   so the worker's capacity belongs to the session measured.
 * Polls every 100 ms, so each figure is within ~0.1 s (plus a request's time) of the truth.
 *
 * Run: npm run bench:cancel (LCM_CANCEL_N: sessions per scenario, default 20; LCM_BENCH_WRITE_DOC=0:
 * print only). Rewrites the "## Cancellation" section of docs/benchmarks.md.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCHEDULE_CHECK_MAX_SECONDS } from '@lcm/shared/sessions';

const DOC = new URL('../docs/benchmarks.md', import.meta.url);
const N = Math.max(1, Number(process.env.LCM_CANCEL_N ?? 20));
const TARGET_S = 10;
const POLL_MS = 100;
const writeDoc = !['0', 'false', 'no'].includes((process.env.LCM_BENCH_WRITE_DOC ?? '').trim().toLowerCase());

// Production's session timing (see the header); set before the stack reads its environment.
process.env.LCM_PLACEMENT_LEAD_SECONDS = '900';
process.env.LCM_INSTANTIATE_LEAD_SECONDS = '600';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stateDir = mkdtempSync(join(tmpdir(), 'lcm-cancel-'));
const stackLog: string[] = [];

interface Capacity {
  cpuCores: number;
  memoryGb: number;
  storageGb: number;
  maxNodes: number;
}

const { startLocalStack } = await import('@lcm/sandbox/local-stack');
const stack = await startLocalStack({ port: 0, inMemory: true, stateDir, log: (l) => stackLog.push(l) });
const admin = stack.tokens.admin;
if (!admin) throw new Error('the local stack issued no admin token');

// biome-ignore lint/suspicious/noExplicitAny: JSON replies, read field by field where used
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${admin}`,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const began = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - began > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
};
const summary = (xs: number[]) => ({
  n: xs.length,
  p50: pct(xs, 0.5),
  p95: pct(xs, 0.95),
  max: Math.max(...xs),
});
const sameCapacity = (a: Capacity, b: Capacity): boolean =>
  a.cpuCores === b.cpuCores &&
  a.memoryGb === b.memoryGb &&
  a.storageGb === b.storageGb &&
  a.maxNodes === b.maxNodes;

let seq = 0;
async function book(startInMs: number): Promise<string> {
  const start = Date.now() + startInMs;
  const res = await api('POST', '/v1/sessions', {
    definitionId,
    reservationId: `cancel-bench-${process.pid}-${++seq}`,
    owner: { userId: `cancel-learner-${seq}` },
    timeslot: { start: new Date(start).toISOString(), end: new Date(start + 10 * 60_000).toISOString() },
  });
  if (res.status !== 201) throw new Error(`booking: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}
const sessionOf = async (id: string) => (await api('GET', `/v1/sessions/${id}`)).body;
const terminated = (id: string) =>
  until(
    `${id} TERMINATED`,
    async () => ((await sessionOf(id)).status === 'TERMINATED' ? true : undefined),
    60_000,
  );

let definitionId = '';
try {
  const seed = stack.outputs.seed as { definitions: string[] } | undefined;
  if (!seed || seed.definitions.length === 0) throw new Error('the local stack seeded no definition');
  // A definition that books: the first the API accepts.
  for (const id of seed.definitions) {
    definitionId = id;
    const probe = await api('POST', '/v1/sessions', {
      definitionId: id,
      reservationId: `cancel-bench-probe-${id}`,
      owner: { userId: 'cancel-probe' },
      timeslot: {
        start: new Date(Date.now() + 3 * 86_400_000).toISOString(),
        end: new Date(Date.now() + 3 * 86_400_000 + 600_000).toISOString(),
      },
    });
    if (probe.status === 201) {
      await api('POST', `/v1/sessions/${probe.body.id}/terminate`, { reason: 'probe' });
      break;
    }
    definitionId = '';
  }
  if (!definitionId) throw new Error('no seeded definition could be booked');
  await until('a RUNNING worker', async () => {
    const ws = (await api('GET', '/v1/workers')).body?.items ?? [];
    return ws.some((w: { status: string }) => w.status === 'RUNNING') ? true : undefined;
  });

  // ---- booked far ahead ----
  const far: number[] = [];
  for (let i = 0; i < N; i++) {
    const id = await book(2 * 86_400_000);
    const s = await sessionOf(id);
    if (s.workerId) throw new Error(`${id} booked 2 days ahead holds worker ${s.workerId}`);
    const t0 = performance.now();
    const r = await api('POST', `/v1/sessions/${id}/terminate`, { reason: 'cancellation benchmark' });
    if (r.status >= 300) throw new Error(`terminate ${id}: ${r.status} ${JSON.stringify(r.body)}`);
    await terminated(id);
    far.push((performance.now() - t0) / 1000);
  }

  // ---- placed, SCHEDULED ----
  const placedTerminated: number[] = [];
  const placedFree: number[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < N; i++) {
    const id = await book(12 * 60_000);
    const s = await until(`${id} placed`, async () => {
      const x = await sessionOf(id);
      if (x.status === 'TERMINATED') throw new Error(`${id} ended before placement: ${x.failureReason}`);
      return x.status === 'SCHEDULED' && x.workerId ? x : undefined;
    });
    const workerId = s.workerId as string;
    const need: Capacity = {
      cpuCores: s.requirements.cpuCores,
      memoryGb: s.requirements.memoryGb,
      storageGb: s.requirements.storageGb,
      maxNodes: s.requirements.nodeCount,
    };
    const held = (await api('GET', `/v1/workers/${workerId}/capacity`)).body.allocated as Capacity;
    const before: Capacity = {
      cpuCores: held.cpuCores - need.cpuCores,
      memoryGb: held.memoryGb - need.memoryGb,
      storageGb: held.storageGb - need.storageGb,
      maxNodes: held.maxNodes - need.maxNodes,
    };
    const offset = Math.random() * SCHEDULE_CHECK_MAX_SECONDS * 1000;
    offsets.push(offset / 1000);
    await sleep(offset);
    const t0 = performance.now();
    const r = await api('POST', `/v1/sessions/${id}/terminate`, { reason: 'cancellation benchmark' });
    if (r.status >= 300) throw new Error(`terminate ${id}: ${r.status} ${JSON.stringify(r.body)}`);
    let terminatedAt: number | undefined;
    let freeAt: number | undefined;
    await until(`${id} TERMINATED and released`, async () => {
      if (terminatedAt === undefined && (await sessionOf(id)).status === 'TERMINATED')
        terminatedAt = performance.now();
      if (freeAt === undefined) {
        const cap = (await api('GET', `/v1/workers/${workerId}/capacity`)).body.allocated as Capacity;
        const leases = (await api('GET', `/v1/workers/${workerId}/ports`)).body?.items ?? [];
        if (sameCapacity(cap, before) && !leases.some((l: { sessionId: string }) => l.sessionId === id))
          freeAt = performance.now();
      }
      return terminatedAt !== undefined && freeAt !== undefined ? true : undefined;
    });
    placedTerminated.push((terminatedAt! - t0) / 1000);
    placedFree.push((freeAt! - t0) / 1000);
  }

  const rows = [
    { label: 'booked 2 days ahead (PENDING, holds nothing) → TERMINATED', s: summary(far) },
    { label: 'placed, SCHEDULED → TERMINATED', s: summary(placedTerminated) },
    { label: 'placed, SCHEDULED → capacity and ports free', s: summary(placedFree) },
  ];
  const fmt = (x: number) => x.toFixed(2);
  const load = loadavg();
  const met = rows.every((r) => r.s.max <= TARGET_S);
  const section = [
    '## Cancellation',
    '',
    'Produced by `npm run bench:cancel` (bench/cancel-latency.ts), which rewrites this section only. The local',
    "stack as `npm start` runs it (every service, in-process, in-memory DynamoDB Local) but with production's",
    'session timing (placement lead 900 s, instantiation lead 600 s); requests through the HTTP API with the',
    `admin token, on the demo data's definition \`${definitionId}\` and workers. ${N} sessions per row, one at a`,
    'time. *Booked far ahead*: booked 2 days ahead (PENDING, no worker), cancelled with POST',
    '/v1/sessions/{id}/terminate; time until GET /v1/sessions/{id} says TERMINATED. *Placed*: booked 12 min',
    'ahead, placed at once by its workflow (the placement window is open); once SCHEDULED on a worker, cancelled',
    `after a random 0–${SCHEDULE_CHECK_MAX_SECONDS} s (the SCHEDULED wait checks for a termination every ${SCHEDULE_CHECK_MAX_SECONDS} s,`,
    "`SCHEDULE_CHECK_MAX_SECONDS`); time until TERMINATED, and until the worker's allocated capacity is back",
    'to its value before the booking and none of its port leases remain. Polled every 100 ms.',
    '',
    '| cancellation | n | p50 (s) | p95 (s) | max (s) |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.label} | ${r.s.n} | ${fmt(r.s.p50)} | ${fmt(r.s.p95)} | ${fmt(r.s.max)} |`),
    '',
    `Goal (issue 10): TERMINATED and capacity free within ${TARGET_S} s — ${met ? 'met' : 'missed'} (worst ${fmt(Math.max(...rows.map((r) => r.s.max)))} s).`,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on Node ${process.version}, ${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${cpus().length} cores), load average ${load.map((v) => v.toFixed(2)).join(' / ')} at the end.`,
    '',
  ].join('\n');
  console.log(section);
  console.log(JSON.stringify({ far, placedTerminated, placedFree, offsets }, null, 1));
  if (writeDoc) {
    const current = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
    const start = current.search(/^## Cancellation\s*$/m);
    let next: string;
    if (start < 0) next = `${current.trimEnd()}\n\n${section}`;
    else {
      const rest = current.slice(start + 1);
      const end = rest.search(/^## /m);
      next = `${current.slice(0, start)}${section}${end < 0 ? '' : `\n${rest.slice(end)}`}`;
    }
    writeFileSync(DOC, `${next.trimEnd()}\n`);
  }
} catch (e) {
  console.error(e);
  console.error(stackLog.slice(-30).join('\n'));
  process.exitCode = 1;
} finally {
  await stack.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
