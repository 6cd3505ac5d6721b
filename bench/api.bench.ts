/**
 * API benchmark: starts the local stack as `npm start` does (in this process, with an in-memory
 * DynamoDB Local and a temporary state dir), seeds it through the API with the admin token (one
 * definition, a few hundred sessions), then runs autocannon against three routes, one after the
 * other, with the portal token:
 *   1. GET  /v1/sessions/{id}                       (round-robin over the seeded ids)
 *   2. GET  /v1/sessions?status=PENDING&limit=25    (a filtered list; the seed gives it pages)
 *   3. POST /v1/sessions                            (a unique reservationId per request)
 * and a bare DynamoDB Local GetItem (and the consistent Query GET /v1/sessions/{id} really issues)
 * from this process with @aws-sdk/lib-dynamodb, 50 concurrent loops for a bounded time. An
 * unrecorded pass over the four read scenarios warms DynamoDB Local's JIT first; POST runs last,
 * after its own warm-up, so the sessions it creates (and the workflows they start) slow nothing
 * else. CPU per request is taken from process CPU times (this process, the JVM, the load
 * generator). Prints a table and rewrites the "## API" section of docs/benchmarks.md (the rest is
 * kept).
 *
 * autocannon runs in a child process (this file again, with --load-generator) so the load does
 * not share the API's event loop; the JWT/zod micro-timings run in one too. Stdout/stderr lines
 * of the stack (its handlers' logs) are counted and dropped while it runs.
 * Run: npm run bench:api. Environment (all optional):
 *   LCM_BENCH_DURATION     seconds per scenario (default 20)
 *   LCM_BENCH_CONNECTIONS  concurrent clients / DynamoDB loops (default 50)
 *   LCM_BENCH_WARMUP       seconds per scenario of an unrecorded first pass (default 10; 0 = none)
 *   LCM_BENCH_SESSIONS     sessions seeded before the runs (default 300)
 *   LCM_BENCH_WRITE_DOC    0 = print only, leave docs/benchmarks.md alone (smoke runs)
 *   LCM_BENCH_STACK        full (default: every service `npm start` runs) or api (only the
 *                          environment, DynamoDB Local, table, JWT issuer and HTTP API services)
 * e.g. a smoke run: LCM_BENCH_DURATION=2 LCM_BENCH_CONNECTIONS=5 LCM_BENCH_WRITE_DOC=0 npm run bench:api
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { LocalStack } from '@lcm/sandbox/local-stack';

const LOAD_GENERATOR_FLAG = '--load-generator';
const DOC = new URL('../docs/benchmarks.md', import.meta.url);
const HEADING = '## API';
const DEFINITION_ID = 'bench-lab';
const LIST_PATH = '/v1/sessions?status=PENDING&limit=25';
/** autocannon's per-request timeout (its default); a timed-out request counts as an error. */
const REQUEST_TIMEOUT_S = 10;
/** Seconds of doing nothing (after seeding, after the runs), to measure the idle stack's CPU. */
const IDLE_SAMPLE_S = 3;

// ---------------------------------------------------------------------------------------------
// Shared shapes (parent <-> load generator over IPC)

type ScenarioKind = 'get' | 'list' | 'create';

interface LoadSpec {
  kind: ScenarioKind;
  url: string;
  token: string;
  connections: number;
  durationS: number;
  /** get: the ids to cycle through. */
  ids: string[];
  definitionId: string;
  /** create: prefix that keeps reservation ids unique across runs. */
  runTag: string;
}

interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

interface LoadResult {
  durationS: number;
  /** Responses received (any status). */
  responses: number;
  statusCounts: Record<string, number>;
  non2xx: number;
  /** Socket errors (timeouts included by autocannon) and timeouts alone. */
  socketErrors: number;
  timeouts: number;
  /** Over every response, from each response's own hrtime duration (sub-millisecond). */
  latency: LatencySummary;
  /** autocannon's own (whole-millisecond histogram) figures, as a cross-check. */
  autocannonP50: number;
  autocannonP99: number;
  /** CPU time of the load generator during the measured run. */
  cpuMs: number;
  /** The first few non-2xx bodies, for the report. */
  sampleErrors: string[];
}

/** The in-process costs the reading cites, timed in a fresh process (no stack work around them). */
interface MicroSpec {
  keyPath: string;
  issuer: string;
  token: string;
  /** A stored session item, as DynamoDB returns it. */
  item: Record<string, unknown>;
}

interface MicroResult {
  jwtUs: number;
  zodUs: number;
}

type ChildRequest = { type: 'load'; spec: LoadSpec } | { type: 'micro'; spec: MicroSpec };

type ChildMessage =
  | { type: 'measuring' }
  | { type: 'result'; result: LoadResult | MicroResult }
  | { type: 'error'; message: string };

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0)
    return { count: 0, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: 0, mean: 0 };
  const sorted = Float64Array.from(samples).sort();
  // Nearest rank.
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: sorted[sorted.length - 1]!,
    mean: sum / sorted.length,
  };
}

const cpuMsOf = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;

// ---------------------------------------------------------------------------------------------
// Load generator (child process): autocannon, programmatic API

/** What this file uses of autocannon 9 (the package ships no types). */
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
  onResponse?: (status: number, body: string) => void;
}
interface AutocannonClient {
  setRequests(requests: AutocannonRequest[]): void;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  timeout: number;
  headers?: Record<string, string>;
  requests?: AutocannonRequest[];
  setupClient?: (client: AutocannonClient) => void;
}
interface AutocannonResult {
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p99: number };
}
interface AutocannonTracker {
  on(
    event: 'response',
    listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void,
  ): void;
}
type Autocannon = (
  opts: AutocannonOptions,
  cb: (err: Error | null, result: AutocannonResult) => void,
) => AutocannonTracker;

/** Per-run counters of the request generators. */
interface GeneratorState {
  /** Reservation id prefix: the run's tag plus one random per load generator (warm-up and measured). */
  reservationPrefix: string;
  nextId: number;
  clients: number;
  seq: number;
}

type OnResponse = (status: number, body: string) => void;

function requestsFor(
  spec: LoadSpec,
  state: GeneratorState,
  onResponse?: OnResponse,
): Pick<AutocannonOptions, 'requests' | 'setupClient'> {
  const extra = onResponse ? { onResponse } : {};
  switch (spec.kind) {
    case 'get':
      return {
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => ({
              ...req,
              path: `/v1/sessions/${encodeURIComponent(spec.ids[state.nextId++ % spec.ids.length]!)}`,
            }),
            ...extra,
          },
        ],
      };
    case 'list':
      return { requests: [{ method: 'GET', path: LIST_PATH, ...extra }] };
    case 'create':
      // Each client is one portal user (setupClient gives it its own request generator); every
      // request books a new reservation (a repeat would be an idempotent 200 replay, not a 201).
      return {
        setupClient: (client) => {
          const learner = `learner-${++state.clients}`;
          client.setRequests([
            {
              method: 'POST',
              path: '/v1/sessions',
              setupRequest: (req) => {
                const start = Date.now() + 30 * 60_000;
                return {
                  ...req,
                  body: JSON.stringify({
                    definitionId: spec.definitionId,
                    reservationId: `${state.reservationPrefix}-${++state.seq}`,
                    owner: { userId: learner, username: learner },
                    timeslot: {
                      start: new Date(start).toISOString(),
                      end: new Date(start + 60 * 60_000).toISOString(),
                    },
                  }),
                };
              },
              ...extra,
            },
          ]);
        },
      };
  }
}

async function runLoad(spec: LoadSpec, onMeasuring: () => void): Promise<LoadResult> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const headers: Record<string, string> = {
    authorization: `Bearer ${spec.token}`,
    accept: 'application/json',
    ...(spec.kind === 'create' ? { 'content-type': 'application/json' } : {}),
  };
  const state: GeneratorState = {
    reservationPrefix: `${spec.runTag}-${randomBytes(4).toString('hex')}`,
    nextId: 0,
    clients: 0,
    seq: 0,
  };
  const once = (durationS: number, record?: (status: number, ms: number) => void, sample?: string[]) =>
    new Promise<AutocannonResult>((resolve, reject) => {
      const keepErrors: OnResponse | undefined = sample
        ? (status, body) => {
            if ((status < 200 || status > 299) && sample.length < 3)
              sample.push(`${status} ${body.slice(0, 300)}`);
          }
        : undefined;
      const shape = requestsFor(spec, state, keepErrors);
      const tracker = autocannon(
        {
          url: spec.url,
          connections: spec.connections,
          duration: durationS,
          timeout: REQUEST_TIMEOUT_S,
          headers,
          ...shape,
        },
        (err, result) => (err ? reject(err) : resolve(result)),
      );
      if (record) tracker.on('response', (_client, status, _bytes, ms) => record(status, ms));
    });

  const latencies: number[] = [];
  const sampleErrors: string[] = [];
  onMeasuring();
  const cpuBefore = process.cpuUsage();
  const result = await once(spec.durationS, (_status, ms) => latencies.push(ms), sampleErrors);
  const cpuMs = cpuMsOf(process.cpuUsage(cpuBefore));
  const statusCounts: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCounts[code] = count;
  return {
    durationS: result.duration,
    responses: latencies.length,
    statusCounts,
    non2xx: result.non2xx,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    latency: summarize(latencies),
    autocannonP50: result.latency.p50,
    autocannonP99: result.latency.p99,
    cpuMs,
    sampleErrors,
  };
}

/** Mean microseconds of `fn` over `n` sequential calls (after n/10 unrecorded ones). */
async function microseconds(n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < n / 10; i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - t0) * 1000) / n;
}

async function runMicro(spec: MicroSpec): Promise<MicroResult> {
  const { loadLocalIdentityProvider } = await import('@lcm/sandbox/local-auth');
  const { parseItem } = await import('@lcm/shared/platform');
  const { LabletSessionSchema } = await import('@lcm/shared/kernel');
  const identity = await loadLocalIdentityProvider({ keyPath: spec.keyPath });
  identity.bind(spec.issuer);
  const call = { method: 'GET', path: '/v1/sessions', headers: { authorization: `Bearer ${spec.token}` } };
  const verdict = await identity.authenticate(call);
  if (!verdict || 'error' in verdict)
    throw new Error(`the token does not verify: ${JSON.stringify(verdict)}`);
  return {
    jwtUs: await microseconds(2000, () => identity.authenticate(call)),
    zodUs: await microseconds(2000, () => parseItem(LabletSessionSchema, spec.item)),
  };
}

function loadGeneratorMain(): void {
  const send = (message: ChildMessage, then: () => void = () => {}) => process.send?.(message, () => then());
  // The parent went away (it failed or was interrupted): stop at once.
  process.on('disconnect', () => process.exit(0));
  process.once('message', (request: ChildRequest) => {
    const work =
      request.type === 'load'
        ? runLoad(request.spec, () => send({ type: 'measuring' }))
        : runMicro(request.spec);
    work.then(
      (result) => send({ type: 'result', result }, () => process.exit(0)),
      (e: unknown) => send({ type: 'error', message: errorText(e) }, () => process.exit(1)),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Parent: configuration

interface Config {
  durationS: number;
  connections: number;
  warmupS: number;
  sessions: number;
  writeDoc: boolean;
  stack: 'full' | 'api';
}

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer in ${min}..${max}, got "${raw}"`);
  }
  return value;
}

function stackChoice(raw: string | undefined): 'full' | 'api' {
  const value = (raw ?? '').trim() || 'full';
  if (value !== 'full' && value !== 'api')
    throw new Error(`LCM_BENCH_STACK must be full or api, got "${raw}"`);
  return value;
}

/** LCM_BENCH_STACK=api: the services the HTTP API itself needs. */
const API_SERVICES = new Set([
  'lambda environment',
  'DynamoDB Local',
  'table',
  'local JWT issuer',
  'HTTP API',
]);

function readConfig(): Config {
  return {
    durationS: envInt('LCM_BENCH_DURATION', 20, 1, 600),
    connections: envInt('LCM_BENCH_CONNECTIONS', 50, 1, 1000),
    warmupS: envInt('LCM_BENCH_WARMUP', 10, 0, 120),
    sessions: envInt('LCM_BENCH_SESSIONS', 300, 26, 10_000),
    writeDoc: !['0', 'false', 'no'].includes((process.env.LCM_BENCH_WRITE_DOC ?? '').trim().toLowerCase()),
    stack: stackChoice(process.env.LCM_BENCH_STACK),
  };
}

// ---------------------------------------------------------------------------------------------
// Parent: output. The handlers' Powertools loggers write one JSON line per request to stdout (and
// errors to stderr); while the stack runs those lines are counted and dropped (the first stderr
// lines are kept for the report), and this script writes through the saved writers.

const realStdoutWrite = process.stdout.write.bind(process.stdout);
const realStderrWrite = process.stderr.write.bind(process.stderr);
const say = (line = ''): void => {
  realStdoutWrite(`${line}\n`);
};
const dropped = { stdout: 0, stderr: 0, firstStderr: [] as string[] };

function dropHandlerLogs(): () => void {
  const originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  const sink = (stream: 'stdout' | 'stderr') =>
    ((chunk: unknown, ...rest: unknown[]) => {
      dropped[stream]++;
      if (stream === 'stderr' && dropped.firstStderr.length < 3) {
        dropped.firstStderr.push(String(chunk).slice(0, 400).trim());
      }
      const cb = rest.find((a): a is () => void => typeof a === 'function');
      if (cb) process.nextTick(cb);
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = sink('stdout');
  process.stderr.write = sink('stderr');
  return () => {
    process.stdout.write = originals.stdout;
    process.stderr.write = originals.stderr;
  };
}

// ---------------------------------------------------------------------------------------------
// Parent: CPU accounting (Linux /proc for the DynamoDB Local JVM)

const CLOCK_TICKS = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(out.stdout?.trim());
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

/** utime + stime of a process (all its threads), ms; undefined where /proc is not available. */
function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields from #3 (state) on: utime is #14, stime #15.
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000;
  } catch {
    return undefined;
  }
}

function procName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

interface CpuWindow {
  stackMs: number;
  jvmMs: number | undefined;
  wallMs: number;
  load1: [number, number];
}

function cpuWindow(jvmPid: number): () => CpuWindow {
  const cpu = process.cpuUsage();
  const jvm = procCpuMs(jvmPid);
  const t0 = performance.now();
  const load0 = loadavg()[0]!;
  return () => {
    const jvmNow = procCpuMs(jvmPid);
    return {
      stackMs: cpuMsOf(process.cpuUsage(cpu)),
      jvmMs: jvm === undefined || jvmNow === undefined ? undefined : jvmNow - jvm,
      wallMs: performance.now() - t0,
      load1: [load0, loadavg()[0]!],
    };
  };
}

interface IdleRates {
  stackMsPerS: number;
  jvmMsPerS: number | undefined;
}

/** What the stack burns doing nothing for IDLE_SAMPLE_S (timers, JIT, GC, background services). */
async function idleRates(jvmPid: number): Promise<IdleRates> {
  const window = cpuWindow(jvmPid);
  await new Promise((resolve) => setTimeout(resolve, IDLE_SAMPLE_S * 1000));
  const cpu = window();
  return {
    stackMsPerS: cpu.stackMs / (cpu.wallMs / 1000),
    jvmMsPerS: cpu.jvmMs === undefined ? undefined : cpu.jvmMs / (cpu.wallMs / 1000),
  };
}

// ---------------------------------------------------------------------------------------------
// Parent: seeding through the API

async function api(
  stack: LocalStack,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

async function seed(
  stack: LocalStack,
  count: number,
  runTag: string,
): Promise<{ ids: string[]; pages: number; listBytes: number }> {
  const admin = stack.tokens.admin;
  if (!admin) throw new Error('the local stack issued no admin token');
  const def = await api(stack, admin, 'POST', '/v1/definitions', {
    id: DEFINITION_ID,
    name: 'API benchmark lab',
    resourceRequirements: { cpuCores: 2, memoryGb: 4, storageGb: 10, nodeCount: 2 },
    maxDurationMinutes: 120,
  });
  if (def.status !== 201)
    throw new Error(`seeding the definition: ${def.status} ${JSON.stringify(def.body)}`);

  const ids: string[] = new Array(count);
  let next = 0;
  const now = Date.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const start = now + (15 + (i % 240)) * 60_000;
      const res = await api(stack, admin, 'POST', '/v1/sessions', {
        definitionId: DEFINITION_ID,
        reservationId: `${runTag}-seed-${i}`,
        owner: { userId: `seed-learner-${i % 50}` },
        timeslot: { start: new Date(start).toISOString(), end: new Date(start + 60 * 60_000).toISOString() },
      });
      const id = (res.body as { id?: unknown } | undefined)?.id;
      if (res.status !== 201 || typeof id !== 'string') {
        throw new Error(`seeding session ${i}: ${res.status} ${JSON.stringify(res.body)}`);
      }
      ids[i] = id;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));

  // The filtered list must have pages: walk them once.
  let pages = 0;
  let listBytes = 0;
  let cursor: string | undefined;
  do {
    const res = await api(
      stack,
      admin,
      'GET',
      `${LIST_PATH}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    if (res.status !== 200) throw new Error(`listing sessions: ${res.status} ${JSON.stringify(res.body)}`);
    cursor = (res.body as { nextCursor?: string }).nextCursor;
    if (pages === 0) listBytes = Buffer.byteLength(JSON.stringify(res.body));
    pages++;
  } while (cursor && pages < 1000);
  return { ids, pages, listBytes };
}

// ---------------------------------------------------------------------------------------------
// Parent: scenarios

interface Row {
  label: string;
  requests: number;
  throughput: number;
  latency: LatencySummary;
  errors: number;
  errorNote: string;
  cpu: CpuWindow;
  /** Load generator CPU (API rows). */
  clientCpuMs: number | undefined;
  /** autocannon's own percentiles (API rows). */
  autocannonP50?: number;
  autocannonP99?: number;
  note?: string;
}

const children = new Set<ChildProcess>();

function runInChild(spec: LoadSpec, onMeasuring: () => void): Promise<LoadResult> {
  const limitMs = (spec.durationS + 2 * REQUEST_TIMEOUT_S + 60) * 1000;
  return runChild({ type: 'load', spec }, onMeasuring, limitMs) as Promise<LoadResult>;
}

function runChild(
  request: ChildRequest,
  onMeasuring: () => void,
  limitMs: number,
): Promise<LoadResult | MicroResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [LOAD_GENERATOR_FLAG], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(child);
    let result: LoadResult | MicroResult | undefined;
    let failure: Error | undefined;
    const timer = setTimeout(() => {
      failure = new Error(`the load generator did not finish within ${limitMs / 1000} s`);
      child.kill('SIGKILL');
    }, limitMs);
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'measuring') onMeasuring();
      else if (m.type === 'result') result = m.result;
      else failure = new Error(`load generator: ${m.message}`);
    });
    child.on('error', (e) => {
      failure ??= e;
    });
    // Settle on exit, so the next scenario does not overlap this one's shutdown.
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (result && !failure) resolve(result);
      else reject(failure ?? new Error(`the load generator exited (${signal ?? code}) without a result`));
    });
    child.send(request);
  });
}

async function apiScenario(label: string, spec: LoadSpec, jvmPid: number, okStatus: number): Promise<Row> {
  say(`  ${label}: ${spec.connections} connections x ${spec.durationS} s ...`);
  let window: (() => CpuWindow) | undefined;
  const r = await runInChild(spec, () => {
    window = cpuWindow(jvmPid);
  });
  const cpu = window?.() ?? { stackMs: 0, jvmMs: undefined, wallMs: 0, load1: [0, 0] };
  const errors = r.non2xx + r.socketErrors;
  const byStatus = Object.entries(r.statusCounts)
    .filter(([code]) => Number(code) !== okStatus)
    .map(([code, n]) => `${n} × ${code}`);
  const parts = [
    ...byStatus,
    ...(r.socketErrors > 0 ? [`${r.socketErrors} socket errors (${r.timeouts} timeouts)`] : []),
  ];
  const row: Row = {
    label,
    requests: r.responses,
    throughput: r.responses / r.durationS,
    latency: r.latency,
    errors,
    errorNote: parts.join(', '),
    cpu,
    clientCpuMs: r.cpuMs,
    autocannonP50: r.autocannonP50,
    autocannonP99: r.autocannonP99,
  };
  say(
    `    ${fmtInt(row.requests)} responses, ${fmtInt(row.throughput)} req/s, p50 ${fmtMs(r.latency.p50)} ms, ` +
      `p99 ${fmtMs(r.latency.p99)} ms (autocannon ${r.autocannonP50}/${r.autocannonP99} ms), ` +
      `errors ${errors}${row.errorNote ? ` (${row.errorNote})` : ''}`,
  );
  for (const sample of r.sampleErrors) say(`    e.g. ${sample}`);
  return row;
}

/** `connections` concurrent loops of one call for `seconds`; latencies of the successful ones. */
async function loops(
  call: (i: number) => Promise<unknown>,
  connections: number,
  seconds: number,
  latencies?: number[],
): Promise<{ errors: number; firstError: string | undefined }> {
  const deadline = performance.now() + seconds * 1000;
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from({ length: connections }, async (_, loop) => {
      for (let i = loop; performance.now() < deadline; i += connections) {
        const t0 = performance.now();
        try {
          await call(i);
          latencies?.push(performance.now() - t0);
        } catch (e) {
          errors++;
          firstError ??= errorText(e);
        }
      }
    }),
  );
  return { errors, firstError };
}

/** The bare DynamoDB rows: `connections` concurrent loops of one call, in this process. */
async function bareScenario(
  label: string,
  call: (i: number) => Promise<unknown>,
  cfg: Config,
  jvmPid: number,
): Promise<Row> {
  say(`  ${label}: ${cfg.connections} loops x ${cfg.durationS} s ...`);
  const latencies: number[] = [];
  const window = cpuWindow(jvmPid);
  const t0 = performance.now();
  const { errors, firstError } = await loops(call, cfg.connections, cfg.durationS, latencies);
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = window();
  const row: Row = {
    label,
    requests: latencies.length,
    throughput: latencies.length / elapsedS,
    latency: summarize(latencies),
    errors,
    errorNote: firstError ?? '',
    cpu,
    clientCpuMs: undefined,
  };
  say(
    `    ${fmtInt(row.requests)} calls, ${fmtInt(row.throughput)} calls/s, p50 ${fmtMs(row.latency.p50)} ms, ` +
      `p99 ${fmtMs(row.latency.p99)} ms, errors ${errors}${firstError ? ` (${firstError})` : ''}`,
  );
  return row;
}

// ---------------------------------------------------------------------------------------------
// Parent: formatting and the document

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMs = (ms: number): string =>
  Number.isNaN(ms) ? '–' : ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
const fmtCpu = (ms: number | undefined, requests: number): string =>
  ms === undefined || requests === 0 ? '–' : (ms / requests).toFixed(2);

interface Report {
  cfg: Config;
  rows: Row[];
  seeded: number;
  pages: number;
  /** Size of one reply of the filtered list (first page). */
  listBytes: number;
  engine: string;
  jvmName: string | undefined;
  /** The local stack's services, in start order. */
  services: string[];
  jwtUs: number;
  zodUs: number;
  loadStart: number[];
  loadEnd: number[];
  /** Handler log lines dropped (stdout) and stack lines on stderr. */
  droppedLogLines: number;
  stderrLines: number;
  /** CPU ms per second used by the idle stack (Node) and DynamoDB Local (JVM). */
  idle: { afterSeeding: IdleRates; afterRuns: IdleRates };
  totalS: number;
}

function section(r: Report): string {
  const { cfg, rows } = r;
  const [get, list, create, getItem, query] = rows as [Row, Row, Row, Row, Row];
  const table = [
    '| scenario | requests | throughput (req/s) | p50 ms | p99 ms | errors |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (row) =>
        `| ${row.label} | ${fmtInt(row.requests)} | ${fmtInt(row.throughput)} | ${fmtMs(row.latency.p50)} | ` +
        `${fmtMs(row.latency.p99)} | ${row.errors}${row.errors > 0 && row.errorNote ? ` (${row.errorNote})` : ''} |`,
    ),
  ];
  const cpuTable = [
    '| scenario | stack process (Node) | DynamoDB Local (JVM) | load generator | CPU busy (of 2 cores) | load avg (1 min) start → end |',
    '|---|---:|---:|---:|---:|---|',
    ...rows.map((row) => {
      const busy =
        (row.cpu.stackMs + (row.cpu.jvmMs ?? 0) + (row.clientCpuMs ?? 0)) / Math.max(1, row.cpu.wallMs);
      return (
        `| ${row.label} | ${fmtCpu(row.cpu.stackMs, row.requests)} | ${fmtCpu(row.cpu.jvmMs, row.requests)} | ` +
        `${fmtCpu(row.clientCpuMs, row.requests)} | ${busy.toFixed(2)} | ` +
        `${row.cpu.load1[0].toFixed(2)} → ${row.cpu.load1[1].toFixed(2)} |`
      );
    }),
  ];
  const nodeShare = (row: Row) => row.cpu.stackMs / Math.max(1e-9, row.cpu.stackMs + (row.cpu.jvmMs ?? 0));
  const little = (row: Row) => (cfg.connections / Math.max(1e-9, row.throughput)) * 1000;
  const errorsTotal = get.errors + list.errors + create.errors;
  const cpuOf = (row: Row) =>
    `${fmtCpu(row.cpu.stackMs + (row.cpu.jvmMs ?? 0), row.requests)} ms CPU per request ` +
    `(Node ${fmtCpu(row.cpu.stackMs, row.requests)} + JVM ${fmtCpu(row.cpu.jvmMs, row.requests)})`;
  const jvmShares = [get, list, create]
    .map((row) => `${(100 - nodeShare(row) * 100).toFixed(0)} %`)
    .join(' / ');
  const autocannonGap = Math.max(
    ...[get, list, create].flatMap((row) => [
      Math.abs((row.autocannonP50 ?? row.latency.p50) - row.latency.p50),
      Math.abs((row.autocannonP99 ?? row.latency.p99) - row.latency.p99),
    ]),
  );
  const cpuModel = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const perReq = (row: Row, ms: number | undefined) => (ms ?? 0) / Math.max(1, row.requests);
  const apiAddsNode = perReq(get, get.cpu.stackMs) - perReq(query, query.cpu.stackMs);
  // POST's JVM time beyond its two reads (priced as bare GetItems): the transaction and the update.
  const postWritesJvm = perReq(create, create.cpu.jvmMs) - 2 * perReq(getItem, getItem.cpu.jvmMs);
  const listMinusGet =
    perReq(list, list.cpu.stackMs + (list.cpu.jvmMs ?? 0)) -
    perReq(get, get.cpu.stackMs + (get.cpu.jvmMs ?? 0));
  const pageVersusOne =
    Math.abs(listMinusGet) < 0.1
      ? 'a page of 25 costs about as much CPU as one session'
      : `a page of 25 costs ${Math.abs(listMinusGet).toFixed(2)} ms ${listMinusGet > 0 ? 'more' : 'less'} CPU than one session`;
  const getItemJvm = perReq(getItem, getItem.cpu.jvmMs);
  const jwtShare =
    apiAddsNode > r.jwtUs / 1000 ? `, ~${((r.jwtUs / 1000 / apiAddsNode) * 100).toFixed(0)} % of that` : '';
  const idleSum = (i: IdleRates) => i.stackMsPerS + (i.jvmMsPerS ?? 0);
  const idlePair = (i: IdleRates) => `${i.stackMsPerS.toFixed(1)} / ${i.jvmMsPerS?.toFixed(1) ?? '?'}`;

  return [
    HEADING,
    '',
    'The HTTP API under a bounded load; produced by `npm run bench:api` (bench/api.bench.ts), which',
    'rewrites this section only.',
    '',
    '**Setup.** The local stack as `npm start` runs it (API Gateway emulation, the `functions/api/*`',
    'handlers in the Lambda-style runtime, the local JWT authorizer, DynamoDB Local on Java; services:',
    `${r.services.join(', ')}${cfg.stack === 'api' ? '; LCM_BENCH_STACK=api, not all of `npm start`' : ''}), ` +
      'started in-process by `startLocalStack` with an **in-memory**',
    'DynamoDB Local (as `LCM_IN_MEMORY=1`) and a temporary state dir, API on a loopback port.',
    `Workflow engine \`${r.engine}\` (${
      r.engine === 'recording'
        ? 'WORKFLOW_ENGINE unset, the default: a create records its workflow start in memory, no Step Functions call'
        : 'as the local stack sets it: a create starts a session workflow execution'
    }).`,
    `Seeded through the API with the admin token: one definition and ${fmtInt(r.seeded)} sessions (created`,
    `PENDING; the filtered list had ${r.pages} pages of 25). Then autocannon 9, in a separate Node process,`,
    `one scenario after the other with the **portal** token, ${cfg.connections} connections × ${cfg.durationS} s ` +
      'each: GET of a',
    'seeded session (round-robin over all seeded ids), the first page of',
    `\`${LIST_PATH}\`, and POST of a new session (each client one learner, a unique`,
    'reservationId per request, timeslot 30–90 min ahead). An unrecorded pass of ' +
      `${cfg.warmupS} s per read scenario`,
    "first warms the code up (DynamoDB Local's JIT needs about half a minute of load: in a probe its",
    'CPU per Query fell from 4.5 ms to 0.5 ms over the first 35 s); then GET, list and the two bare',
    `rows are measured, and POST last, after its own ${cfg.warmupS} s warm-up, so the sessions it creates cannot`,
    'slow the others. Requests = responses received in the measured window. Latencies are over',
    'every response, from its own timing (nearest-rank',
    "percentiles; autocannon's whole-millisecond p50/p99 differ by at most " +
      `${autocannonGap.toFixed(1)} ms). Errors = non-2xx`,
    `responses + socket errors/timeouts (${REQUEST_TIMEOUT_S} s). The bare rows: as many concurrent loops, in the stack`,
    'process, with `@aws-sdk/lib-dynamodb` (through the client factory the handlers use) against the',
    'same DynamoDB Local and table, for the same time: GetItem of a session item (ConsistentRead), and',
    'the consistent Query of a session partition that GET /v1/sessions/{id} issues (session store',
    "`get`). The handlers' Powertools log lines (one JSON line per request, " +
      `${fmtInt(r.droppedLogLines)} in this run)`,
    'were formatted as usual, then dropped instead of written to the terminal' +
      (r.stderrLines > 0
        ? `; so were ${fmtInt(r.stderrLines)} lines the stack wrote to stderr (the script prints the first).`
        : '.'),
    '',
    ...table,
    '',
    'CPU per request (ms), over each measured window: process CPU time (`process.cpuUsage`; /proc for',
    `the JVM, \`${r.jvmName ?? '?'}\`); "CPU busy" = the three summed ÷ wall time, in cores:`,
    '',
    ...cpuTable,
    '',
    `Idle for ${IDLE_SAMPLE_S} s, the stack process / DynamoDB Local used ${idlePair(r.idle.afterSeeding)} ms of CPU per`,
    `second after seeding and ${idlePair(r.idle.afterRuns)} after the runs: background work worth ` +
      `~${fmtCpu(idleSum(r.idle.afterSeeding), get.throughput)} /`,
    `~${fmtCpu(idleSum(r.idle.afterRuns), get.throughput)} ms per request at GET's rate, already inside the figures above.` +
      (cfg.stack === 'full'
        ? " With every `npm start` service running, that includes the sandbox's own work (stream poller," +
          " workflows, schedules, simulators); `LCM_BENCH_STACK=api` measures the API's services alone."
        : ''),
    'One call at a time, in a fresh Node process before the load (the same code and key): verifying a',
    `portal token (the local authorizer, jose RS256) ${r.jwtUs.toFixed(0)} µs;`,
    `zod-parsing one stored session item (\`parseItem(LabletSessionSchema, …)\`) ${r.zodUs.toFixed(0)} µs.`,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on Node ${process.version}, ${cpuModel} ` +
      `(${cpus().length} cores), one run of ${r.totalS.toFixed(0)} s.`,
    "**Machine load:** other engineers' builds and test runs shared the 2 cores; load average",
    `(1/5/15 min) ${r.loadStart.map((v) => v.toFixed(2)).join(' / ')} at the start, ` +
      `${r.loadEnd.map((v) => v.toFixed(2)).join(' / ')} at the end. Absolute`,
    'figures are therefore pessimistic and noisy (tails especially); compare rows of the same run. ' +
      (errorsTotal === 0
        ? 'No request failed.'
        : `${errorsTotal} API requests failed (see the errors column).`),
    '',
    '**Where the time goes.**',
    `- Queueing. ${cfg.connections} clients in a closed loop keep ${cfg.connections} requests in flight, so ` +
      `mean latency = ${cfg.connections} ÷ throughput`,
    `  (Little's law: ${fmtMs(little(get))} / ${fmtMs(little(list))} / ${fmtMs(little(create))} ms for ` +
      `GET / list / POST; measured ${fmtMs(get.latency.mean)} / ${fmtMs(list.latency.mean)} / ` +
      `${fmtMs(create.latency.mean)}).`,
    '  Nearly all of it is waiting for a CPU: these processes got only the "CPU busy" share of the 2',
    '  cores. What a request costs in CPU sets both its throughput and its latency on this box.',
    `- GET /v1/sessions/{id}: ${cpuOf(get)}.`,
    `  The same consistent Query done bare: ${cpuOf(query)}. So the API`,
    `  adds ~${apiAddsNode.toFixed(2)} ms of Node CPU per request: the API Gateway emulation (routing, the v2 ` +
      'event), the JWT',
    `  authorizer (the RS256 verification alone ~${r.jwtUs.toFixed(0)} µs${jwtShare}), the Lambda-style ` +
      'invoke (InvokeStore context,',
    '  timeout race), middy (Powertools context and one JSON log line, problem mapping, body',
    '  handling), zod on the path parameters and the items read back, and the JSON reply.' +
      (cfg.stack === 'full'
        ? " Both rows carry the sandbox's background work, so the difference is rough;" +
          ' `LCM_BENCH_STACK=api` gives the clean split.'
        : ''),
    `- The filtered list: ${cpuOf(list)}. One GSI1 Query, like`,
    `  GET's one Query, returning 25 sessions, each zod-parsed (~${r.zodUs.toFixed(0)} µs, ` +
      `~${((r.zodUs * 25) / 1000).toFixed(1)} ms a page), and a ${(r.listBytes / 1000).toFixed(1)} KB reply:`,
    `  ${pageVersusOne}.`,
    `- POST /v1/sessions: ${cpuOf(create)}. Four DynamoDB calls`,
    "  (GetItem of the reservation guard, GetItem of the definition's LATEST item, TransactWriteItems",
    '  of session + guard, UpdateItem recording the execution ARN), zod on the body, the definition',
    ...(r.engine === 'recording'
      ? [
          '  and the written session. Pricing the two reads as bare GetItems leaves',
          `  ~${postWritesJvm.toFixed(1)} ms of JVM CPU for the transaction and the update, ` +
            `~${(postWritesJvm / 2 / Math.max(1e-9, getItemJvm)).toFixed(0)}× a bare GetItem each.`,
        ]
      : [
          '  and the written session, plus a StartExecution on the local Step Functions endpoint; the',
          '  session workflow then runs in the stack process and writes too, so its work lands in the',
          '  Node and JVM columns of this row (run last for that reason).',
        ]),
    `- DynamoDB Local (Java over SQLite) takes ${jvmShares} of the server-side CPU of GET / list / POST;`,
    `  a bare GetItem costs ${fmtCpu(getItem.cpu.jvmMs, getItem.requests)} ms of JVM CPU ` +
      `(+ ${fmtCpu(getItem.cpu.stackMs, getItem.requests)} ms in the Node SDK client). Here the`,
    "  emulator competes with the API for the same two cores; in AWS that work runs on DynamoDB's",
    "  servers, and a GetItem/Query is a few ms of waiting that costs the Lambda only the SDK client's",
    '  share.',
    '- Deployed, each request is its own Lambda invocation with its own CPU share, so these in-process',
    '  figures say what a request costs, not what API Gateway + Lambda latency would be.',
  ].join('\n');
}

function writeSection(text: string): void {
  const current = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const start = current.search(/^## API\s*$/m);
  let next: string;
  if (start < 0) {
    next = `${current.trimEnd()}\n\n${text}`;
  } else {
    const rest = current.slice(start + 1);
    const end = rest.search(/^## /m);
    const after = end < 0 ? '' : `\n${rest.slice(end)}`;
    next = `${current.slice(0, start)}${text}${after}`;
  }
  writeFileSync(DOC, `${next.trimEnd()}\n`);
}

// ---------------------------------------------------------------------------------------------
// Parent: main

async function main(): Promise<void> {
  const cfg = readConfig();
  const started = performance.now();
  const loadStart = loadavg();
  const runTag = `bench-${Date.now().toString(36)}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'lcm-bench-api-'));
  const stackLog: string[] = [];
  let stack: LocalStack | undefined;
  let restoreStdout: (() => void) | undefined;
  let interrupted = false;

  const cleanup = async () => {
    for (const child of children) child.kill('SIGKILL');
    try {
      await stack?.stop();
    } finally {
      restoreStdout?.();
      rmSync(stateDir, { recursive: true, force: true });
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    say(`\n${signal}: stopping`);
    cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Whatever ends this process (a crash, a closed pipe): no load generator or state dir outlives
  // it (dynamodb-local's own exit handler kills the JVM).
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  });

  say(
    `API benchmark: ${cfg.connections} connections x ${cfg.durationS} s per scenario, warm-up ${cfg.warmupS} s, ` +
      `${cfg.sessions} seeded sessions; load average ${loadStart.map((v) => v.toFixed(2)).join(' ')}`,
  );
  try {
    restoreStdout = dropHandlerLogs();
    const { defaultServices, resolveOptions, startLocalStack } = await import('@lcm/sandbox/local-stack');
    const known = new Set(defaultServices(resolveOptions({ stateDir })).map((svc) => svc.name));
    const unknown = [...API_SERVICES].filter((name) => !known.has(name));
    if (cfg.stack === 'api' && unknown.length > 0) {
      throw new Error(`LCM_BENCH_STACK=api: the local stack has no service named ${unknown.join(', ')}`);
    }
    const chosen = (o: Parameters<typeof defaultServices>[0]) =>
      defaultServices(o).filter((svc) => cfg.stack === 'full' || API_SERVICES.has(svc.name));
    const services = chosen(resolveOptions({ port: 0, inMemory: true, stateDir })).map((svc) => svc.name);
    stack = await startLocalStack({
      port: 0,
      inMemory: true,
      stateDir,
      log: (line) => stackLog.push(line),
      ...(cfg.stack === 'api' ? { services: chosen } : {}),
    });
    const engine = (process.env.WORKFLOW_ENGINE ?? '').trim() || 'recording';
    const jvmName = procName(stack.dynamodbPid);
    say(
      `local stack at ${stack.apiUrl}, DynamoDB Local ${stack.dynamodbEndpoint} (pid ${stack.dynamodbPid}, ${jvmName})`,
    );
    const portal = stack.tokens.portal;
    if (!portal) throw new Error('the local stack issued no portal token');

    const { ids, pages, listBytes } = await seed(stack, cfg.sessions, runTag);
    say(`seeded 1 definition and ${ids.length} sessions (${pages} pages of ${LIST_PATH})`);

    const base = {
      url: stack.apiUrl,
      token: portal,
      connections: cfg.connections,
      durationS: cfg.durationS,
      ids: [] as string[],
      definitionId: DEFINITION_ID,
      runTag,
    };
    const { createDocumentClient } = await import('@lcm/shared/platform');
    const { GetCommand, QueryCommand } = await import('@aws-sdk/lib-dynamodb');
    const { keys } = await import('@lcm/shared/platform');
    const db = createDocumentClient({ endpoint: stack.dynamodbEndpoint, maxSockets: cfg.connections });
    const tableName = stack.tableName;
    try {
      const jvmPid = stack.dynamodbPid;
      const getItem = (i: number) =>
        db.send(
          new GetCommand({
            TableName: tableName,
            Key: keys.session(ids[i % ids.length]!),
            ConsistentRead: true,
          }),
        );
      const query = (i: number) =>
        db.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': keys.sessionPartition(ids[i % ids.length]!) },
            ConsistentRead: true,
          }),
        );
      const api = (label: string, spec: LoadSpec, okStatus: number) => ({
        warm: (seconds: number) =>
          runInChild({ ...spec, durationS: seconds }, () => {}).then(() => undefined),
        measure: () => apiScenario(label, spec, jvmPid, okStatus),
      });
      const bare = (label: string, call: (i: number) => Promise<unknown>) => ({
        warm: (seconds: number) => loops(call, cfg.connections, seconds).then(() => undefined),
        measure: () => bareScenario(label, call, cfg, jvmPid),
      });
      // Run order: the bare calls before the POST, so the sessions it creates come last.
      const scenarios = {
        get: api('GET /v1/sessions/{id}', { ...base, kind: 'get', ids }, 200),
        list: api(`GET ${LIST_PATH}`, { ...base, kind: 'list' }, 200),
        getItem: bare('bare DynamoDB Local GetItem (session item)', getItem),
        query: bare('bare DynamoDB Local Query (session partition, as GET {id} reads it)', query),
        create: api('POST /v1/sessions', { ...base, kind: 'create' }, 201),
      };
      // Two in-process costs the reading refers to, timed in a fresh process before any load.
      const { SIGNING_KEY_FILE } = await import('@lcm/sandbox/local-auth');
      const item = (await db.send(new GetCommand({ TableName: tableName, Key: keys.session(ids[0]!) }))).Item;
      if (!item) throw new Error('the first seeded session is missing');
      const { jwtUs, zodUs } = (await runChild(
        {
          type: 'micro',
          spec: { keyPath: join(stateDir, SIGNING_KEY_FILE), issuer: stack.apiUrl, token: portal, item },
        },
        () => {},
        120_000,
      )) as MicroResult;

      const idleAfterSeeding = await idleRates(jvmPid);

      if (cfg.warmupS > 0) {
        say(`warm-up pass: ${cfg.warmupS} s per read scenario, unrecorded ...`);
        for (const scenario of [scenarios.get, scenarios.list, scenarios.getItem, scenarios.query]) {
          await scenario.warm(cfg.warmupS);
        }
      }
      say('measured pass:');
      const get = await scenarios.get.measure();
      const list = await scenarios.list.measure();
      const getItemRow = await scenarios.getItem.measure();
      const queryRow = await scenarios.query.measure();
      if (cfg.warmupS > 0) {
        say(`  (POST warm-up: ${cfg.warmupS} s, unrecorded)`);
        await scenarios.create.warm(cfg.warmupS);
      }
      const create = await scenarios.create.measure();
      const rows: Row[] = [get, list, create, getItemRow, queryRow];

      const idleAfterRuns = await idleRates(jvmPid);

      const handlerCrashes = stackLog.filter((l) => /Invoke Error|timed out|api gateway:/.test(l));
      const report: Report = {
        cfg,
        rows,
        seeded: ids.length,
        pages,
        listBytes,
        engine,
        jvmName,
        services,
        jwtUs,
        zodUs,
        loadStart,
        loadEnd: loadavg(),
        droppedLogLines: dropped.stdout,
        stderrLines: dropped.stderr,
        idle: { afterSeeding: idleAfterSeeding, afterRuns: idleAfterRuns },
        totalS: (performance.now() - started) / 1000,
      };
      say();
      const text = section(report);
      say(text);
      if (dropped.firstStderr.length > 0) {
        say(`\n${dropped.stderr} stack lines on stderr were dropped; the first:`);
        for (const line of dropped.firstStderr) say(`  ${line}`);
      }
      if (handlerCrashes.length > 0) {
        say(`\n${handlerCrashes.length} handler failures logged, first: ${handlerCrashes[0]!.slice(0, 500)}`);
      }
      if (cfg.writeDoc) {
        writeSection(text);
        say(`\nwrote the API section of ${fileURLToPath(DOC)}`);
      } else {
        say('\nLCM_BENCH_WRITE_DOC=0: docs/benchmarks.md left alone');
      }
    } finally {
      db.destroy();
    }
  } finally {
    if (!interrupted) await cleanup();
  }
}

if (process.argv.includes(LOAD_GENERATOR_FLAG)) {
  loadGeneratorMain();
} else {
  try {
    await main();
  } catch (e) {
    realStderrWrite(`bench:api failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  }
}
