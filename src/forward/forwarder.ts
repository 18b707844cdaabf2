// The one interface the pipeline forwards through, so the engine underneath (http-proxy today) can be swapped
// after measurement without touching authentication code.

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface ForwardTarget {
  /** Path and query exactly as decided on. */
  path: string;
  /** Complete outgoing header set: sanitised client headers plus identity and forwarding headers. */
  headers: OutgoingHttpHeaders;
  /** performance.now() when forwarding began, when the caller has read the clock already. */
  startedAt?: number;
}

export type ForwardFailure = 'upstream_unreachable' | 'upstream_tls_failed' | 'upstream_timeout' | 'upstream_invalid_response' | 'client_aborted';

export interface ForwardResult {
  /** The upstream's status, or null when it never answered. */
  upstreamStatus: number | null;
  failure: ForwardFailure | null;
  /** Seconds from forwarding to the upstream's response headers. */
  upstreamSeconds: number | null;
}

export interface Forwarder {
  /** Streams the request to the upstream and its answer back; on failure answers 502/504 itself. */
  forward(req: IncomingMessage, res: ServerResponse, target: ForwardTarget, done: (result: ForwardResult) => void): void;
  /** Forwards an already-authorised protocol upgrade (WebSocket). */
  forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: ForwardTarget): void;
  close(): Promise<void>;
}
