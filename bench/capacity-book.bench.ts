/**
 * Capacity book benchmark (issue 10, item 3): times the production rule of
 * packages/shared/src/fleet/rules/capacity-book.ts in-process over 1,000 booked sessions from a
 * seeded PRNG: one booking's admission (buildCapacityBook + checkBookings, what POST /v1/sessions
 * runs) and one availability answer (GET /v1/availability over a day), prints p50/p99 and rewrites
 * the "## Capacity book" section of docs/benchmarks.md (the rest of the file is kept).
 * Run: npm run bench:capacity-book
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import {
  type BookedSession,
  buildCapacityBook,
  type CapacityBookConfig,
  checkBookings,
  slotAvailability,
} from '@lcm/shared/fleet';
import type { WorkerTemplate } from '@lcm/shared/kernel';

const SEED = 20261207;
const BOOKED = 1_000;
const DAYS = 5;
const ADMISSIONS = 400;
const AVAILABILITY_RUNS = 40;
const WARMUP = 20;
const TARGET_P99_MS = 50;
/** GET /v1/availability's default maxAdditional. */
const MAX_ADDITIONAL = 10;
const DOC = new URL('../docs/benchmarks.md', import.meta.url);
const DAY0 = Date.parse('2026-03-02T00:00:00.000Z');
const MINUTE = 60_000;

/** mulberry32: reproducible synthetic data from a seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const rand = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

const NOW = '2026-03-01T00:00:00.000Z';
const template = (name: string, cpu: number, mem: number, nodes: number, cost: number): WorkerTemplate => ({
  name,
  // The template names are real CML-capable shapes: m8i (nested virtualisation) and m5zn.metal.
  instanceType: name.replace('-', '.'),
  virtualisation: name.endsWith('metal') ? 'metal' : 'nested',
  capacity: { cpuCores: cpu, memoryGb: mem, storageGb: 2000, maxNodes: nodes },
  amiId: 'ami-0123456789abcdef0',
  costPerHourUsd: cost,
  licenseType: 'ENTERPRISE',
  podType: 'CML_ON_AWS',
  bootMinutes: 15,
  portRange: { start: 2000, end: 7999 },
  enabled: true,
  createdAt: NOW,
  updatedAt: NOW,
  version: 1,
});
/** Three CML-capable shapes (metal and nested), their on-demand prices as in the fleet benchmark's. */
const TEMPLATES = [
  template('m8i-4xlarge', 16, 64, 40, 0.85),
  template('m8i-12xlarge', 48, 192, 120, 2.54),
  template('m5zn-metal', 48, 192, 100, 3.96),
];
/** Lab definitions: small, medium, large (cpu, GB, nodes, console ports). */
const DEFINITIONS = [
  { cpuCores: 2, memoryGb: 8, nodeCount: 4, ports: 4 },
  { cpuCores: 6, memoryGb: 24, nodeCount: 10, ports: 10 },
  { cpuCores: 12, memoryGb: 48, nodeCount: 24, ports: 24 },
];
const CONFIG: CapacityBookConfig = { maxWorkers: 10, leadSeconds: 900, releaseMarginSeconds: 600 };

function sessionOf(id: string, startMs: number, minutes: number, d: (typeof DEFINITIONS)[number]) {
  return {
    id,
    timeslot: {
      start: new Date(startMs).toISOString(),
      end: new Date(startMs + minutes * MINUTE).toISOString(),
    },
    requirements: { cpuCores: d.cpuCores, memoryGb: d.memoryGb, storageGb: 20, nodeCount: d.nodeCount },
    licenseAffinity: [],
    podType: 'CML_ON_AWS',
    portTemplate: Array.from({ length: d.ports }, (_, i) => ({
      name: `n${i}_serial`,
      nodeLabel: `n${i}`,
      kind: 'serial' as const,
      insidePort: 0,
    })),
  } satisfies BookedSession;
}

/** Business-hours bookings (08:00–18:00 UTC), on the quarter hour, 60–180 minutes, over DAYS days. */
function booked(): BookedSession[] {
  return Array.from({ length: BOOKED }, (_, i) => {
    const day = Math.floor(rand() * DAYS);
    const startMs = DAY0 + day * 1440 * MINUTE + (8 * 60 + 15 * Math.floor(rand() * 40)) * MINUTE;
    return sessionOf(`b-${String(i).padStart(5, '0')}`, startMs, pick([60, 90, 120, 180]), pick(DEFINITIONS));
  });
}

const pct = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const fmt = (ms: number): string => ms.toFixed(2);

/** Wall-clock and CPU milliseconds of each run, each sorted (CPU time is what a loaded machine does not inflate). */
function time(runs: number, fn: (i: number) => void): { wall: number[]; cpu: number[] } {
  for (let i = 0; i < WARMUP; i++) fn(i);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn(i);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: wall.sort((a, b) => a - b), cpu: cpu.sort((a, b) => a - b) };
}

const sessions = booked();
let refused = 0;
const admission = time(ADMISSIONS, (i) => {
  const day = i % DAYS;
  const startMs = DAY0 + day * 1440 * MINUTE + (8 * 60 + 15 * Math.floor(rand() * 40)) * MINUTE;
  const candidate = sessionOf(`c-${i}`, startMs, pick([60, 90, 120]), pick(DEFINITIONS));
  const book = buildCapacityBook(sessions, TEMPLATES, CONFIG);
  if (!checkBookings(book, [candidate]).fits) refused++;
});
const slotsOfDay = (day: number) =>
  Array.from({ length: 20 }, (_, k) => {
    const s = DAY0 + day * 1440 * MINUTE + (8 * 60 + 30 * k) * MINUTE;
    return { start: new Date(s).toISOString(), end: new Date(s + 90 * MINUTE).toISOString() };
  });
const availability = time(AVAILABILITY_RUNS, (i) => {
  const d = sessionOf('probe', DAY0, 90, DEFINITIONS[i % DEFINITIONS.length]!);
  const { id: _id, timeslot: _t, ...session } = d;
  const book = buildCapacityBook(sessions, TEMPLATES, CONFIG);
  slotAvailability(book, session, slotsOfDay(i % DAYS), MAX_ADDITIONAL);
});

const peak = (() => {
  const book = buildCapacityBook(sessions, TEMPLATES, CONFIG);
  return book.holds.length;
})();
const rows = [
  ['admission (one booking)', ADMISSIONS, admission],
  [`availability (20 slots of a day, up to ${MAX_ADDITIONAL} more)`, AVAILABILITY_RUNS, availability],
] as const;
console.log(
  `capacity book: ${BOOKED} booked sessions (${peak} placeable) over ${DAYS} days, maxWorkers ${CONFIG.maxWorkers}`,
);
for (const [what, runs, { wall, cpu }] of rows) {
  console.log(
    `${what}: n=${runs} wall p50 ${fmt(pct(wall, 50))} ms, p99 ${fmt(pct(wall, 99))} ms; cpu p50 ${fmt(pct(cpu, 50))} ms, p99 ${fmt(pct(cpu, 99))} ms`,
  );
}
console.log(`admissions refused: ${refused} of ${ADMISSIONS}`);

const section = [
  '## Capacity book',
  '',
  '`npm run bench:capacity-book` (bench/capacity-book.bench.ts), which rewrites this section only. It times the',
  'production rule (`packages/shared/src/fleet/rules/capacity-book.ts`) in-process, from the booked sessions',
  'already in memory (the store read is not included): 1,000 sessions booked over 5 business days (08:00–18:00,',
  '60–180 minutes, three lab sizes), three templates, `maxWorkers` 10, placement lead 15 min, release margin',
  '10 min. Each answer builds the book from all 1,000 sessions, then packs every distinct set of sessions',
  "holding capacity within the slot with the scaler's `pack`.",
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()[0]!.toFixed(2)} (shared).`,
  '',
  '| answer | runs | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms |',
  '|---|---|---|---|---|---|',
  ...rows.map(
    ([what, runs, { wall, cpu }]) =>
      `| ${what} | ${runs} | ${fmt(pct(wall, 50))} | ${fmt(pct(wall, 99))} | ${fmt(pct(cpu, 50))} | ${fmt(pct(cpu, 99))} |`,
  ),
  '',
  `Target: an admission answer ≤ ${TARGET_P99_MS} ms p99 in-process (issue 10), checked on CPU time: on a shared`,
  'machine (2 cores, load average often far above 2) wall-clock time is mostly waiting for a core. The script exits 1',
  `when the CPU p99 of an admission is over the target. ${refused} of ${ADMISSIONS} probe bookings were refused.`,
  'An availability answer packs many more sets: each slot counts 1, 2, … more sessions until one does not fit',
  '(not a binary search: the packer is a heuristic and not monotone, and a property test found six more refused',
  'where seven fit; counting one by one costs more CPU, in three runs p50 224 → 251–277 ms and',
  'p99 372 → 397–596 ms, against the binary search it replaced, on a quiet machine). It is bounded by the API',
  '(at most 96 slots, `maxAdditional` at most 50).',
  '',
].join('\n');

function writeSection(text: string): void {
  const current = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const start = current.search(/^## Capacity book\s*$/m);
  let next: string;
  if (start < 0) next = `${current.trimEnd()}\n\n${text}`;
  else {
    const rest = current.slice(start + 1);
    const end = rest.search(/^## /m);
    const after = end < 0 ? '' : `\n${rest.slice(end)}`;
    next = `${current.slice(0, start)}${text}${after}`;
  }
  writeFileSync(DOC, `${next.trimEnd()}\n`);
}
writeSection(section);
console.log(`wrote the Capacity book section of ${DOC.pathname}`);
if (pct(admission.cpu, 99) > TARGET_P99_MS) {
  console.error(`admission CPU p99 ${fmt(pct(admission.cpu, 99))} ms is over the ${TARGET_P99_MS} ms target`);
  process.exitCode = 1;
}
