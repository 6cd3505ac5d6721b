/**
 * Fleet benchmark: runs the one-host-per-session, reactive and LCM policies side by side on the
 * default seeded trace, then a few LCM sensitivity runs; prints comparison tables, writes
 * bench/results/fleet.json (one object per policy) and rewrites the "## Fleet" section of
 * docs/benchmarks.md (the rest of the file is kept). Run: npm run bench:fleet
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { DEFAULT_SCALING_CONFIG, type ScalingConfig } from '@lcm/shared/domain/scaling';
import { DEFAULT_SIM_OPTIONS, POLICIES, type PolicyResult, type SimOptions, simulate } from './sim.ts';
import { DEFAULT_TRACE_OPTIONS, generateTrace, type Trace } from './trace.ts';

const DOC = new URL('../../docs/benchmarks.md', import.meta.url);
const RESULTS_DIR = new URL('../results/', import.meta.url);
const RESULTS = new URL('fleet.json', RESULTS_DIR);
const GOAL_RATIO = 1.15;
const GOAL_ON_TIME = 0.995;

const began = performance.now();
const trace = generateTrace();
const sessions = trace.reservations.length;
const cohorts = new Set(trace.reservations.map((r) => r.cohort).filter(Boolean)).size;
const shortNotice = trace.reservations.filter((r) => r.start - r.bookedAt < 60).length;
console.log(
  `trace: ${sessions} sessions (${cohorts} cohorts) over ${trace.weeks} weeks, seed ${trace.seed}; ${shortNotice} booked < 1 h ahead`,
);

const results = POLICIES.map((p) => simulate(trace, p, p === 'lcm' ? { timelineEveryMinutes: 10 } : {}));

/** Weekday utilisation of the running fleet (allocated ÷ running memory) within UTC hours [from, to). */
function utilisation(r: PolicyResult, from: number, to: number): number {
  let alloc = 0;
  let run = 0;
  for (const p of r.timeline ?? []) {
    const day = Math.floor(p.minute / 1440) % 7;
    const hour = Math.floor((p.minute % 1440) / 60);
    const inRange = from <= to ? hour >= from && hour < to : hour >= from || hour < to;
    if (day < 5 && inRange) {
      alloc += p.allocatedMemoryGb;
      run += p.runningMemoryGb;
    }
  }
  return run === 0 ? 0 : alloc / run;
}

const usd = (n: number): string => `$${Math.round(n).toLocaleString('en-US')}`;
const pct = (n: number): string => `${(n * 100).toFixed(2)} %`;
const fx = (n: number, d = 2): string => n.toFixed(d);

function policyTable(rows: readonly PolicyResult[]): string[] {
  const out = [
    '| policy | host-hours | cost | lower bound | cost / bound | READY on time | late (short notice) | lateness p50 / p95 / max (min) | launches | drains | peak hosts | wall ms / sim. week |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.policy} | ${Math.round(r.hostHours).toLocaleString('en-US')} | ${usd(r.cost)} | ${usd(r.lowerBoundCost)} | ${fx(r.costRatio, 3)} | ${pct(r.onTimeShare)} | ${r.late} (${r.lateShortNotice}) | ${r.p50LatenessMinutes} / ${r.p95LatenessMinutes} / ${r.maxLatenessMinutes} | ${r.launches + r.warmStarts} | ${r.drains} | ${r.peakHosts} | ${Math.round(r.wallMsPerSimulatedWeek)} |`,
    );
  }
  return out;
}

function printTable(title: string, rows: ReadonlyArray<Record<string, string | number>>): void {
  console.log(`\n${title}`);
  console.table(rows);
}

printTable(
  'policies on the default trace',
  results.map((r) => ({
    policy: r.policy,
    hostHours: Math.round(r.hostHours),
    cost: Math.round(r.cost),
    lowerBound: Math.round(r.lowerBoundCost),
    ratio: fx(r.costRatio, 3),
    onTime: pct(r.onTimeShare),
    late: r.late,
    p95: r.p95LatenessMinutes,
    max: r.maxLatenessMinutes,
    launches: r.launches,
    warmStarts: r.warmStarts,
    drains: r.drains,
    msPerWeek: Math.round(r.wallMsPerSimulatedWeek),
  })),
);

// ---- LCM sensitivity: one change at a time against the shipped defaults ----
interface Variant {
  name: string;
  trace: Trace;
  config?: Partial<ScalingConfig>;
  sim?: Partial<SimOptions>;
}
const onlyTemplate = (name: string): Trace => ({
  ...trace,
  templates: trace.templates.map((t) => ({ ...t, enabled: t.name === name })),
});
const variants: Variant[] = [
  { name: 'shipped defaults', trace },
  { name: 'warmStoppedPerTemplate 1', trace, config: { warmStoppedPerTemplate: 1 } },
  { name: 'scaleDownIdleMinutes 10', trace, config: { scaleDownIdleMinutes: 10 } },
  { name: 'lookAheadMarginMinutes 5', trace, config: { lookAheadMarginMinutes: 5 } },
  { name: 'boot 15–20 min (uniform)', trace, sim: { bootJitterMinutes: 5 } },
  {
    name: 'boot 15–20 min, lookAheadMarginMinutes 5',
    trace,
    config: { lookAheadMarginMinutes: 5 },
    sim: { bootJitterMinutes: 5 },
  },
  { name: 'only cml-96 enabled', trace: onlyTemplate('cml-96') },
  { name: 'only cml-32 enabled', trace: onlyTemplate('cml-32') },
  ...[11, 22, 33].map((seed) => ({ name: `trace seed ${seed}`, trace: generateTrace({ seed }) })),
];
const sensitivity = variants.map((v) => ({
  name: v.name,
  r:
    v.name === 'shipped defaults'
      ? results.find((r) => r.policy === 'lcm')!
      : simulate(v.trace, 'lcm', { ...v.sim, config: { ...DEFAULT_SCALING_CONFIG, ...v.config } }),
}));
printTable(
  'LCM sensitivity',
  sensitivity.map(({ name, r }) => ({
    variant: name,
    ratio: fx(r.costRatio, 3),
    onTime: pct(r.onTimeShare),
    late: r.late,
    unusedShare: pct(r.costBreakdown.unusedOnBusy / r.cost),
  })),
);

// ---- results file ----
mkdirSync(RESULTS_DIR, { recursive: true });
const json = results.map((r) => ({
  policy: r.policy,
  sessions: r.sessions,
  hostHours: round(r.hostHours, 2),
  cost: round(r.cost, 2),
  runningCost: round(r.runningCost, 2),
  ebsCost: round(r.ebsCost, 2),
  lowerBoundCost: round(r.lowerBoundCost, 2),
  lowerBoundHostHours: round(r.lowerBoundHostHours, 2),
  costRatio: round(r.costRatio, 4),
  timeslotLowerBoundCost: round(r.timeslotLowerBoundCost, 2),
  costRatioToTimeslots: round(r.costRatioToTimeslots, 4),
  onTimeShare: round(r.onTimeShare, 5),
  late: r.late,
  lateShortNotice: r.lateShortNotice,
  failed: r.failed,
  p50LatenessMinutes: r.p50LatenessMinutes,
  p95LatenessMinutes: r.p95LatenessMinutes,
  maxLatenessMinutes: r.maxLatenessMinutes,
  launches: r.launches,
  warmStarts: r.warmStarts,
  drains: r.drains,
  stoppedTerminations: r.stoppedTerminations,
  peakHosts: r.peakHosts,
  hostHoursByTemplate: Object.fromEntries(
    Object.entries(r.hostHoursByTemplate).map(([k, v]) => [k, round(v, 2)]),
  ),
  costBreakdown: Object.fromEntries(Object.entries(r.costBreakdown).map(([k, v]) => [k, round(v, 2)])),
  simulatedWeeks: r.simulatedWeeks,
  wallMsPerSimulatedWeek: round(r.wallMsPerSimulatedWeek, 1),
}));
writeFileSync(RESULTS, `${JSON.stringify(json, null, 2)}\n`);

function round(n: number, d: number): number {
  const f = 10 ** d;
  return Math.round(n * f) / f;
}

// ---- docs section ----
const lcm = results.find((r) => r.policy === 'lcm')!;
const reactive = results.find((r) => r.policy === 'reactive')!;
const ratioMet = lcm.costRatio <= GOAL_RATIO;
const onTimeMet = lcm.onTimeShare >= GOAL_ON_TIME;
const o = DEFAULT_SIM_OPTIONS;
const c = DEFAULT_SCALING_CONFIG;
const b = lcm.costBreakdown;
const tmpl = trace.templates
  .map(
    (t) =>
      `${t.name} (${t.instanceType}, ${t.capacity.cpuCores} cores / ${t.capacity.memoryGb} GB, $${t.costPerHourUsd}/h)`,
  )
  .join(', ');
const defs = trace.definitions
  .map((d) => `${d.id} ${d.requirements.cpuCores}/${d.requirements.memoryGb} GB`)
  .join(', ');
const totalWallS = (performance.now() - began) / 1000;

const section = [
  '## Fleet',
  '',
  'Fleet simulator (bench/fleet: trace.ts, sim.ts, lower-bound.ts); produced by `npm run bench:fleet`',
  '(bench/fleet/run.ts), which rewrites this section only and writes bench/results/fleet.json. A',
  'discrete-event simulation on a virtual clock (1-minute resolution) that drives the real',
  '`planScaleUp` / `planScaleDown` (packages/shared/src/domain/scaling.ts), `choosePlacement`, the',
  'capacity arithmetic, `newWorkerFromTemplate` and the transition tables (every simulated status',
  'change is checked against them).',
  '',
  `**Trace** (seed ${trace.seed}, ${trace.weeks} weeks from Monday ${trace.epoch.slice(0, 10)}): ${sessions} sessions.`,
  `Weekdays: ${DEFAULT_TRACE_OPTIONS.cohortsPerWeekday.join('–')} class cohorts of ${DEFAULT_TRACE_OPTIONS.cohortSize.join('–')} sessions (one definition, one start on`,
  'the half hour, 2–4 h, booked 1–14 days ahead) and',
  `${DEFAULT_TRACE_OPTIONS.individualsPerWeekday.join('–')} individual bookings (quarter-hour starts, 1–4 h; booked 1–10 days ahead 65 %, 1–24 h`,
  `ahead 25 %, 15–60 min ahead 10 %); weekends ${DEFAULT_TRACE_OPTIONS.weekendShare * 100} % of the individual volume. Two working-hours`,
  'waves (EMEA starts 07:00–17:00 UTC, Americas 13:00–23:00 UTC). Definitions (cores/memory):',
  `${defs}. Templates (illustrative us-east-1 on-demand prices, 15-min boot): ${tmpl}.`,
  '',
  `**Model.** A session's workflow starts placing ${o.placeLeadMinutes} min before its timeslot and retries every`,
  `minute; instantiation takes ${o.instantiateMinutes} min and starts ${o.instantiateMinutes} min before the timeslot (or on placement if later);`,
  'the session is READY when it finishes; the learner uses the whole slot; teardown holds the',
  `capacity ${o.teardownMinutes} min. It gives up (NO_CAPACITY) when it could no longer be READY before its slot ends. A`,
  'host costs its hourly price from launch until stopped or terminated; a stopped host costs only its',
  `EBS volume (template storage × $${o.ebsUsdPerGbMonth}/GB-month); a stopped host starts in ${o.warmStartMinutes} min; stop takes ${o.stopMinutes} min,`,
  `terminate ${o.terminateMinutes} min. Scale-up runs every ${o.scaleUpEveryMinutes} min, scale-down every ${o.scaleDownEveryMinutes} min, after the minute's placements,`,
  'which run in a seeded random order (in production they race).',
  '',
  '**Policies.** *one-per-session*: a dedicated host of the cheapest fitting template per session,',
  'launched when the session enters the look-ahead window, terminated after teardown. *reactive*:',
  'the same planners, but they only see a session once it has failed to place (no look-ahead, so',
  'no protection of hosts for upcoming reservations either). *lcm*: the planners with',
  `\`DEFAULT_SCALING_CONFIG\` (look-ahead = 15 min boot + ${c.lookAheadMarginMinutes} min margin, idle ${c.scaleDownIdleMinutes} min, grace ${c.postLaunchGraceMinutes} min, drain`,
  `share ${c.maxDrainShare}, warm pool ${c.warmStoppedPerTemplate} per template, cooldown ${c.cooldownSeconds} s, max ${c.maxConcurrentLaunches} concurrent launches).`,
  '',
  '**Lower bound.** For each instant, per resource: total demand of the sessions ÷ the capacity of',
  'the template with the most of that resource per dollar (cml-96 in every dimension here), rounded',
  "up to whole hosts, times its price; the most demanding resource sets the instant's cost;",
  `integrated over time. A session's demand spans its timeslot plus its ${o.instantiateMinutes}-min instantiation before`,
  `and ${o.teardownMinutes}-min teardown after (a lab must be instantiated on a host before its slot to be READY at the`,
  `start, so no on-time policy can avoid it). Counting timeslots only, the bound is ${usd(lcm.timeslotLowerBoundCost)} and LCM's`,
  `ratio to it ${fx(lcm.costRatioToTimeslots, 3)}. Rounding to whole hosts of the best template also means a smaller`,
  'template can undercut the bound at low load (a night session on cml-32), so for a mixed fleet it',
  'is a yardstick rather than a strict bound. Lateness = READY time − timeslot start (0 when on time).',
  '',
  ...policyTable(results),
  '',
  '"Late (short notice)" counts the late sessions booked less than the look-ahead window',
  '(25 min) before their start. Launches include starts of stopped hosts.',
  '',
  `Goal on the default trace: LCM ≤ ${GOAL_RATIO}× the lower bound with ≥ ${GOAL_ON_TIME * 100} % of sessions READY by their`,
  `timeslot start — measured ${fx(lcm.costRatio, 3)}× (${ratioMet ? 'met' : 'missed'}) and ${pct(lcm.onTimeShare)} (${onTimeMet ? 'met' : 'missed'}). Reactive`,
  `costs ${fx(reactive.costRatio, 3)}× but only ${pct(reactive.onTimeShare)} are on time (p95 lateness ${reactive.p95LatenessMinutes} min); one host per session costs`,
  `${fx(results[0]!.costRatio, 2)}×. Reactive is cheaper than LCM because its late sessions hold capacity for a shorter`,
  'time and nothing is launched before it is needed; the difference is the price of being on time.',
  '',
  `**What limits the ratio.** LCM's running cost splits into hosts with sessions ${usd(b.busy)} (of which`,
  `${usd(b.unusedOnBusy)}, ${pct(b.unusedOnBusy / lcm.cost)} of all cost, is capacity left unused on them in their most used`,
  `resource), empty running hosts ${usd(b.idle)}, booting ${usd(b.booting)} and stopping ${usd(b.draining)}; stopped volumes`,
  `${usd(lcm.ebsCost)}. The unused capacity is stranded: sessions cannot move, placement (MostAllocated) mixes sessions`,
  'with different end times on one host, and as a wave ebbs a few long sessions keep many',
  'part-empty hosts alive (a scale-down may only drain empty hosts). On weekdays the running fleet',
  `is ${pct(utilisation(lcm, 10, 20))} allocated (memory) between 10:00 and 20:00 UTC but ${pct(utilisation(lcm, 22, 2))} between 22:00 and`,
  '02:00 UTC, when the Americas wave ebbs. The planners cannot change where',
  "sessions land; tuning them (template choice, no warm pool, idle time) took the first version's",
  '1.31 to the figure above. What remains needs a placement that is aware of session end times.',
  '',
  'The margin stays at 10 min although 5 is ~2 % cheaper on this trace: the simulated boot is exactly',
  '15 min, and with boots of 15–20 min a 5-min margin leaves a fifth of the sessions late while 10',
  'min (= the placement lead) keeps them on time (rows below).',
  '',
  'LCM sensitivity (one change at a time; the last rows are other trace seeds):',
  '',
  '| variant | cost / bound | READY on time | late | unused capacity share of cost |',
  '|---|---:|---:|---:|---:|',
  ...sensitivity.map(
    ({ name, r }) =>
      `| ${name} | ${fx(r.costRatio, 3)} | ${pct(r.onTimeShare)} | ${r.late} | ${pct(r.costBreakdown.unusedOnBusy / r.cost)} |`,
  ),
  '',
  `Whole run (3 policies + ${variants.length - 1} sensitivity runs) ${totalWallS.toFixed(1)} s. Measured ${new Date().toISOString().slice(0, 10)} on Node ${process.version}, ${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${cpus().length} cores).`,
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

console.log('');
for (const line of policyTable(results)) console.log(line);
console.log(
  `\ngoal: ratio ${fx(lcm.costRatio, 3)} (target <= ${GOAL_RATIO}, ${ratioMet ? 'met' : 'missed'}), on time ${pct(lcm.onTimeShare)} (target >= ${GOAL_ON_TIME * 100} %, ${onTimeMet ? 'met' : 'missed'})`,
);
console.log(
  `wrote ${RESULTS.pathname} and the Fleet section of ${DOC.pathname} in ${totalWallS.toFixed(1)} s`,
);
