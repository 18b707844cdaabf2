// The four managed grids' services, made once per admin listener and shared by the JSON API and the console.

import type { GridDefinition, ManagedContext } from './definition.js';
import { clientsGrid } from './clients.js';
import { keysGrid } from './keys.js';
import { operatorsGrid } from './operators.js';
import { ManagedGridService, type GridServiceDeps } from './service.js';
import { usersGrid } from './users.js';

export interface ManagedGrids {
  keys: ManagedGridService<'key'>;
  users: ManagedGridService<'user'>;
  clients: ManagedGridService<'client'>;
  operators: ManagedGridService<'operator'>;
}

export function managedGrids(context: ManagedContext, deps: GridServiceDeps): ManagedGrids {
  return {
    keys: new ManagedGridService(keysGrid, context, deps),
    users: new ManagedGridService(usersGrid, context, deps),
    clients: new ManagedGridService(clientsGrid, context, deps),
    operators: new ManagedGridService(operatorsGrid, context, deps),
  };
}

/** The grids in the order the API and the console list them. */
export const gridList = (grids: ManagedGrids): ManagedGridService[] => [grids.keys, grids.users, grids.clients, grids.operators] as ManagedGridService[];

export type { GridDefinition };
