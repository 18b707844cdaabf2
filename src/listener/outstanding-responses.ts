// The responses each connection still owes its client. Node sends pipelined responses in request order, but the
// listener's own answers (to a request Node cannot parse, or the replay of an upgrade it ignores) bypass Node's
// queue; they wait here until the answers owed ahead of them are out.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

interface Ledger {
  readonly socket: Duplex;
  owed: number;
  /** At most one per connection: Node parses nothing more on it until the waiting answer is out. */
  waiter: (() => void) | null;
  /** The waiter runs once no more than this many responses are owed. */
  waitsFor: number;
}

const ledgers = new WeakMap<Duplex, Ledger>();

/**
 * Each response keeps its connection's ledger: by the time it closes, its request may have lost its socket
 * (undici clears `socket` on a request body it destroys) and the response has detached from it.
 */
const LEDGER = Symbol('ledger');
type OwedResponse = ServerResponse & { [LEDGER]?: Ledger };

/** Counts `res` as owed on its connection until it closes. Runs once per request: no allocation but the first ledger. */
export function oweResponse(req: IncomingMessage, res: ServerResponse): void {
  let ledger = ledgers.get(req.socket);
  if (ledger === undefined) {
    ledger = { socket: req.socket, owed: 0, waiter: null, waitsFor: 0 };
    ledgers.set(req.socket, ledger);
  }
  ledger.owed++;
  (res as OwedResponse)[LEDGER] = ledger;
  // 'close' alone is enough: Node emits it exactly once, a tick after 'finish' or when the connection is lost.
  res.on('close', settleResponse);
}

function settleResponse(this: OwedResponse): void {
  const ledger = this[LEDGER];
  if (ledger === undefined) return;
  ledger.owed--;
  if (ledger.waiter === null || ledger.owed > ledger.waitsFor) return;
  const waiter = ledger.waiter;
  ledger.waiter = null;
  // A response closing because its connection was lost: there is no one left to answer.
  if (!ledger.socket.destroyed) waiter();
}

export function responsesOwed(socket: Duplex): number {
  return ledgers.get(socket)?.owed ?? 0;
}

/** Whether an answer of the listener's own is already waiting on this connection. */
export function isWaitingToAnswer(socket: Duplex): boolean {
  return ledgers.get(socket)?.waiter != null;
}

/**
 * Runs `then` once no more than `remaining` responses are owed on the connection: now if that is already so. If
 * the connection closes first, `then` never runs. Responses finish in request order, so the ones still owed
 * then are the latest.
 */
export function afterOwedResponses(socket: Duplex, remaining: number, then: () => void): void {
  const ledger = ledgers.get(socket);
  if (ledger === undefined || ledger.owed <= remaining) {
    then();
    return;
  }
  ledger.waiter = then;
  ledger.waitsFor = remaining;
  socket.once('close', () => {
    if (ledger.waiter === then) ledger.waiter = null;
  });
}
