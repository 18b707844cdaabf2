// Upgrades the proxy does not speak (h2c, or anything but WebSocket) are ignored, as RFC 9110 §7.8 allows: the
// request goes back to Node's HTTP/1.1 parser without them and is served like any other, never tunnelled.
// Node cannot be told which upgrades to take: once the server listens for 'upgrade' it hands over every request
// that asks for one, parser detached, so the request head is rebuilt and the connection given back to it.

import type { IncomingMessage, Server } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterOwedResponses, responsesOwed } from './outstanding-responses.js';

type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Fields that exist only to ask for the upgrade: they go, and so do the Connection tokens naming them. */
const UPGRADE_FIELDS: ReadonlySet<string> = new Set(['upgrade', 'http2-settings']);

/** The server's 'upgrade' listener: WebSocket upgrades go to `upgradeWebSocket`, every other one is ignored. */
export function routeUpgrades(server: Server, upgradeWebSocket: UpgradeHandler): UpgradeHandler {
  return function routeUpgrade(req, socket, head) {
    if (asksForWebSocket(req.headers.upgrade)) {
      upgradeWebSocket(req, socket, head);
      return;
    }
    const replay = Buffer.concat([headWithoutUpgrade(req), head]);
    if (responsesOwed(socket) === 0) {
      parseAgain(server, socket, replay);
      return;
    }
    // Responses owed to earlier requests sit in the queue of the parser Node detached; a new parser would not
    // wait for them, so the replay does. Node's error handling left with that parser: until the replay, a
    // connection error just ends the connection.
    socket.on('error', destroyOnError);
    afterOwedResponses(socket, 0, () => {
      socket.off('error', destroyOnError);
      // Once the server stops listening, a connection without a parser is one its shutdown cannot see or cut;
      // the request has not started, so the connection just ends, as an idle one would (the client may retry).
      if (server.listening) parseAgain(server, socket, replay);
      else socket.end(() => socket.destroy());
    });
  };
}

/** Whether an Upgrade field value names WebSocket among its protocols (`websocket`, `WebSocket/13`). */
export function asksForWebSocket(upgrade: string | undefined): boolean {
  if (upgrade === undefined) return false;
  for (const offer of upgrade.split(',')) {
    const slash = offer.indexOf('/');
    if ((slash < 0 ? offer : offer.slice(0, slash)).trim().toLowerCase() === 'websocket') return true;
  }
  return false;
}

/**
 * The request head as it arrived, minus the upgrade: same request line and fields in the same order. Node keeps
 * field values as latin1 strings, one character per byte received, so latin1 restores the exact bytes.
 */
export function headWithoutUpgrade(req: IncomingMessage): Buffer {
  let head = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (UPGRADE_FIELDS.has(lower)) continue;
    let value = raw[i + 1]!;
    if (lower === 'connection') {
      value = value
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token !== '' && !UPGRADE_FIELDS.has(token.toLowerCase()))
        .join(', ');
      if (value === '') continue;
    }
    head += `${name}: ${value}\r\n`;
  }
  return Buffer.from(`${head}\r\n`, 'latin1');
}

/** Puts the rebuilt request back in front of the unread bytes and has Node parse the connection afresh. */
function parseAgain(server: Server, socket: Duplex, replay: Buffer): void {
  if (socket.destroyed) return;
  // The detached parser may have armed a keep-alive timer when its last response finished; the new parser does
  // not know of it and would let it cut the connection in the middle of a response.
  if (socket instanceof Socket) socket.setTimeout(0);
  socket.unshift(replay);
  server.emit('connection', socket);
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}
