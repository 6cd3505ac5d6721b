import type { SimReply, SimRequest } from '../common.ts';
import { type CmlSimState, snapshotAll } from './model.ts';
import { ok } from './reply.ts';

/**
 * Test control over HTTP (`/_sim/...`) beyond the shared fault and request-log routes (which the
 * server answers first): the labs held, invalidating every token, and switching the controller
 * down (502 everywhere under the API, as nginx answers while CML starts) or not ready.
 */

/** What nginx answers in front of a controller that is down or still starting. */
export const CONTROLLER_DOWN: SimReply = {
  status: 502,
  contentType: 'text/html',
  body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>',
};

export function simControlRoutes(sim: CmlSimState, req: SimRequest): SimReply | undefined {
  if (req.path === '/_sim/labs' && req.method === 'GET') return ok(snapshotAll(sim));
  if (req.path === '/_sim/tokens/invalidate' && req.method === 'POST') {
    sim.tokens.clear();
    return { status: 204 };
  }
  if (req.path === '/_sim/controller' && req.method === 'POST') {
    const b = req.json() as { up?: unknown; ready?: unknown };
    if (typeof b.up === 'boolean') sim.controllerUp = b.up;
    if (typeof b.ready === 'boolean') sim.ready = b.ready;
    return { status: 204 };
  }
  return undefined;
}
