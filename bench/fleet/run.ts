/**
 * Fleet benchmark (issue 10, item 7): the five policies on realistic worlds (world.ts) over
 * several seeds, with production's code and timing (sim.ts), against the per-instant integer and
 * LP bounds (bounds.ts), plus the offline optimum of an excerpt (offline.ts). Prints the
 * tables, writes bench/results/fleet.json (one object per policy) and docs/img/fleet-cost.svg, and
 * rewrites the "## Fleet" section of docs/benchmarks.md (the rest of the file is kept).
 *
 * Run: npm run bench:fleet. FLEET_SEEDS=1,2 (default: the ten WORLD_SEEDS) and FLEET_WEEKS (default
 * 2: the scheduled baseline learns from the first week) size the run; FLEET_OFFLINE=0 skips the offline optimum, FLEET_OFFLINE_SECONDS (default 300) limits its solve.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { DEFAULT_FLEET_CONFIG, DEFAULT_SCALING_CONFIG } from '@lcm/shared/fleet';
import { DEFAULT_LIFECYCLE_CONFIG } from '@lcm/shared/sessions';
import { perInstantBounds } from './bounds.ts';
import { offlineOptimum } from './offline.ts';
import {
  DEFAULT_SIM_OPTIONS,
  POLICIES,
  type PolicyName,
  type PolicyResult,
  simDemandIntervals,
  simulate,
} from './sim.ts';
import { CML_SMALL_SHAPES, cmlTemplates, PRICE_REGION, PRICES_AS_OF } from './templates.ts';
import { DEFAULT_WORLD_OPTIONS, generateWorld, WORLD_SEEDS, type World, type WorldOptions } from './world.ts';

const DOC = new URL('../../docs/benchmarks.md', import.meta.url);
const SVG = new URL('../../docs/img/fleet-cost.svg', import.meta.url);
const RESULTS_DIR = new URL('../results/', import.meta.url);
const RESULTS = new URL('fleet.json', RESULTS_DIR);
const GOAL_RATIO = 1.25;
const GOAL_ON_TIME = 0.995;
const HEADROOM_CANDIDATES = [1, 2, 4, 8];

const seeds = (process.env.FLEET_SEEDS ?? WORLD_SEEDS.join(','))
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n));
const weeks = Number(process.env.FLEET_WEEKS ?? 2);
const began = performance.now();

interface SeedRun {
  seed: number;
  world: World;
  integer: number;
  lp: number;
  results: Map<string, PolicyResult>;
}

const runs: SeedRun[] = [];
for (const seed of seeds) {
  const world = generateWorld({ seed, weeks });
  const b = await perInstantBounds(simDemandIntervals(world), world.templates);
  const results = new Map<string, PolicyResult>();
  for (const p of POLICIES) if (p !== 'reactive-headroom') results.set(p, simulate(world, p));
  runs.push({ seed, world, integer: b.integer.cost, lp: b.fractional.cost, results });
  const lcm = results.get('lcm')!;
  console.log(
    `seed ${seed}: ${world.reservations.length} sessions, integer bound $${b.integer.cost.toFixed(0)}, LCM ${(lcm.cost / b.integer.cost).toFixed(3)}× ${(lcm.onTimeShare * 100).toFixed(2)} % on time`,
  );
}

// reactive-headroom: the smallest N of the candidates whose mean on-time share reaches the goal
// on the first three seeds (else the best of them), then run on every seed.
const probe = runs.slice(0, 3);
let headroom = HEADROOM_CANDIDATES[HEADROOM_CANDIDATES.length - 1]!;
const headroomProbe: Array<{ n: number; onTime: number; ratio: number }> = [];
for (const n of HEADROOM_CANDIDATES) {
  const rs = probe.map((r) => simulate(r.world, 'reactive-headroom', { headroomHosts: n }));
  const onTime = rs.reduce((s, r) => s + r.onTimeShare, 0) / rs.length;
  const ratio = rs.reduce((s, r, i) => s + r.cost / probe[i]!.integer, 0) / rs.length;
  headroomProbe.push({ n, onTime, ratio });
  console.log(`reactive-headroom N=${n}: ${(onTime * 100).toFixed(2)} % on time, ${ratio.toFixed(3)}×`);
  if (onTime >= GOAL_ON_TIME) {
    headroom = n;
    break;
  }
}
if (!headroomProbe.some((h) => h.onTime >= GOAL_ON_TIME)) {
  headroom = headroomProbe.reduce((a, b) => (b.onTime > a.onTime ? b : a)).n;
}
for (const r of runs)
  r.results.set('reactive-headroom', simulate(r.world, 'reactive-headroom', { headroomHosts: headroom }));

// ---- statistics over seeds ----
/** Mean and the half-width of a 95 % interval (Student t). */
function stats(xs: readonly number[]): { mean: number; lo: number; hi: number } {
  const n = xs.length;
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { mean, lo: mean, hi: mean };
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const T = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  ];
  const t = T[n - 2] ?? 1.96;
  const h = (t * sd) / Math.sqrt(n);
  return { mean, lo: mean - h, hi: mean + h };
}
const round = (n: number, d: number): number => Math.round(n * 10 ** d) / 10 ** d;

const ORDER: PolicyName[] = ['one-per-session', 'reactive', 'reactive-headroom', 'scheduled', 'lcm'];
const rows = ORDER.map((policy) => {
  const rs = runs.map((r) => r.results.get(policy)!);
  const of = (f: (r: PolicyResult, i: number) => number) => stats(rs.map(f));
  return {
    policy,
    rs,
    cost: of((r) => r.cost),
    ratio: of((r, i) => r.cost / runs[i]!.integer),
    ratioLp: of((r, i) => r.cost / runs[i]!.lp),
    onTime: of((r) => r.onTimeShare),
    p95: of((r) => r.p95LatenessMinutes),
    max: of((r) => r.maxLatenessMinutes),
    launches: of((r) => r.launches + r.warmStarts),
    failedLaunches: of((r) => r.failedLaunches),
    drains: of((r) => r.drains),
    transitions: of((r) => r.stateTransitions),
    late: of((r) => r.late),
    failed: of((r) => r.failed),
    hostHours: of((r) => r.hostHours),
  };
});
const rowOf = (p: PolicyName) => rows.find((r) => r.policy === p)!;

// ---- offline optimum of an excerpt ----
/** Sessions starting in [from, to) minutes of the first run's world: a busy working morning (Tuesday 06:00–14:00 UTC). */
const OFFLINE_WINDOW = { from: 1440 + 6 * 60, to: 1440 + 14 * 60 };
const OFFLINE_SECONDS = Number(process.env.FLEET_OFFLINE_SECONDS ?? 300);
let offline:
  | {
      seed: number;
      window: { from: number; to: number };
      timeLimitSeconds: number;
      sessions: number;
      cost: number;
      upCost: number;
      bootCost: number;
      dualBound: number;
      gap: number;
      status: string;
      gridIntegerBound: number;
      integer: number;
      lp: number;
      lcm: number;
      hostsUsed: Record<string, number>;
    }
  | undefined;
if (process.env.FLEET_OFFLINE !== '0') {
  const w = runs[0]!.world;
  const excerpt: World = {
    ...w,
    reservations: w.reservations.filter((r) => r.start >= OFFLINE_WINDOW.from && r.start < OFFLINE_WINDOW.to),
  };
  const intervals = simDemandIntervals(excerpt);
  const b = await perInstantBounds(intervals, excerpt.templates);
  // Without the x ≤ y rows per slot: with them HiGHS did not finish the root relaxation in minutes.
  const opt = await offlineOptimum(intervals, excerpt.templates, {
    timeLimitSeconds: OFFLINE_SECONDS,
    linkingRows: false,
  });
  const lcm = simulate(excerpt, 'lcm');
  offline = {
    seed: runs[0]!.seed,
    window: OFFLINE_WINDOW,
    timeLimitSeconds: OFFLINE_SECONDS,
    sessions: excerpt.reservations.length,
    cost: opt.cost,
    upCost: opt.upCost,
    bootCost: opt.bootCost,
    dualBound: opt.dualBound,
    gap: opt.mipGap,
    status: opt.status,
    gridIntegerBound: opt.gridIntegerBound,
    integer: b.integer.cost,
    lp: b.fractional.cost,
    lcm: lcm.cost,
    hostsUsed: opt.hostsUsed,
  };
  console.log('offline optimum of an excerpt', offline);
}

// ---- results file ----
mkdirSync(RESULTS_DIR, { recursive: true });
const interval = (s: { lo: number; hi: number }, d: number) => [round(s.lo, d), round(s.hi, d)];
const json = rows.map((r) => ({
  policy: r.policy,
  seeds,
  weeks,
  cost: round(r.cost.mean, 2),
  costInterval95: interval(r.cost, 2),
  costRatio: round(r.ratio.mean, 4),
  costRatioInterval95: interval(r.ratio, 4),
  costRatioLp: round(r.ratioLp.mean, 4),
  costRatioLpInterval95: interval(r.ratioLp, 4),
  integerBoundCost: round(stats(runs.map((x) => x.integer)).mean, 2),
  lpBoundCost: round(stats(runs.map((x) => x.lp)).mean, 2),
  onTimeShare: round(r.onTime.mean, 5),
  onTimeShareInterval95: interval(r.onTime, 5),
  p95LatenessMinutes: round(r.p95.mean, 2),
  maxLatenessMinutes: round(r.max.mean, 2),
  late: round(r.late.mean, 1),
  failed: round(r.failed.mean, 1),
  launches: round(r.launches.mean, 1),
  failedLaunches: round(r.failedLaunches.mean, 1),
  drains: round(r.drains.mean, 1),
  stateTransitions: round(r.transitions.mean, 0),
  hostHours: round(r.hostHours.mean, 1),
  /** Shares of the policy's cost over all seeds, by what the billed hosts were doing (sim.ts costBreakdown). */
  costShares: Object.fromEntries(
    Object.keys(r.rs[0]!.costBreakdown).map((k) => [
      k,
      round(
        r.rs.reduce((s, x) => s + x.costBreakdown[k as keyof PolicyResult['costBreakdown']], 0) /
          r.rs.reduce((s, x) => s + x.cost, 0),
        4,
      ),
    ]),
  ),
  ...(r.policy === 'reactive-headroom' ? { headroomHosts: headroom } : {}),
  perSeed: r.rs.map((x, i) => ({
    seed: runs[i]!.seed,
    cost: round(x.cost, 2),
    costRatio: round(x.cost / runs[i]!.integer, 4),
    onTimeShare: round(x.onTimeShare, 5),
  })),
}));
writeFileSync(RESULTS, `${JSON.stringify(json, null, 2)}\n`);
if (offline)
  writeFileSync(new URL('fleet-offline.json', RESULTS_DIR), `${JSON.stringify(offline, null, 2)}\n`);

// ---- chart: cost ratio (integer bound) against on-time share, one point per policy and seed ----
function chart(): string {
  const W = 640;
  const H = 360;
  const m = { l: 60, r: 150, t: 20, b: 45 };
  const pts = rows.flatMap((r) =>
    r.rs.map((x, i) => ({ p: r.policy, x: x.onTimeShare, y: x.cost / runs[i]!.integer })),
  );
  const xMin = Math.min(0.8, ...pts.map((p) => p.x));
  const yMax = Math.max(2, ...pts.map((p) => p.y)) * 1.05;
  const X = (v: number) => m.l + ((v - xMin) / (1 - xMin)) * (W - m.l - m.r);
  const Y = (v: number) => H - m.b - ((v - 1) / (yMax - 1)) * (H - m.t - m.b);
  const colour: Record<string, string> = {
    'one-per-session': '#999999',
    reactive: '#e69f00',
    'reactive-headroom': '#d55e00',
    scheduled: '#56b4e9',
    lcm: '#009e73',
  };
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    '<title>Fleet cost against the per-instant integer bound and on-time share, per policy (mean over the seeds)</title>',
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">READY by timeslot start (share of sessions)</text>`,
    `<text x="15" y="${(m.t + H - m.b) / 2}" transform="rotate(-90 15 ${(m.t + H - m.b) / 2})" text-anchor="middle">cost / integer bound</text>`,
    `<line x1="${X(GOAL_ON_TIME)}" y1="${m.t}" x2="${X(GOAL_ON_TIME)}" y2="${H - m.b}" stroke="#bbb" stroke-dasharray="4"/>`,
    `<line x1="${m.l}" y1="${Y(GOAL_RATIO)}" x2="${W - m.r}" y2="${Y(GOAL_RATIO)}" stroke="#bbb" stroke-dasharray="4"/>`,
  ];
  for (let v = Math.ceil(xMin * 20) / 20; v <= 1.0001; v += 0.05)
    out.push(`<text x="${X(v)}" y="${H - m.b + 15}" text-anchor="middle">${(v * 100).toFixed(0)} %</text>`);
  for (let v = 1; v <= yMax; v += 0.5)
    out.push(`<text x="${m.l - 6}" y="${Y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
  for (const p of pts)
    out.push(
      `<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="3.5" fill="${colour[p.p]}" fill-opacity="0.8"/>`,
    );
  ORDER.forEach((p, i) => {
    out.push(`<circle cx="${W - m.r + 15}" cy="${m.t + 10 + i * 18}" r="4" fill="${colour[p]}"/>`);
    out.push(`<text x="${W - m.r + 25}" y="${m.t + 14 + i * 18}">${p}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
mkdirSync(new URL('.', SVG), { recursive: true });
writeFileSync(SVG, chart());

// ---- sensitivity: what limits LCM (first three seeds, LCM only) ----
// Each variant changes one thing about the world and runs LCM against that world's own bounds.
// FLEET_SENSITIVITY=0 skips them.
interface Sensitivity {
  name: string;
  what: string;
  ratio: number;
  onTime: number;
  unusedShare: number;
}
const sensitivity: Sensitivity[] = [];
if (process.env.FLEET_SENSITIVITY !== '0') {
  const variants: Array<{ name: string; what: string; options: Partial<WorldOptions> }> = [
    {
      name: 'kind world',
      what: 'no cancellations, no-shows, early finishes or failed boots',
      options: { cancelShare: 0, noShowShare: 0, earlyFinishShare: 0, bootFailureShare: 0 },
    },
    {
      name: 'node budget ×3',
      what: "every template's maxNodes tripled, so no lab is held back by its node count",
      options: {
        templates: cmlTemplates().map((t) => ({
          ...t,
          capacity: { ...t.capacity, maxNodes: 3 * t.capacity.maxNodes },
        })),
      },
    },
    {
      name: 'smaller hosts',
      what: `${CML_SMALL_SHAPES.map((s) => `${s.template.name} (${s.template.instanceType})`).join(' and ')} enabled too`,
      options: {
        templates: [...cmlTemplates(), ...CML_SMALL_SHAPES.map((s) => structuredClone(s.template))],
      },
    },
  ];
  for (const v of variants) {
    const rs: Array<{ ratio: number; onTime: number; unused: number }> = [];
    for (const r of runs.slice(0, 3)) {
      const world = generateWorld({ seed: r.seed, weeks, ...v.options });
      const bound = await perInstantBounds(simDemandIntervals(world), world.templates);
      const res = simulate(world, 'lcm');
      rs.push({
        ratio: res.cost / bound.integer.cost,
        onTime: res.onTimeShare,
        unused: res.costBreakdown.unusedOnBusy / res.cost,
      });
    }
    const mean = (f: (x: (typeof rs)[number]) => number) => rs.reduce((s, x) => s + f(x), 0) / rs.length;
    sensitivity.push({
      name: v.name,
      what: v.what,
      ratio: mean((x) => x.ratio),
      onTime: mean((x) => x.onTime),
      unusedShare: mean((x) => x.unused),
    });
    console.log(
      `sensitivity ${v.name}: ${mean((x) => x.ratio).toFixed(3)}× ${(mean((x) => x.onTime) * 100).toFixed(2)} % on time`,
    );
  }
}

// ---- docs section ----
const pct = (n: number, d = 2): string => `${(n * 100).toFixed(d)} %`;
const usd = (n: number): string => `$${Math.round(n).toLocaleString('en-US')}`;
const ci = (s: { mean: number; lo: number; hi: number }, f: (n: number) => string): string =>
  `${f(s.mean)} (${f(s.lo)}–${f(s.hi)})`;
const fx3 = (n: number) => n.toFixed(3);
const lcm = rowOf('lcm');
const onTimeBaselines = rows.filter((r) => r.policy !== 'lcm' && r.onTime.mean >= 0.99);
const cheaperThanBaselines = onTimeBaselines.every((r) => lcm.cost.mean < r.cost.mean);
const ratioMet = lcm.ratio.mean <= GOAL_RATIO;
const onTimeMet = lcm.onTime.mean >= GOAL_ON_TIME;
const lcmRuns = lcm.rs;
const sum = (f: (r: PolicyResult) => number) => lcmRuns.reduce((s, r) => s + f(r), 0);
const b = {
  busy: sum((r) => r.costBreakdown.busy),
  unused: sum((r) => r.costBreakdown.unusedOnBusy),
  idle: sum((r) => r.costBreakdown.idle),
  booting: sum((r) => r.costBreakdown.booting),
  draining: sum((r) => r.costBreakdown.draining),
  all: sum((r) => r.cost),
};
const lateShort = sum((r) => r.lateShortNotice);
const lateAll = sum((r) => r.late);
const split = {
  idleBeforeFirst: sum((r) => r.costBreakdown.idleBeforeFirst),
  idleAfterLast: sum((r) => r.costBreakdown.idleAfterLast),
  heldByNoShows: sum((r) => r.costBreakdown.heldByNoShows),
  failedBoots: sum((r) => r.costBreakdown.failedBoots),
};
const lateByKind = new Map<string, number>();
for (const r of lcmRuns)
  for (const l of r.lateSessions) lateByKind.set(l.kind ?? '?', (lateByKind.get(l.kind ?? '?') ?? 0) + 1);
const lateKinds = [...lateByKind].sort((a, b) => b[1] - a[1]);
// What LCM would cost with no unused room at all, as multiples of the integer bound.
const perBound = lcm.ratio.mean / b.all;
const floor = {
  inUse: (b.busy - b.unused - split.heldByNoShows) * perBound,
  noShows: split.heldByNoShows * perBound,
  booting: b.booting * perBound,
  idle: (b.idle + b.draining) * perBound,
  total: 0,
};
floor.total = floor.inUse + floor.noShows + floor.booting + floor.idle;
const boundShare = stats(runs.map((r, i) => r.integer / lcmRuns[i]!.cost)).mean;
const o = DEFAULT_SIM_OPTIONS;
const lc = DEFAULT_LIFECYCLE_CONFIG;
const c = DEFAULT_SCALING_CONFIG;
const wo = DEFAULT_WORLD_OPTIONS;
const w0 = runs[0]!.world;
const tmpl = w0.templates
  .map(
    (t) =>
      `${t.name} (${t.instanceType}, ${t.capacity.cpuCores} vCPU / ${t.capacity.memoryGb} GiB, $${t.costPerHourUsd}/h)`,
  )
  .join(', ');
const totalWallS = (performance.now() - began) / 1000;

const section = [
  '## Fleet',
  '',
  'Produced by `npm run bench:fleet` (bench/fleet/run.ts), which rewrites this section only and writes',
  'bench/results/fleet.json and docs/img/fleet-cost.svg. A discrete-event simulation on a virtual',
  'clock (1-minute steps) that drives the real `planScaleUp` / `planScaleDown`, `choosePlacement`,',
  '`newWorkerFromTemplate` and the transition tables, with production timing read from the same',
  'objects production reads (test/unit/fleet-timing.test.ts fails if they diverge):',
  `\`DEFAULT_LIFECYCLE_CONFIG\` (placement window ${lc.placementLeadSeconds / 60} min before the slot via \`placementWindowOpensAt\`,`,
  `retry backoff ${lc.placementRetryBaseSeconds} s doubling to ${lc.placementRetryMaxSeconds} s but never past the instantiation due time, then a quarter of the lateness (\`placementRetryDelaySeconds\`), instantiation from ${lc.instantiateLeadSeconds / 60} min before the slot, no-shows ended NO_SHOW ${lc.noShowAfterSeconds / 60} min after the start (\`loginDeadlineMs\`)), \`DEFAULT_FLEET_CONFIG\``,
  `(a host not ready within its template's boot minutes + ${DEFAULT_FLEET_CONFIG.cmlReadyMarginMinutes} min ends FAILED, terminated), the scalers'`,
  `schedules from functions/catalogue.ts (scale-up every ${o.scaleUpEveryMinutes} min, scale-down every ${o.scaleDownEveryMinutes} min) and`,
  "`DEFAULT_SCALING_CONFIG`; the planners get each template's observed boot (production's `observedBootSeconds`: p95 of its last",
  `${o.bootSamples} boots, the template's figure filling the sample up to 3) as \`bootSeconds\`, and scale-up does not count a launch past that time as supply (\`overdueBoots\`). A lab takes ${o.instantiateMinutes} min to import and start`,
  `and ${o.teardownMinutes} min to tear down.`,
  '',
  `**World** (bench/fleet/world.ts; ${seeds.length} seeds, ${weeks} weeks each, about ${Math.round(stats(runs.map((r) => r.world.reservations.length)).mean)} sessions per seed): two time zones`,
  '(Europe/Paris 55 %, America/New_York 45 %, local working days), class cohorts of',
  `${wo.cohortSize.join('–')} booked ${wo.cohortLeadDays.join('–')} days ahead, individual bookings, walk-in bursts booked ${wo.walkInLeadMinutes.join('–')} min ahead; ${pct(wo.cancelShare, 0)}`,
  `cancellations (${pct(wo.lastHourCancelShare, 0)} of them within the last hour), ${pct(wo.noShowShare, 0)} no-shows (their lab is READY at the start and runs to`,
  `the login deadline), a third of learners end ${wo.earlyFinishFraction.map((f) => f * 100).join('–')} % early. Boots lognormal, median`,
  `${wo.bootMedianMinutes} min, p95 ${wo.bootP95Minutes} min; ${pct(wo.bootFailureShare, 0)} of boots never become ready; one InsufficientInstanceCapacity episode`,
  `(${wo.capacityEpisodeHours.join('–')} h) on ${wo.capacityEpisodeTemplate}, during which a launch falls back to the next-cheapest template that holds as`,
  `much (issue 10, item 5). Templates (on-demand Linux, ${PRICE_REGION}, prices as of ${PRICES_AS_OF}; CML-capable: bare metal`,
  `or nested virtualisation): ${tmpl}.`,
  '',
  '**Bounds** (bench/fleet/bounds.ts, HiGHS): for each instant, the cheapest integer mix of enabled',
  'templates covering all four dimensions of its demand (solved exactly, once per distinct demand',
  "vector), and its LP relaxation; integrated over time. A session's demand spans its instantiation",
  `(${o.instantiateMinutes} min) before the slot to its teardown after the learner ends it; a cancelled booking holds nothing, a`,
  'no-show holds until its start. No policy can pay less than the integer bound.',
  '',
  '**Policies.** *one-per-session*: a host of the cheapest fitting template per session, launched',
  'when it enters the look-ahead window. *reactive*: the planners see a session only once its',
  'placement failed (cluster-autoscaler style). *reactive-headroom*: reactive plus N spare empty',
  `hosts (running or booting) of the best memory-per-dollar template, never drained; N = ${headroom} (the`,
  `smallest of ${HEADROOM_CANDIDATES.join(', ')} reaching ${pct(GOAL_ON_TIME, 1)} on time on the first three seeds, else the best). *scheduled*: a fixed`,
  "fleet size per hour of the week, the previous week's peak (whole hosts of the best template; the",
  'first week uses its own peak), launched one boot + margin ahead, drained when empty above the',
  `target. *lcm*: the planners with \`DEFAULT_SCALING_CONFIG\` (margin ${c.lookAheadMarginMinutes} min, idle ${c.scaleDownIdleMinutes} min, grace ${c.postLaunchGraceMinutes} min, freed room counted ${c.freedRoomLeadMinutes} min after a booked end).`,
  '',
  `Mean over ${seeds.length} seeds, 95 % interval in brackets (Student t); lateness = READY − slot start, a`,
  'session that never became READY counts its whole slot; state transitions = session status',
  'changes + 3 per placement attempt (task, choice, wait).',
  '',
  '| policy | cost | cost / integer bound | cost / LP bound | READY on time | lateness p95 / max (min) | launches | failed launches | drains | state transitions |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.policy}${r.policy === 'reactive-headroom' ? ` (N = ${headroom})` : ''} | ${ci(r.cost, usd)} | ${ci(r.ratio, fx3)} | ${ci(r.ratioLp, fx3)} | ${ci(r.onTime, (n) => pct(n))} | ${r.p95.mean.toFixed(1)} / ${r.max.mean.toFixed(0)} | ${r.launches.mean.toFixed(0)} | ${r.failedLaunches.mean.toFixed(0)} | ${r.drains.mean.toFixed(0)} | ${Math.round(r.transitions.mean).toLocaleString('en-US')} |`,
  ),
  '',
  `Integer bound ${usd(stats(runs.map((r) => r.integer)).mean)}, LP bound ${usd(stats(runs.map((r) => r.lp)).mean)} (means). ![cost against on-time share](img/fleet-cost.svg)`,
  '',
  `**Goal** (issue 10): LCM ≥ ${pct(GOAL_ON_TIME, 1)} READY by the slot start — measured ${pct(lcm.onTime.mean)} (${onTimeMet ? 'met' : 'missed'}); ≤ ${GOAL_RATIO}× the`,
  `integer bound — ${fx3(lcm.ratio.mean)}× (${ratioMet ? 'met' : 'missed'}); cheaper than every baseline reaching 99 % on time —`,
  onTimeBaselines.length === 0
    ? 'no baseline reaches 99 % on time.'
    : `${onTimeBaselines.map((r) => `${r.policy} ${usd(r.cost.mean)}`).join(', ')} (${cheaperThanBaselines ? 'met' : 'missed'}).`,
  '',
  `**Where LCM's cost goes** (all seeds; shares of its cost). Hosts with sessions ${pct(b.busy / b.all, 1)}: of it, room left`,
  `unused in the host's most used dimension ${pct(b.unused / b.all, 1)} and capacity held by no-shows until the login deadline`,
  `${pct(split.heldByNoShows / b.all, 1)}, so capacity in use ${pct((b.busy - b.unused - split.heldByNoShows) / b.all, 1)}. Empty running hosts ${pct(b.idle / b.all, 1)}`,
  `(before their first session ${pct(split.idleBeforeFirst / b.all, 1)}: a host is launched a boot plus the margin ahead and placement`,
  `comes ${lc.placementLeadSeconds / 60} min before the slot; after their last ${pct(split.idleAfterLast / b.all, 1)}: the idle threshold and the 5-min scale-down period).`,
  `Booting ${pct(b.booting / b.all, 1)} (of it boots that never became ready ${pct(split.failedBoots / b.all, 1)}), draining ${pct(b.draining / b.all, 1)}.`,
  `The integer bound is ${pct(boundShare, 1)} of LCM's cost.`,
  '',
  `**What limits LCM.** The bound repacks every instant onto the cheapest mix, mostly large bare-metal hosts`,
  '(cml-m5-metal holds these labs for about 10 % less per unit than m8i), and holds a session only from 5 min',
  'before its start; LCM cannot move a running lab, so room freed by early finishes and staggered ends stays',
  'stranded on hosts kept up by other sessions (the unused room above), it prefers small m8i hosts because large',
  'ones strand more, and a placed session holds its share from placement (15 min before the slot) while the',
  `bound counts only the last 5 of them. Without any unused room at all LCM would still cost ${fx3(floor.total)}× the integer`,
  `bound: capacity in use at the templates it runs ${fx3(floor.inUse)}×, no-shows ${fx3(floor.noShows)}×, boots ${fx3(floor.booting)}×, empty`,
  `and draining hosts ${fx3(floor.idle)}× (the launch margin that keeps ${pct(GOAL_ON_TIME, 1)} on time, the idle threshold). So`,
  floor.total >= GOAL_RATIO
    ? `better packing alone cannot bring LCM to ${GOAL_RATIO}×: its other costs already exceed it. The other levers trade against`
    : `a packer with LCM's timing and templates has ${pct((GOAL_RATIO - floor.total) / lcm.ratio.mean, 1)} of its cost left for stranding under ${GOAL_RATIO}×, against ${pct(b.unused / b.all, 1)} measured. The other levers trade against`,
  'stranding or the on-time share: large hosts are cheaper per unit but strand more, a shorter launch margin leaves more',
  'sessions late (docs/architecture.md, the scaler defaults); stranded room could only be recovered by moving running',
  'labs, and CML cannot move a running lab between hosts.',
  `Of the ${lateAll} late sessions ${lateKinds.map(([k, n]) => `${n} ${k}`).join(', ')}; ${lateShort}`,
  'were booked less than the look-ahead window ahead, where only room on running hosts can serve them on time.',
  ...(sensitivity.length === 0
    ? []
    : [
        '',
        `**Sensitivity** (LCM on the first three seeds, each world against its own bounds; baseline on the same seeds ${fx3(stats(lcmRuns.slice(0, 3).map((r, i) => r.cost / runs[i]!.integer)).mean)}×):`,
        '',
        '| world | what changes | cost / integer bound | READY on time | unused room (share of cost) |',
        '|---|---|---:|---:|---:|',
        ...sensitivity.map(
          (x) => `| ${x.name} | ${x.what} | ${fx3(x.ratio)} | ${pct(x.onTime)} | ${pct(x.unusedShare, 1)} |`,
        ),
        '',
        `${
          sensitivity.every((x) => x.ratio > GOAL_RATIO)
            ? `None of them brings LCM to ${GOAL_RATIO}× (best ${fx3(Math.min(...sensitivity.map((x) => x.ratio)))}×)`
            : `${sensitivity
                .filter((x) => x.ratio <= GOAL_RATIO)
                .map((x) => x.name)
                .join(', ')} reach ${GOAL_RATIO}×`
        }; the unused room stays`,
        `${pct(Math.min(...sensitivity.map((x) => x.unusedShare)), 0)}–${pct(Math.max(...sensitivity.map((x) => x.unusedShare)), 0)} of the cost: sessions of different lengths start and end at different times on every host.`,
      ]),
  '',
  !offline
    ? ''
    : `**Offline optimum** (bench/fleet/offline.ts, HiGHS MILP, 15-min slots, boots billed at each template's figure; bench/results/fleet-offline.json): the ${offline.sessions} sessions of seed ${offline.seed} starting Tuesday 06:00–14:00 UTC, what a clairvoyant packer that knows every session and its real end in advance, and boots every host exactly on time, would pay when labs cannot move. ` +
      (offline.gap <= 0.01
        ? `${usd(offline.cost)} (${offline.status}, MIP gap ${pct(offline.gap, 1)}): ${fx3(offline.cost / offline.integer)}× the integer bound of the same sessions (${usd(offline.integer)}; LP ${usd(offline.lp)}); LCM pays ${usd(offline.lcm)} (${fx3(offline.lcm / offline.integer)}×).`
        : `HiGHS stopped after ${offline.timeLimitSeconds} s (${offline.status}) with its best schedule at ${usd(offline.cost)} (hosts up ${usd(offline.upCost)}, boots ${usd(offline.bootCost)}; ${Object.entries(
            offline.hostsUsed,
          )
            .map(([t, n]) => `${n} × ${t}`)
            .join(
              ', ',
            )}) and a proven lower bound of ${usd(offline.dualBound)} (gap ${pct(offline.gap, 1)}): the clairvoyant optimum of these sessions lies between ${fx3(offline.dualBound / offline.integer)}× and ${fx3(offline.cost / offline.integer)}× their integer bound (${usd(offline.integer)}; LP ${usd(offline.lp)}). Part of the lower end is the model's coarseness, not packing: on its 15-min grid a session holds every slot it touches, which alone lifts the integer bound to ${usd(offline.gridIntegerBound)} (${fx3(offline.gridIntegerBound / offline.integer)}×). LCM pays ${usd(offline.lcm)} on the same sessions (${fx3(offline.lcm / offline.integer)}×), ${offline.lcm > offline.cost ? `${pct(offline.lcm / offline.cost - 1, 0)} more than the best clairvoyant schedule found` : "no more than the best schedule HiGHS found within its time limit (a schedule the gap shows to be far from optimal; the time-limited search varies from run to run with the machine's load)"}. A longer solve (\`FLEET_OFFLINE_SECONDS\`) narrows the range; this run does not decide whether 1.25× is reachable by a packer that cannot move labs.`),
  '',
  `reactive-headroom probe (first three seeds): ${headroomProbe.map((h) => `N = ${h.n}: ${pct(h.onTime)} on time, ${fx3(h.ratio)}×`).join('; ')}.`,
  '',
  `Whole run ${totalWallS.toFixed(0)} s, load average ${loadavg()[0]!.toFixed(1)} at the end. Measured ${new Date().toISOString().slice(0, 10)} on Node ${process.version}, ${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${cpus().length} cores).`,
  '',
].join('\n');

/** Replaces the "## Fleet" section (up to the next "## " heading) or appends it. */
function writeSection(text: string): void {
  const current = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const start = current.search(/^## Fleet\s*$/m);
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
writeSection(section);

console.table(
  rows.map((r) => ({
    policy: r.policy,
    cost: Math.round(r.cost.mean),
    ratio: fx3(r.ratio.mean),
    ratioLp: fx3(r.ratioLp.mean),
    onTime: pct(r.onTime.mean),
    p95: r.p95.mean.toFixed(1),
    max: r.max.mean.toFixed(0),
    launches: Math.round(r.launches.mean),
    failedLaunches: Math.round(r.failedLaunches.mean),
  })),
);
console.log(
  `goal: ratio ${fx3(lcm.ratio.mean)} (<= ${GOAL_RATIO}: ${ratioMet ? 'met' : 'missed'}), on time ${pct(lcm.onTime.mean)} (>= ${pct(GOAL_ON_TIME, 1)}: ${onTimeMet ? 'met' : 'missed'})`,
);
console.log(
  `wrote ${RESULTS.pathname}, ${SVG.pathname} and the Fleet section of ${DOC.pathname} in ${totalWallS.toFixed(0)} s`,
);

// Walk-in traffic with and without hot-start pools (issue 15, item 3): bench/fleet/pools.ts, its own
// section of docs/benchmarks.md. FLEET_POOLS=0 skips it.
if (process.env.FLEET_POOLS !== '0') (await import('./pools.ts')).runPoolBench(seeds, weeks);
