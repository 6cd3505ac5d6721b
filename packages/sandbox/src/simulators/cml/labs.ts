import type { SimReply } from '../common.ts';
import { type CmlAuthedCall, type CmlSimState, getLab, isBooted, type SimLab } from './model.ts';
import { fail, flag, ok } from './reply.ts';
import { importLab } from './topology.ts';

/**
 * Labs: list (`show_all` for admins), import, get/patch/delete (delete needs a wiped lab unless
 * `deleteUnwiped: 'allow'`), state, start/stop/wipe, convergence and the topology download.
 */

export const labJson = (lab: SimLab) => ({
  id: lab.id,
  created: lab.created,
  modified: lab.modified,
  lab_title: lab.title,
  lab_description: lab.description,
  lab_notes: lab.notes,
  owner: lab.owner,
  owner_username: lab.owner,
  state: lab.state,
  node_count: lab.nodes.length,
  link_count: lab.links.length,
  groups: [],
  effective_permissions: ['lab_admin', 'lab_edit', 'lab_exec', 'lab_view'],
});

export function labRoutes(
  sim: CmlSimState,
  { req, path: p, method: m, user }: CmlAuthedCall,
): SimReply | undefined {
  if (p === '/labs' && m === 'GET') {
    const all = flag(req.query, 'show_all');
    if (all && !sim.admins.has(user)) throw fail(403, 'User does not have permission to see all labs');
    return ok([...sim.labs.values()].filter((l) => all || l.owner === user).map((l) => l.id));
  }
  if (p === '/import' && m === 'POST') {
    const title = req.query.get('title');
    return ok(importLab(sim, req.body, title && title.length > 0 ? title : null, user));
  }

  let r = /^\/labs\/([^/]+)$/.exec(p);
  if (r) {
    const lab = getLab(sim, decodeURIComponent(r[1]!));
    if (m === 'GET') return ok(labJson(lab));
    if (m === 'PATCH') {
      const b = req.json() as Record<string, unknown>;
      if (typeof b.title === 'string') lab.title = b.title;
      if (typeof b.description === 'string') lab.description = b.description;
      if (typeof b.notes === 'string') lab.notes = b.notes;
      lab.modified = new Date().toISOString();
      return ok(labJson(lab));
    }
    if (m === 'DELETE') {
      if (lab.state !== 'DEFINED_ON_CORE' && sim.opts.deleteUnwiped !== 'allow') {
        const status = sim.opts.deleteUnwiped ?? 409;
        throw fail(status, `Lab ${lab.id} must be stopped and wiped before it can be deleted`);
      }
      sim.labs.delete(lab.id);
      return { status: 204 };
    }
    throw fail(405, 'Method not allowed');
  }

  r = /^\/labs\/([^/]+)\/(state|start|stop|wipe|check_if_converged|download)$/.exec(p);
  if (!r) return undefined;
  const lab = getLab(sim, decodeURIComponent(r[1]!));
  const actionDone = (): SimReply =>
    (sim.opts.labActionStatus ?? 204) === 200 ? { status: 200, body: null } : { status: 204 };
  switch (`${m} ${r[2]!}`) {
    case 'GET state':
      return ok(lab.state);
    case 'PUT start':
      if (lab.state !== 'STARTED') {
        lab.state = 'STARTED';
        lab.startedAt = Date.now();
      }
      return actionDone();
    case 'PUT stop':
      if (lab.state === 'STARTED') lab.state = 'STOPPED';
      lab.startedAt = undefined;
      return actionDone();
    case 'PUT wipe':
      if (lab.state === 'STARTED') throw fail(409, `Lab ${lab.id} must be stopped before it can be wiped`);
      lab.state = 'DEFINED_ON_CORE';
      return actionDone();
    case 'GET check_if_converged':
      return ok(lab.state !== 'STARTED' || lab.nodes.every((n) => isBooted(sim, lab, n)));
    case 'GET download':
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: lab.yaml };
    default:
      throw fail(405, 'Method not allowed');
  }
}
