import type { Capacity } from '../../../kernel/index.ts';
import {
  addCapacity,
  requirementsAsCapacity,
  subtractCapacity,
  ZERO_CAPACITY,
} from '../../../kernel/index.ts';
import { choosePlacement, type PlacementCandidate, type PlacementRequest } from '../placement.ts';
import {
  IN_FLIGHT,
  parseInstant,
  type ScalingSession,
  type ScalingTemplate,
  type ScalingWorker,
} from './model.ts';

/** Packing: demand onto virtual workers, with choosePlacement deciding every single placement. */

export interface Demand {
  session: ScalingSession;
  req: PlacementRequest;
  need: Capacity;
  startMs: number;
  /** Size relative to the largest enabled template, dominant dimension (for ordering and value). */
  work: number;
  waiting: boolean;
}

/** Room a placed session gives back on its worker at `atMs` (its booked end). */
export interface Release {
  workerId: string;
  atMs: number;
  need: Capacity;
  ports: number;
}

/** Room that frees on the active hosts, and how long before a demand's start it must have freed. */
export interface Releases {
  releases: readonly Release[];
  leadMs: number;
}

export interface Host {
  cand: PlacementCandidate;
  origin: 'running' | 'inFlight' | 'stopped' | 'new';
  workerId?: string | undefined;
  templateName: string;
  template?: ScalingTemplate | undefined;
  sessions: Demand[];
}

const DIMS = ['cpuCores', 'memoryGb', 'storageGb', 'maxNodes'] as const;

export function referenceCapacity(templates: readonly ScalingTemplate[]): Capacity {
  const ref = { ...ZERO_CAPACITY };
  for (const t of templates) for (const d of DIMS) if (t.capacity[d] > ref[d]) ref[d] = t.capacity[d];
  return ref;
}

function workOf(need: Capacity, ref: Capacity): number {
  let w = 0;
  for (const d of DIMS) if (ref[d] > 0 && need[d] / ref[d] > w) w = need[d] / ref[d];
  return w;
}

/** What placement is asked for a session (also the booking admission's request). */
export function placementRequestOf(s: ScalingSession): PlacementRequest {
  return {
    requirements: s.requirements,
    licenseAffinity: s.licenseAffinity ?? [],
    podType: s.podType,
    amiRequirement: s.amiRequirement,
    portsNeeded: s.portTemplate?.length ?? 0,
  };
}

/**
 * PENDING sessions without a worker whose timeslot starts before `horizonMs` and has not ended:
 * the waiting ones (start passed, or a placement attempt already failed) and the upcoming ones.
 * Ordered as the session workflow will place them: by timeslot start, larger first within one
 * start (first-fit decreasing per wave), then by id.
 */
export function collectDemand(
  sessions: readonly ScalingSession[],
  nowMs: number,
  horizonMs: number,
  ref: Capacity,
): Demand[] {
  const out: Demand[] = [];
  for (const s of sessions) {
    if (s.status !== 'PENDING' || s.workerId) continue;
    const startMs = parseInstant(s.timeslot?.start, `sessions.${s.id}.timeslot.start`);
    if (startMs > horizonMs) continue;
    const endMs = parseInstant(s.timeslot.end, `sessions.${s.id}.timeslot.end`);
    if (endMs <= nowMs) continue;
    const need = requirementsAsCapacity(s.requirements);
    const waiting =
      startMs <= nowMs || (s.placementRejections !== undefined && s.placementRejections !== null);
    out.push({ session: s, req: placementRequestOf(s), need, startMs, work: workOf(need, ref), waiting });
  }
  out.sort(demandOrder);
  return out;
}

/**
 * The order demand is packed in (collectDemand's, and the capacity book's): by timeslot start,
 * larger first within one start, then by id.
 */
export const demandOrder = (a: Demand, b: Demand): number =>
  a.startMs - b.startMs ||
  b.work - a.work ||
  (a.session.id < b.session.id ? -1 : a.session.id > b.session.id ? 1 : 0);

function virtualFromWorker(w: ScalingWorker): PlacementCandidate {
  return {
    id: w.id,
    status: 'RUNNING',
    license: w.license,
    podType: w.podType,
    amiId: w.amiId,
    amiName: w.amiName,
    declaredCapacity: w.declaredCapacity,
    allocatedCapacity: { ...w.allocatedCapacity },
    portRange: w.portRange,
    leasedPortCount: w.leasedPortCount ?? 0,
  };
}

/**
 * A fresh worker of `t` as placement would see it once RUNNING. Its AMI name is taken to be the
 * template's name pattern, so a definition's AMI glob matches when it matches that pattern text.
 * Also the booking admission's view of a template (rules/admission.ts).
 */
export function virtualFromTemplate(t: ScalingTemplate, id: string): PlacementCandidate {
  return {
    id,
    status: 'RUNNING',
    license: { type: t.licenseType, status: 'REGISTERED' },
    podType: t.podType,
    amiId: t.amiId,
    amiName: t.amiNamePattern,
    declaredCapacity: t.capacity,
    allocatedCapacity: { ...ZERO_CAPACITY },
    portRange: t.portRange,
    leasedPortCount: 0,
  };
}

function placeOn(host: Host, d: Demand): void {
  host.cand.allocatedCapacity = addCapacity(host.cand.allocatedCapacity, d.need);
  host.cand.leasedPortCount += d.req.portsNeeded;
  host.sessions.push(d);
}

/** Sessions of `queue` (in order) that one fresh host of `t` takes, first fit. */
function fillFresh(t: ScalingTemplate, queue: readonly Demand[]): Demand[] {
  const host: Host = {
    cand: virtualFromTemplate(t, 'probe'),
    origin: 'new',
    templateName: t.name,
    sessions: [],
  };
  const one = [host.cand];
  for (const d of queue) if (choosePlacement(d.req, one).placed) placeOn(host, d);
  return host.sessions;
}

export const byCostThenName = (a: ScalingTemplate, b: ScalingTemplate): number =>
  a.costPerHourUsd - b.costPerHourUsd || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export interface Packing {
  /** STOPPED workers the packing starts, with the sessions it put on them. */
  started: Host[];
  /** New hosts, with their template and sessions. */
  launched: Host[];
  /** Sessions placed on running or in-flight capacity. */
  covered: Demand[];
  /** Sessions left over: nothing can host them (or new hosts were not allowed). */
  unplaced: Demand[];
}

/**
 * Packs `demand` in order. Each session first goes where choosePlacement puts it among the running
 * and in-flight workers, on which the room that `freed` says placed sessions give back at least
 * `leadMs` before its start counts as free (a host emptying before the next wave takes it, instead
 * of a launch). What is left is packed host by host: the contents of the next host are
 * what one fresh host of the template with the most work per dollar takes from the queue (first
 * fit, the queue head always included), and the host gets the cheapest enabled template whose shape
 * fits exactly those contents. A large template thus wins only when the queue nearly fills it;
 * otherwise smaller hosts are launched. That costs a little more at launch than judging templates
 * by how they would serve the whole queue, but smaller hosts strand less capacity when sessions
 * end at different times, and the fleet benchmark measured it ~1 % cheaper overall.
 *
 * Dominated templates are never chosen (issue 10, item 6). A template is left out of the packing
 * when another enabled template is at least as large in every dimension, no dearer and otherwise
 * interchangeable (same license, pod type, AMI, at least as many ports): whatever the first holds
 * the second holds for no more. And a host's contents are launched on the cheapest cover among
 * one host of each template that holds them all and k hosts of one template that hold them
 * between them (first fit, in queue order): when two small hosts hold what one larger host would
 * for less, two small hosts are launched (with cml-48 dearer than 2 × cml-32 enabled next to
 * them, the fleet benchmark's fleet cost 27 % more before this rule).
 *
 * A STOPPED worker that holds the same contents at no higher hourly cost is started instead of
 * that launch (its volume is already paid for and it boots faster); a larger, dearer stopped
 * worker is not started for demand that a cheaper launch serves.
 */
export function pack(
  demand: readonly Demand[],
  active: Host[],
  stopped: Host[],
  templates: readonly ScalingTemplate[],
  allowNew: boolean,
  freed: Releases = { releases: [], leadMs: 0 },
): Packing {
  const activeCands = active.map((h) => h.cand);
  const byId = new Map<string, Host>();
  for (const h of active) byId.set(h.cand.id, h);
  const covered: Demand[] = [];
  let queue: Demand[] = [];
  // Demand comes in start order, so room freed by `lead` before one demand's start is free for
  // every later one too: releases are applied once, as the starts pass them.
  const releases = [...freed.releases].sort((a, b) => a.atMs - b.atMs);
  let next = 0;
  for (const d of demand) {
    while (next < releases.length && releases[next]!.atMs <= d.startMs - freed.leadMs) {
      const r = releases[next++]!;
      const host = byId.get(r.workerId);
      // Room the worker's record does not hold is not counted (a record out of step with its
      // sessions must not make the planner see room that is not there).
      if (host === undefined || DIMS.some((k) => r.need[k] > host.cand.allocatedCapacity[k])) continue;
      host.cand.allocatedCapacity = subtractCapacity(host.cand.allocatedCapacity, r.need);
      host.cand.leasedPortCount = Math.max(0, host.cand.leasedPortCount - r.ports);
    }
    const r = choosePlacement(d.req, activeCands);
    if (r.placed) {
      placeOn(byId.get(r.workerId)!, d);
      covered.push(d);
    } else queue.push(d);
  }

  const started: Host[] = [];
  const launched: Host[] = [];
  const unplaced: Demand[] = [];
  if (!allowNew) return { started, launched, covered, unplaced: queue };

  const enabled = undominated(templates.filter((t) => t.enabled !== false)).sort(byCostThenName);
  const costOf = (h: Host): number => h.template?.costPerHourUsd ?? Number.POSITIVE_INFINITY;
  const stoppedLeft = [...stopped].sort(
    (a, b) => costOf(a) - costOf(b) || (a.cand.id < b.cand.id ? -1 : a.cand.id > b.cand.id ? 1 : 0),
  );
  const holdsAll = (cand: PlacementCandidate, contents: readonly Demand[]): boolean => {
    const probe: Host = {
      cand: { ...cand, allocatedCapacity: { ...cand.allocatedCapacity } },
      origin: 'new',
      templateName: '',
      sessions: [],
    };
    for (const d of contents) {
      if (!choosePlacement(d.req, [probe.cand]).placed) return false;
      placeOn(probe, d);
    }
    return true;
  };

  while (queue.length > 0) {
    const first = queue[0]!;
    let best: { t: ScalingTemplate; contents: Demand[]; value: number } | undefined;
    for (const t of enabled) {
      if (!choosePlacement(first.req, [virtualFromTemplate(t, 'probe')]).placed) continue;
      const contents = fillFresh(t, queue);
      const work = contents.reduce((sum, d) => sum + d.work, 0);
      const value = t.costPerHourUsd > 0 ? work / t.costPerHourUsd : Number.POSITIVE_INFINITY;
      // `enabled` is sorted by cost, so on equal value the cheaper (then smaller name) stays.
      if (best === undefined || value > best.value) best = { t, contents, value };
    }

    let host: Host | undefined;
    let contents: Demand[];
    if (best !== undefined) {
      contents = best.contents;
      for (const part of cheapestCover(contents, enabled, best.t)) {
        const shape = part.t;
        const i = stoppedLeft.findIndex(
          (h) => costOf(h) <= shape.costPerHourUsd && holdsAll(h.cand, part.contents),
        );
        let target: Host;
        if (i >= 0) {
          target = stoppedLeft.splice(i, 1)[0]!;
          started.push(target);
        } else {
          target = {
            cand: virtualFromTemplate(shape, `new-${launched.length + 1}`),
            origin: 'new',
            templateName: shape.name,
            template: shape,
            sessions: [],
          };
          launched.push(target);
        }
        for (const d of part.contents) placeOn(target, d);
      }
      const taken = new Set(contents);
      queue = queue.filter((d) => !taken.has(d));
      continue;
    } else {
      // No template takes the queue head; a stopped worker (e.g. an older AMI) still might.
      const i = stoppedLeft.findIndex((h) => holdsAll(h.cand, [first]));
      if (i < 0) {
        unplaced.push(first);
        queue = queue.slice(1);
        continue;
      }
      host = stoppedLeft.splice(i, 1)[0]!;
      started.push(host);
      const probe: Host = {
        cand: { ...host.cand, allocatedCapacity: { ...host.cand.allocatedCapacity } },
        origin: 'new',
        templateName: '',
        sessions: [],
      };
      for (const d of queue) if (choosePlacement(d.req, [probe.cand]).placed) placeOn(probe, d);
      contents = probe.sessions;
    }
    for (const d of contents) placeOn(host, d);
    const taken = new Set(contents);
    queue = queue.filter((d) => !taken.has(d));
  }
  return { started, launched, covered, unplaced };
}

export function supplyHosts(
  workers: readonly ScalingWorker[],
  enabledByName: ReadonlyMap<string, ScalingTemplate>,
): { active: Host[]; stopped: Host[] } {
  const active: Host[] = [];
  const stopped: Host[] = [];
  for (const w of workers) {
    if (w.status === 'RUNNING' || IN_FLIGHT.has(w.status)) {
      active.push({
        cand: virtualFromWorker(w),
        origin: w.status === 'RUNNING' ? 'running' : 'inFlight',
        workerId: w.id,
        templateName: w.templateName,
        sessions: [],
      });
    } else if (w.status === 'STOPPED' && enabledByName.has(w.templateName)) {
      stopped.push({
        cand: virtualFromWorker(w),
        origin: 'stopped',
        workerId: w.id,
        templateName: w.templateName,
        template: enabledByName.get(w.templateName),
        sessions: [],
      });
    }
  }
  return { active, stopped };
}

/** Whether whatever a fresh host of `b` holds, a fresh host of `a` holds too (same rules, no less room). */
function interchangeableAndLarger(a: ScalingTemplate, b: ScalingTemplate): boolean {
  if (a.licenseType !== b.licenseType || a.podType !== b.podType) return false;
  if (a.amiId !== b.amiId || a.amiNamePattern !== b.amiNamePattern) return false;
  const ports = (t: ScalingTemplate): number => t.portRange.end - t.portRange.start + 1;
  if (ports(a) < ports(b)) return false;
  return DIMS.every((d) => a.capacity[d] >= b.capacity[d]);
}

/**
 * The templates that no other one dominates: `b` is dominated by `a` when `a` holds whatever `b`
 * holds (interchangeableAndLarger) at no higher price; of two equal ones the first by cost and
 * name stays.
 */
export function undominated<T extends ScalingTemplate>(templates: readonly T[]): T[] {
  return templates.filter(
    (b) =>
      !templates.some(
        (a) =>
          a !== b &&
          a.costPerHourUsd <= b.costPerHourUsd &&
          interchangeableAndLarger(a, b) &&
          (a.costPerHourUsd < b.costPerHourUsd ||
            !interchangeableAndLarger(b, a) ||
            byCostThenName(a, b) < 0),
      ),
  );
}

export interface CoverPart {
  t: ScalingTemplate;
  contents: Demand[];
}

/**
 * The cheapest way to launch hosts for `contents` (which one fresh host of `fallback` holds):
 * for each template, as many fresh hosts of it as first fit (in queue order) needs to hold them
 * all; the cheapest total wins, then the fewest hosts, then the order of `templates` (by cost,
 * then name).
 */
export function cheapestCover(
  contents: readonly Demand[],
  templates: readonly ScalingTemplate[],
  fallback: ScalingTemplate,
): CoverPart[] {
  let best: { parts: CoverPart[]; cost: number } | undefined;
  for (const t of templates) {
    const parts: CoverPart[] = [];
    let left: readonly Demand[] = contents;
    let cost = 0;
    while (left.length > 0 && (best === undefined || cost < best.cost)) {
      const part = fillFresh(t, left);
      if (part.length === 0) break;
      parts.push({ t, contents: part });
      cost += t.costPerHourUsd;
      const taken = new Set(part);
      left = left.filter((d) => !taken.has(d));
    }
    if (left.length > 0) continue;
    if (best === undefined || cost < best.cost || (cost === best.cost && parts.length < best.parts.length))
      best = { parts, cost };
  }
  return best?.parts ?? [{ t: fallback, contents: [...contents] }];
}
