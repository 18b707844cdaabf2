// The JSON admin API of one managed grid: list (filtered, sorted, paged), get, create (POST), update (PATCH) and
// delete, over the config file's entries (`source: config`, read-only here) and the managed ones
// (`source: managed`, versioned). What each call does is the grid service's; this file only speaks HTTP.

import type { Request, Response, Router } from 'express';
import { sendJson } from '../../respond/json.js';
import { sendPlainError } from '../../respond/errors.js';
import type { CredentialKind } from '../../store/credentials.js';
import type { GridContext } from '../grids/handler.js';
import { stringQuery } from '../grids/views.js';
import { listQueryOf } from './list-query.js';
import type { GridAnswer, ManagedGridService } from './service.js';

const answer = (res: Response, reply: GridAnswer) => sendJson(res, reply.status, reply.body, reply.headers);
const actor = (res: Response) => res.locals.admin?.name ?? 'unknown';

export function managedGridRoutes<K extends CredentialKind>(router: Router, grid: GridContext, service: ManagedGridService<K>): void {
  const base = `/admin/${service.def.grid}`;
  const id = (req: Request) => String(req.params['id']);

  router.get(
    base,
    grid.route(async (req, res) => {
      const query = listQueryOf(Object.fromEntries(['q', 'sort', 'order', 'offset', 'limit'].map((name) => [name, stringQuery(req, name)])));
      if (typeof query === 'string') return sendPlainError(res, 400, 'invalid_request', query);
      const { rows, total } = await service.list(query);
      res.json({ [service.def.grid]: rows, total });
    }),
  );
  router.get(`${base}/:id`, grid.route(async (req, res) => answer(res, await service.get(id(req)))));
  router.post(base, grid.route(async (req, res) => answer(res, await service.create(req.body, actor(res)))));
  router.patch(`${base}/:id`, grid.route(async (req, res) => answer(res, await service.update(id(req), req.body, req.get('if-match'), actor(res)))));
  router.delete(
    `${base}/:id`,
    grid.route(async (req, res) => answer(res, await service.remove(id(req), { force: req.query['force'] === 'true', ifMatch: req.get('if-match') }, actor(res)))),
  );
}
