/**
 * Placement benchmark: times choosePlacement over synthetic fleets of 100, 1,000 and 5,000
 * workers built from a seeded PRNG, prints a table, and rewrites the "## Placement" section of
 * docs/benchmarks.md (the rest of the file is kept). Run: npm run bench:placement
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { choosePlacement, type PlacementCandidate, type PlacementRequest } from '@lcm/shared/fleet';
import type { LicenseType, PodType, WorkerStatus } from '@lcm/shared/kernel';

const SEED = 20250601;
const SIZES = [100, 1_000, 5_000];
const ITERATIONS = 5_000;
const WARMUP = 500;
const TARGET_P99_MS_AT_1000 = 2;
const DOC = new URL('../docs/benchmarks.md', import.meta.url);
/** Session ends are drawn from their own PRNG, so fleets and requests are those of before. */
const END_SEED = SEED ^ 0x5eed;
const END_BASE_MS = Date.parse('2025-06-02T12:00:00.000Z');
const endAt = (minutes: number): string => new Date(END_BASE_MS + minutes * 60_000).toISOString();

/** mulberry32: tiny, fast, good enough for synthetic data, and reproducible from a seed. */
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

type Rand = () => number;
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const weighted = <T>(rand: Rand, items: ReadonlyArray<readonly [T, number]>): T => {
  let r = rand() * items.reduce((s, [, w]) => s + w, 0);
  for (const [item, w] of items) {
    r -= w;
    if (r < 0) return item;
  }
  return items[items.length - 1]![0];
};

/** EC2 shapes a CML fleet might use (cpu, GB RAM, GB disk, max nodes). */
const SHAPES = [
  { cpuCores: 16, memoryGb: 64, storageGb: 200, maxNodes: 20 },
  { cpuCores: 48, memoryGb: 192, storageGb: 1000, maxNodes: 100 },
  { cpuCores: 96, memoryGb: 384, storageGb: 2000, maxNodes: 200 },
  { cpuCores: 96, memoryGb: 768, storageGb: 2000, maxNodes: 250 },
  { cpuCores: 64, memoryGb: 256, storageGb: 0, maxNodes: 120 }, // storage not tracked
] as const;
const AMI_NAMES = [
  'cml-2.8.1-lcm-2025-01',
  'cml-2.9.1-lcm-2025-05',
  'cml-2.9.1-lcm-2025-06',
  'cml-2.10.0-lcm-2025-09',
];

function makeFleet(rand: Rand, size: number): PlacementCandidate[] {
  return Array.from({ length: size }, (_, i) => {
    const shape = pick(rand, SHAPES);
    const fill = rand() < 0.2 ? 0 : rand(); // some empty, the rest partly filled
    const portStart = 2000;
    const portEnd = weighted(rand, [
      [7999, 8],
      [2099, 2],
    ]);
    const amiIndex = Math.floor(rand() * AMI_NAMES.length);
    return {
      id: `w-${String(i).padStart(5, '0')}-${Math.floor(rand() * 1e6).toString(36)}`,
      status: weighted<WorkerStatus>(rand, [
        ['RUNNING', 85],
        ['DRAINING', 5],
        ['STARTING', 4],
        ['STOPPED', 4],
        ['FAILED', 2],
      ]),
      license: {
        type: weighted<LicenseType>(rand, [
          ['ENTERPRISE', 70],
          ['PERSONAL', 20],
          ['EVALUATION', 10],
        ]),
        status: 'REGISTERED',
      },
      podType: weighted<PodType>(rand, [
        ['CML_ON_AWS', 90],
        ['ROC_RADKIT', 5],
        ['PROXMOX', 5],
      ]),
      amiId: `ami-${amiIndex.toString(16).padStart(17, '0')}`,
      amiName: AMI_NAMES[amiIndex]!,
      declaredCapacity: { ...shape },
      allocatedCapacity: {
        cpuCores: Math.round(shape.cpuCores * fill * 10) / 10,
        memoryGb: Math.round(shape.memoryGb * fill * 2) / 2,
        storageGb: Math.round(shape.storageGb * fill),
        maxNodes: Math.floor(shape.maxNodes * fill),
      },
      portRange: { start: portStart, end: portEnd },
      leasedPortCount: Math.floor((portEnd - portStart + 1) * fill * rand()),
    };
  });
}

function makeRequests(rand: Rand, count: number): PlacementRequest[] {
  return Array.from({ length: count }, () => {
    const nodes = 1 + Math.floor(rand() * 12);
    return {
      requirements: {
        cpuCores: Math.round(nodes * (0.5 + rand() * 2) * 10) / 10,
        memoryGb: Math.ceil(nodes * (0.5 + rand() * 4) * 2) / 2,
        storageGb: Math.ceil(nodes * rand() * 8),
        nodeCount: nodes,
      },
      licenseAffinity: weighted<LicenseType[]>(rand, [
        [[], 5],
        [['ENTERPRISE'], 4],
        [['ENTERPRISE', 'EVALUATION'], 1],
      ]),
      podType: weighted<PodType>(rand, [
        ['CML_ON_AWS', 95],
        ['PROXMOX', 5],
      ]),
      amiRequirement: weighted<string | undefined>(rand, [
        [undefined, 5],
        ['cml-2.9.*', 3],
        ['cml-2.?.1-lcm-*', 1],
        ['ami-00000000000000001', 1],
      ]),
      portsNeeded: Math.floor(rand() * nodes * 2),
    };
  });
}

const quantile = (sorted: Float64Array, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

interface Row {
  workers: number;
  iterations: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
  placedPct: number;
}

/**
 * Workers holding sessions get a latest session end 0–6 h ahead (quarter hours), requests a
 * session end 1–4 h ahead (half hours), so the end-time alignment term is computed as in production.
 */
function withEnds(
  size: number,
  fleet: PlacementCandidate[],
  requests: PlacementRequest[],
): [PlacementCandidate[], PlacementRequest[]] {
  const rand = prng(END_SEED + size);
  return [
    fleet.map((w) =>
      w.allocatedCapacity.memoryGb > 0 ? { ...w, latestSessionEnd: endAt(15 * Math.floor(rand() * 25)) } : w,
    ),
    requests.map((r) => ({ ...r, sessionEnd: endAt(60 + 30 * Math.floor(rand() * 7)) })),
  ];
}

function run(size: number): Row {
  const rand = prng(SEED + size);
  const [fleet, requests] = withEnds(size, makeFleet(rand, size), makeRequests(rand, 256));
  let placed = 0;
  for (let i = 0; i < WARMUP; i++) choosePlacement(requests[i % requests.length]!, fleet);
  const samples = new Float64Array(ITERATIONS);
  for (let i = 0; i < ITERATIONS; i++) {
    const req = requests[i % requests.length]!;
    const t0 = process.hrtime.bigint();
    const result = choosePlacement(req, fleet);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    if (result.placed) placed++;
  }
  const sorted = samples.slice().sort();
  return {
    workers: size,
    iterations: ITERATIONS,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1]!,
    mean: samples.reduce((s, v) => s + v, 0) / samples.length,
    placedPct: (placed / ITERATIONS) * 100,
  };
}

const ms = (v: number): string => v.toFixed(3);

function markdownSection(rows: Row[]): string {
  const at1000 = rows.find((r) => r.workers === 1_000);
  const verdict =
    at1000 === undefined
      ? ''
      : `Target: p99 <= ${TARGET_P99_MS_AT_1000} ms at 1,000 workers — measured ${ms(at1000.p99)} ms (${
          at1000.p99 <= TARGET_P99_MS_AT_1000 ? 'met' : 'NOT met'
        }).`;
  return [
    '## Placement',
    '',
    '`choosePlacement` (packages/shared/src/fleet/rules/placement.ts) over synthetic fleets; produced by',
    '`npm run bench:placement` (bench/placement.bench.ts), which rewrites this section only.',
    '',
    `Fleets from a seeded PRNG (seed ${SEED}): ${SHAPES.length} EC2 shapes, 85 % RUNNING (the rest draining,`,
    'starting, stopped or failed), 70/20/10 % enterprise/personal/evaluation licences, 90 % CML_ON_AWS,',
    `4 AMI names, 20 % empty and the rest partly filled, two port-range sizes. ${ITERATIONS} timed calls per`,
    `size (after ${WARMUP} warm-up calls) cycling through 256 requests (1–12 nodes, mixed affinity, AMI globs,`,
    'pod types); each call timed alone with `process.hrtime.bigint()`. Every request carries a session',
    'end (1–4 h ahead) and every worker holding sessions a latest session end (0–6 h ahead), so the',
    'end-time alignment term (one ISO parse per eligible worker) is in every timed call. It costs',
    'about +0.02 ms at p50 for 1,000 workers (one-off interleaved run of the code before and after it:',
    '0.047 → 0.069 ms).',
    '',
    '| workers | iterations | p50 (ms) | p99 (ms) | max (ms) | mean (ms) | placed |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.workers.toLocaleString('en-US')} | ${r.iterations} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${ms(
          r.mean,
        )} | ${r.placedPct.toFixed(0)} % |`,
    ),
    '',
    verdict,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} (${
      cpus().length
    } cores, load average ${LOAD_AT_START.toFixed(1)} at the start: p99 and max are sensitive to it).`,
    '',
  ].join('\n');
}

/** Replaces the "## Placement" section (up to the next "## " heading) or appends it. */
function writeSection(section: string): void {
  const current = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const start = current.search(/^## Placement\s*$/m);
  let next: string;
  if (start === -1) {
    next = `${current.trimEnd()}\n\n${section}`;
  } else {
    const rest = current.slice(start + 1);
    const end = rest.search(/^## /m);
    const after = end === -1 ? '' : `\n${rest.slice(end)}`;
    next = `${current.slice(0, start)}${section}${after}`;
  }
  writeFileSync(DOC, `${next.trimEnd()}\n`);
}

const LOAD_AT_START = loadavg()[0] ?? 0;
const rows = SIZES.map(run);
console.table(
  rows.map((r) => ({
    workers: r.workers,
    iterations: r.iterations,
    'p50 ms': ms(r.p50),
    'p99 ms': ms(r.p99),
    'max ms': ms(r.max),
    'mean ms': ms(r.mean),
    placed: `${r.placedPct.toFixed(0)} %`,
  })),
);
writeSection(markdownSection(rows));
console.log(`wrote the Placement section of ${DOC.pathname}`);
const at1000 = rows.find((r) => r.workers === 1_000)!;
if (at1000.p99 > TARGET_P99_MS_AT_1000) {
  console.error(`p99 at 1,000 workers is ${ms(at1000.p99)} ms, above the ${TARGET_P99_MS_AT_1000} ms target`);
  process.exitCode = 1;
}
