// The console's grid pages, in navigation order; each registers its routes on the signed-in router.

import type { ConsolePage } from '../context.js';
import { auditPage } from './audit.js';
import { clientsPage } from './clients.js';
import { keysPage } from './keys.js';
import { operatorsPage } from './operators.js';
import { tokensPage } from './tokens.js';
import { usersPage } from './users.js';

export const CONSOLE_PAGES: readonly ConsolePage[] = [keysPage, usersPage, tokensPage, clientsPage, operatorsPage, auditPage];
