// The answer to a request Node's parser refuses (malformed, headers too large, too slow): a short JSON error,
// then the connection closes. Answers owed to earlier requests on the connection go out first (RFC 9112 §9.3.2).

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { rawReply } from '../respond/errors.js';
import { afterOwedResponses, isWaitingToAnswer } from './outstanding-responses.js';

/** What the listener reads of Node's connection state; neither field is in Node's public types. */
type ParsedConnection = Duplex & {
  parser?: { incoming?: IncomingMessage | null } | null;
  _httpMessage?: { headersSent: boolean } | null;
};

export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  // Node reports the failure again for every chunk it reads afterwards; the answer already waiting stands.
  if (isWaitingToAnswer(socket)) return;
  // A failure inside the body of a request already handed on (a bad chunk, a body too slow) is that request's own
  // answer: it waits for the answers ahead of it, not for itself.
  const ownResponseOwed = failsInsideDispatchedBody(socket) ? 1 : 0;
  // A client already reading a streamed answer gets that answer whole; the request it sent meanwhile is then
  // answered by closing the connection, as before, rather than by a 400 appended after the stream.
  if (ownResponseOwed === 0 && (socket as ParsedConnection)._httpMessage?.headersSent === true) {
    afterOwedResponses(socket, 0, () => socket.destroy());
    return;
  }
  afterOwedResponses(socket, ownResponseOwed, () => writeErrorAnswer(error, socket));
}

function writeErrorAnswer(error: NodeJS.ErrnoException, socket: Duplex): void {
  // The failing request's own response may already be on its way: an answer written now would land inside it,
  // so the connection is only cut (Node's own default does the same).
  const inFlight = (socket as ParsedConnection)._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const description = status === 408 ? 'request timed out' : status === 431 ? 'request headers too large' : 'malformed HTTP request';
  // Destroyed once the answer is out, not just ended: the listener allows half-open connections, so a client
  // that never closes its side would otherwise hold the socket for good.
  socket.end(rawReply(status, { error: 'invalid_request', error_description: description }), () => socket.destroy());
}

/** Whether the parser failed in the body of the request it is reading, one already passed to the request handler. */
function failsInsideDispatchedBody(socket: Duplex): boolean {
  const incoming = (socket as ParsedConnection).parser?.incoming;
  return incoming != null && !incoming.complete;
}
