/**
 * Walk-in traffic with and without hot-start pools (issue 15, item 3): the walk-in bookings of the
 * fleet benchmark's worlds (world.ts: bursts of bookings that start minutes after they are made),
 * served once by booting each lab at booking and once from pools of `POOL_DEPTH` converged labs per
 * definition, claimed and refilled with production's pure rules (sessions/rules/pools.ts:
 * `mayClaim`, `claimCandidates`, and `poolCost` for what the pools cost). Reports the READY latency
 * (booking → READY: median and p95) and the pools' cost.
 *
 * The model, and what it leaves out: a lab boots in a lognormal time (median LAB_BOOT_MEDIAN_MIN,
 * p95 LAB_BOOT_P95_MIN: an assumption about CML lab boots, not a measurement); the control path
 * (placement or claim, LDS, the workflow's steps) takes CONTROL_SECONDS, the READY latency measured
 * against `npm start` for a claimed lab (test/e2e/pools.test.ts); a claimed lab is refilled at the
 * next reconciler run (every minute) and is READY a lab boot later; hosts always have room (the
 * fleet simulation of sim.ts measures the hosts; this measures the labs); a pooled lab is charged its
 * capacity share of the cheapest template that holds its definition for every hour it is pooled.
 *
 * Run by `npm run bench:fleet` after the fleet policies (FLEET_POOLS=0 skips it); alone:
 * `npx tsx bench/fleet/pools.ts`. Writes bench/results/fleet-pools.json and the "## Hot-start pools"
 * section of docs/benchmarks.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { capacityShare } from '@lcm/shared/fleet';
import { fits, type PooledLab, requirementsAsCapacity, ZERO_CAPACITY } from '@lcm/shared/kernel';
import { claimCandidates, mayClaim, poolCost } from '@lcm/shared/sessions';
import { prng, subSeed } from './trace.ts';
import { generateWorld, lognormalFromMedianP95, WORLD_SEEDS, type World } from './world.ts';

export const POOL_DEPTH = 2;
/** The pool depths compared (per definition). */
export const POOL_DEPTHS = [POOL_DEPTH, 8] as const;
export const LAB_BOOT_MEDIAN_MIN = 4;
export const LAB_BOOT_P95_MIN = 10;
/** Booking → READY of a claimed lab against `npm start` (test/e2e/pools.test.ts: 2.4 s). */
export const CONTROL_SECONDS = 2.4;
const RECONCILE_EVERY_S = 60;
/** What the workflow gives a lab to boot before its slot (DEFAULT_LIFECYCLE_CONFIG.instantiateLeadSeconds). */
const INSTANTIATE_LEAD_S = 600;
/** When the placement window opens before the slot (DEFAULT_LIFECYCLE_CONFIG.placementLeadSeconds). */
const PLACEMENT_LEAD_S = 900;
const MIN = 60_000;

export interface WalkInResult {
  mode: 'without-pools' | 'with-pools';
  depth: number;
  walkIns: number;
  /** Walk-ins whose slot starts within the instantiate lead when they are placed ("for now"). */
  forNow: number;
  fromPool: number;
  /** READY after the slot start (0 when READY before it), seconds: all walk-ins. */
  medianReadySeconds: number;
  p95ReadySeconds: number;
  /** Booking → READY of the walk-ins for now, seconds. */
  medianReadySecondsForNow: number;
  p95ReadySecondsForNow: number;
  poolCostUsd: number;
  poolLabHours: number;
  weeks: number;
}

const quantile = (xs: readonly number[], q: number): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};

function bootSampler(seed: number): () => number {
  const rand = prng(subSeed(seed, 9151));
  const { mu, sigma } = lognormalFromMedianP95(LAB_BOOT_MEDIAN_MIN * 60, LAB_BOOT_P95_MIN * 60);
  return () => {
    const u1 = Math.max(rand(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rand());
    return Math.exp(mu + sigma * z);
  };
}

/** One world's walk-ins, served without pools and with pools of `depth` labs per definition. */
export function walkInsOf(world: World, depth = POOL_DEPTH): WalkInResult[] {
  const epoch = Date.parse(world.epoch);
  const walkIns = world.reservations
    .filter((r) => 'kind' in r && r.kind === 'walk-in' && r.cancelledAt === undefined && r.bookedAt >= 0)
    .sort((a, b) => a.bookedAt - b.bookedAt);
  const horizonMs = world.weeks * 7 * 24 * 60 * MIN;

  // As the session workflow does: placed when its placement window opens (or at booking, later),
  // the lab started when the instantiate lead begins (or at placement, later); a walk-in whose slot
  // starts within the instantiate lead at placement may claim a pooled lab instead.
  type WalkIn = (typeof walkIns)[number];
  const placeAt = (w: WalkIn) => Math.max(w.bookedAt * MIN, w.start * MIN - PLACEMENT_LEAD_S * 1000);
  const order = [...walkIns].sort((a, b) => placeAt(a) - placeAt(b));
  const waitOf = (w: WalkIn, readyMs: number) => ({
    wait: Math.max(0, (readyMs - w.start * MIN) / 1000),
    latency: (readyMs - w.bookedAt * MIN) / 1000,
  });
  const bootedReady = (w: WalkIn, bootS: number) =>
    Math.max(placeAt(w), w.start * MIN - INSTANTIATE_LEAD_S * 1000) + (bootS + CONTROL_SECONDS) * 1000;
  const nowLike = (w: WalkIn) => w.start * MIN - placeAt(w) <= INSTANTIATE_LEAD_S * 1000;

  // Without pools: every walk-in's lab boots.
  const coldBoot = bootSampler(world.seed);
  const cold = order.map((w) => ({ now: nowLike(w), ...waitOf(w, bootedReady(w, coldBoot())) }));

  // With pools: each definition keeps `depth` READY labs; a walk-in claims the longest-ready one.
  const boot = bootSampler(world.seed);
  const defIds = [...new Set(walkIns.map((w) => w.definitionId))];
  const labs: PooledLab[] = [];
  let n = 0;
  const newLab = (definitionId: string, placedAt: number, readyAt: number): PooledLab => {
    const def = world.definitions.find((d) => d.id === definitionId)!;
    return {
      id: `pool-${n++}`,
      definitionId,
      definitionVersion: 1,
      status: readyAt <= placedAt ? 'READY' : 'BOOTING',
      requirements: def.requirements,
      licenseAffinity: [],
      podType: 'CML_ON_AWS',
      portTemplate: def.portTemplate,
      workerId: `host-${definitionId}`,
      allocatedPorts: {},
      placedAt: new Date(epoch + placedAt).toISOString(),
      readyAt: new Date(epoch + readyAt).toISOString(),
      createdAt: new Date(epoch + placedAt).toISOString(),
      updatedAt: new Date(epoch + placedAt).toISOString(),
      version: 0,
    };
  };
  for (const id of defIds) for (let i = 0; i < depth; i++) labs.push(newLab(id, 0, 0));
  const warm: Array<{ now: boolean; wait: number; latency: number }> = [];
  let fromPool = 0;
  for (const w of order) {
    const at = placeAt(w);
    const session = {
      status: 'PENDING' as const,
      definitionId: w.definitionId,
      definitionVersion: 1,
      timeslot: {
        start: new Date(epoch + w.start * MIN).toISOString(),
        end: new Date(epoch + w.end * MIN).toISOString(),
      },
    };
    // Labs whose boot ended by now are READY.
    for (const l of labs)
      if (l.status === 'BOOTING' && Date.parse(l.readyAt!) <= epoch + at) l.status = 'READY';
    const [lab] = mayClaim(session, epoch + at, INSTANTIATE_LEAD_S) ? claimCandidates(session, labs) : [];
    if (!lab) {
      warm.push({ now: nowLike(w), ...waitOf(w, bootedReady(w, boot())) });
      continue;
    }
    fromPool++;
    warm.push({ now: nowLike(w), ...waitOf(w, at + CONTROL_SECONDS * 1000) });
    lab.status = 'CLAIMED';
    lab.endedAt = new Date(epoch + at).toISOString();
    // Refilled at the next reconciler run, READY a lab boot later.
    const placed = at + (RECONCILE_EVERY_S - ((at / 1000) % RECONCILE_EVERY_S)) * 1000;
    labs.push(newLab(w.definitionId, placed, placed + boot() * 1000));
  }
  // What the pools held: each definition's labs on the cheapest template that holds it, while pooled.
  const workers = new Map(
    defIds.map((id) => {
      const need = requirementsAsCapacity(world.definitions.find((d) => d.id === id)!.requirements);
      const t = [...world.templates]
        .filter((x) => fits(x.capacity, ZERO_CAPACITY, need))
        .sort((a, b) => a.costPerHourUsd - b.costPerHourUsd)[0]!;
      return [
        `host-${id}`,
        {
          id: `host-${id}`,
          declared: t.capacity,
          runningPerHourUsd: t.costPerHourUsd,
          periods: [{ start: epoch, end: epoch + horizonMs, status: 'RUNNING' as const }],
        },
      ];
    }),
  );
  const cost = poolCost(
    labs,
    workers,
    (need, declared) => capacityShare(requirementsAsCapacity(need), declared),
    { start: epoch, end: epoch + horizonMs },
    epoch + horizonMs,
  );
  const row = (
    mode: WalkInResult['mode'],
    xs: Array<{ now: boolean; wait: number; latency: number }>,
    pooled: number,
    usd: number,
    hours: number,
  ): WalkInResult => {
    const all = xs.map((x) => x.wait);
    const now = xs.filter((x) => x.now).map((x) => x.latency);
    return {
      mode,
      depth: mode === 'with-pools' ? depth : 0,
      walkIns: xs.length,
      forNow: now.length,
      fromPool: pooled,
      medianReadySeconds: quantile(all, 0.5),
      p95ReadySeconds: quantile(all, 0.95),
      medianReadySecondsForNow: quantile(now, 0.5),
      p95ReadySecondsForNow: quantile(now, 0.95),
      poolCostUsd: usd,
      poolLabHours: hours,
      weeks: world.weeks,
    };
  };
  return [
    row('without-pools', cold, 0, 0, 0),
    row('with-pools', warm, fromPool, cost.costUsd, cost.labHours),
  ];
}

const DOC = new URL('../../docs/benchmarks.md', import.meta.url);
const RESULTS_DIR = new URL('../results/', import.meta.url);
const RESULTS = new URL('fleet-pools.json', RESULTS_DIR);
const HEADING = '## Hot-start pools (walk-ins)';

/** Runs the walk-in comparison on the given seeds, prints it, writes the results and the doc section. */
export function runPoolBench(seeds: readonly number[], weeks: number): void {
  const worlds = seeds.map((seed) => generateWorld({ seed, weeks }));
  const perSeed = worlds.map((world) => ({
    seed: world.seed,
    rows: [
      ...walkInsOf(world, POOL_DEPTHS[0]),
      ...POOL_DEPTHS.slice(1).flatMap((d) => walkInsOf(world, d).filter((r) => r.mode === 'with-pools')),
    ],
  }));
  const mean = (depth: number, f: (r: WalkInResult) => number) =>
    perSeed.reduce((s, p) => s + f(p.rows.find((r) => r.depth === depth)!), 0) / perSeed.length;
  const summary = [0, ...POOL_DEPTHS].map((depth) => ({
    mode: depth === 0 ? 'without pools' : `with pools (depth ${depth})`,
    depth,
    walkInsPerSeed: Math.round(mean(depth, (r) => r.walkIns)),
    fromPoolShare: mean(depth, (r) => r.fromPool / Math.max(1, r.walkIns)),
    medianReadySeconds: mean(depth, (r) => r.medianReadySeconds),
    p95ReadySeconds: mean(depth, (r) => r.p95ReadySeconds),
    forNowPerSeed: Math.round(mean(depth, (r) => r.forNow)),
    medianForNow: mean(depth, (r) => r.medianReadySecondsForNow),
    p95ForNow: mean(depth, (r) => r.p95ReadySecondsForNow),
    poolCostUsdPerWeek: mean(depth, (r) => r.poolCostUsd / r.weeks),
    poolLabHoursPerWeek: mean(depth, (r) => r.poolLabHours / r.weeks),
  }));
  console.table(
    summary.map((s) => ({
      mode: s.mode,
      walkIns: s.walkInsPerSeed,
      fromPool: `${(s.fromPoolShare * 100).toFixed(1)} %`,
      'READY p50 s': s.medianReadySeconds.toFixed(1),
      'READY p95 s': s.p95ReadySeconds.toFixed(1),
      'for now p50 s': s.medianForNow.toFixed(1),
      'for now p95 s': s.p95ForNow.toFixed(1),
      'pool $/week': s.poolCostUsdPerWeek.toFixed(2),
    })),
  );
  if (!existsSync(RESULTS_DIR)) mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(
    RESULTS,
    `${JSON.stringify({ depths: POOL_DEPTHS, labBoot: { medianMin: LAB_BOOT_MEDIAN_MIN, p95Min: LAB_BOOT_P95_MIN }, controlSeconds: CONTROL_SECONDS, seeds, weeks, summary, perSeed }, null, 2)}\n`,
  );
  const rows = summary
    .map((s) =>
      s.depth === 0
        ? `| ${s.mode} | — | ${s.medianReadySeconds.toFixed(0)} s | ${s.p95ReadySeconds.toFixed(0)} s | ${s.medianForNow.toFixed(0)} s | ${s.p95ForNow.toFixed(0)} s | — | — |`
        : `| ${s.mode} | ${(s.fromPoolShare * 100).toFixed(1)} % | ${s.medianReadySeconds.toFixed(0)} s | ${s.p95ReadySeconds.toFixed(0)} s | ${s.medianForNow.toFixed(1)} s | ${s.p95ForNow.toFixed(0)} s | $${s.poolCostUsdPerWeek.toFixed(0)} | ${s.poolLabHoursPerWeek.toFixed(0)} |`,
    )
    .join('\n');
  const section = `${HEADING}

\`npm run bench:fleet\` ends with the walk-ins of its worlds (${seeds.length} seed${seeds.length === 1 ? '' : 's'},
${weeks} week${weeks === 1 ? '' : 's'} each; about ${summary[0]!.walkInsPerSeed} walk-ins per seed, bookings in bursts that start
minutes after they are made) served without pools and with pools of ${POOL_DEPTHS.join(' or ')} converged labs per
definition (\`bench/fleet/pools.ts\`, production's \`mayClaim\`, \`claimCandidates\` and \`poolCost\`; means over the
seeds). READY latency is how long after its slot start a walk-in's lab is READY (0 when before), modelled on the
session workflow: placed when its placement window opens (15 min before the slot) or at booking, the lab started
10 min before the slot or at placement, or — for a walk-in whose slot starts within those 10 min at placement, one
"for now" (about ${summary[0]!.forNowPerSeed} per seed) — a pooled lab claimed; for those the table also gives booking → READY. Assumed: a CML lab boots in a lognormal time, median
${LAB_BOOT_MEDIAN_MIN} min, p95 ${LAB_BOOT_P95_MIN} min (not measured: the simulators boot in about a second); the control
path takes ${CONTROL_SECONDS} s (a claim measured against \`npm start\`, \`test/e2e/pools.test.ts\`); a claimed lab is
refilled at the next reconciler minute plus a lab boot; hosts always have room (the fleet table above measures
hosts). A pool is charged its labs' capacity share of the cheapest template that holds them, for every pooled
hour. A walk-in booked 10 or more minutes ahead is READY before its slot either way; the pools serve those for now.

| mode | served from a pool | READY after slot start, p50 | p95 | for now, booking → READY: p50 | p95 | pool cost per week | pooled lab-hours per week |
|---|---|---|---|---|---|---|---|
${rows}

Results: \`bench/results/fleet-pools.json\`.
`;
  const current = readFileSync(DOC, 'utf8');
  const at = current.indexOf(HEADING);
  let next: string;
  if (at < 0) next = `${current.trimEnd()}\n\n${section}`;
  else {
    const rest = current.slice(at + HEADING.length);
    const end = rest.search(/^## /m);
    next = `${current.slice(0, at)}${section}${end < 0 ? '' : `\n${rest.slice(end)}`}`;
  }
  writeFileSync(DOC, `${next.trimEnd()}\n`);
  console.log(`wrote ${RESULTS.pathname} and the "${HEADING}" section of ${DOC.pathname}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const seeds = (process.env.FLEET_SEEDS ?? WORLD_SEEDS.join(','))
    .split(',')
    .map(Number)
    .filter(Number.isInteger);
  runPoolBench(seeds, Number(process.env.FLEET_WEEKS ?? 2));
}
