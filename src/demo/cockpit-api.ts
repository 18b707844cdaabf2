// The Cockpit-style JSON API of the demo backend (/api/dashboard, /api/tickets, /api/operators/me), the side
// OAuth bearer tokens reach. /api/operators/me turns the forwarded identity headers back into an operator.

import { receivedHeader } from './received.js';
import { isPlainObject, parseBody, sendJson, type Call, type Handler } from './exchange.js';
import { NEXT_TICKET_ID, TICKETS, type Ticket } from './fixtures.js';

export const serveDashboard: Handler = ({ res, received }) => {
  sendJson(res, 200, {
    dashboard: {
      openTickets: 42,
      slaBreaches: 3,
      unassignedTickets: 7,
      ticketsCreatedToday: 12,
      ticketsResolvedToday: 9,
      averageResolutionHours: 5.4,
      customerSatisfaction: 0.92,
    },
    received,
  });
};

/** Finds an identity value by its role, so renamed headers (`x-acme-user`) still work. */
function identityValue(identity: Record<string, string>, role: string): string | null {
  for (const [name, value] of Object.entries(identity)) {
    if (name === role || name.endsWith(`-${role}`)) return value;
  }
  return null;
}

function identityList(identity: Record<string, string>, role: string): string[] {
  const value = identityValue(identity, role);
  return value === null ? [] : value.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

export const serveOperator: Handler = ({ res, received }) => {
  const { identity } = received;
  sendJson(res, 200, {
    operator: {
      login: identityValue(identity, 'user'),
      authMethod: identityValue(identity, 'auth'),
      clientId: identityValue(identity, 'client-id'),
      scope: identityValue(identity, 'scope'),
      teams: identityList(identity, 'teams'),
      organizations: identityList(identity, 'organizations'),
      features: identityList(identity, 'features'),
    },
    received,
  });
};

export const listTickets: Handler = ({ res, received }) => {
  sendJson(res, 200, { tickets: TICKETS, total: TICKETS.length, received });
};

function findTicket(call: Call, id: number): Ticket | undefined {
  const ticket = TICKETS.find((t) => t.id === id);
  if (!ticket) sendJson(call.res, 404, { error: 'not_found', received: call.received });
  return ticket;
}

export function showTicket(call: Call, id: number): void {
  const ticket = findTicket(call, id);
  if (ticket) sendJson(call.res, 200, { ticket, received: call.received });
}

/** Reads a body that must be a JSON (or form) object; answers the error itself and returns undefined. */
async function readObjectBody(call: Call): Promise<Record<string, unknown> | undefined> {
  const body = await parseBody(call);
  if (body === undefined) return undefined;
  if (!isPlainObject(body)) {
    sendJson(call.res, 400, { error: 'invalid_body', detail: 'expected a JSON object', received: call.received });
    return undefined;
  }
  return body;
}

export async function createTicket(call: Call): Promise<void> {
  const fields = await readObjectBody(call);
  if (!fields) return;
  // The demo keeps no state, so every create gets the same id; clients only need a plausible answer.
  call.res.setHeader('location', `/api/tickets/${NEXT_TICKET_ID}`);
  sendJson(call.res, 201, { ticket: { ...fields, id: NEXT_TICKET_ID }, received: call.received });
}

export async function updateTicket(call: Call, id: number, mode: 'replace' | 'merge'): Promise<void> {
  const existing = findTicket(call, id);
  if (!existing) return;
  const fields = await readObjectBody(call);
  if (!fields) return;
  // Nothing is stored: the answer shows what the update would have made of the ticket.
  sendJson(call.res, 200, { ticket: { ...(mode === 'merge' ? existing : {}), ...fields, id }, received: call.received });
}

export function deleteTicket(call: Call, id: number): void {
  if (!findTicket(call, id)) return;
  // A 204 has no body to carry `received`, so it travels in a header instead.
  call.res.writeHead(204, { 'x-demo-received': receivedHeader(call.received) });
  call.res.end();
}
