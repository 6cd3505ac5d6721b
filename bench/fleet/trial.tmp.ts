import { DEFAULT_FLEET_CONFIG, DEFAULT_SCALING_CONFIG } from '@lcm/shared/fleet';
import { perInstantBounds } from './bounds.ts';
import { simDemandIntervals, simulate } from './sim.ts';
import { generateWorld } from './world.ts';

const world = generateWorld({ seed: Number(process.env.SEED ?? 1), weeks: 2 });
const b = await perInstantBounds(simDemandIntervals(world), world.templates);
for (const v of JSON.parse(process.argv[2]!) as Array<{ c?: object; f?: object }>) {
  const r = simulate(world, 'lcm', {
    config: { ...DEFAULT_SCALING_CONFIG, ...v.c },
    fleet: { ...DEFAULT_FLEET_CONFIG, ...v.f },
  });
  console.log(
    JSON.stringify(v),
    'ratio',
    (r.cost / b.integer.cost).toFixed(3),
    'onTime',
    (r.onTimeShare * 100).toFixed(2),
    'late',
    r.late,
    'short',
    r.lateShortNotice,
    'failedL',
    r.failedLaunches,
    'launches',
    r.launches,
    JSON.stringify(Object.fromEntries(Object.entries(r.costBreakdown).map(([k, x]) => [k, Math.round(x)]))),
  );
}
