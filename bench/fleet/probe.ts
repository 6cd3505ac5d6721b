/**
 * Quick iteration aid for the fleet policy (not the benchmark): LCM alone on a few seeds, with the
 * cost split of sim.ts. Run: FLEET_SEEDS=1,2,3 npx tsx bench/fleet/probe.ts; FLEET_CONFIG overrides
 * scaling settings (e.g. '{"scaleDownIdleMinutes":0}'), FLEET_SIM simulator options (e.g.
 * '{"scaleDownEveryMinutes":1}').
 */
import { DEFAULT_SCALING_CONFIG } from '@lcm/shared/fleet';
import { perInstantBounds } from './bounds.ts';
import { type PolicyName, simDemandIntervals, simulate } from './sim.ts';
import { generateWorld } from './world.ts';

const seeds = (process.env.FLEET_SEEDS ?? '1,2,3').split(',').map(Number);
const weeks = Number(process.env.FLEET_WEEKS ?? 2);
const policy = (process.env.FLEET_POLICY ?? 'lcm') as PolicyName;
let sumRatio = 0;
let sumOnTime = 0;
for (const seed of seeds) {
  const world = generateWorld({ seed, weeks });
  const b = await perInstantBounds(simDemandIntervals(world), world.templates);
  const r = simulate(world, policy, {
    config: { ...DEFAULT_SCALING_CONFIG, ...JSON.parse(process.env.FLEET_CONFIG ?? '{}') },
    ...JSON.parse(process.env.FLEET_SIM ?? '{}'),
  });
  const ratio = r.cost / b.integer.cost;
  sumRatio += ratio;
  sumOnTime += r.onTimeShare;
  const pct = (x: number) => `${((100 * x) / r.runningCost).toFixed(1)}%`;
  const cb = r.costBreakdown as Record<string, number>;
  console.log(
    `seed ${seed}: ${ratio.toFixed(3)}x ${(r.onTimeShare * 100).toFixed(2)}% late ${r.late} (short ${r.lateShortNotice}) launches ${r.launches} failed ${r.failedLaunches} ${(r.wallMs / 1000).toFixed(0)}s`,
  );
  console.log(
    `  ${Object.entries(cb)
      .map(([k, v]) => `${k} ${pct(v)}`)
      .join(', ')}`,
  );
  console.log(`  ${JSON.stringify(r.hostHoursByTemplate)}`);
  if (process.env.FLEET_LATE)
    console.log(r.lateSessions.map((l) => `${l.kind}:${l.leadMinutes}→${l.latenessMinutes}`).join(' '));
}
console.log(
  `mean ${(sumRatio / seeds.length).toFixed(3)}x ${((sumOnTime / seeds.length) * 100).toFixed(2)}%`,
);
