// What observers of a running proxy (metrics) may hook into: they see requests, own-endpoint outcomes, reloads
// and store operations, and read the proxy's runtime when scraped; none of them can change a decision.

import type { Express } from 'express';
import type { CertificateEvent } from '../listener/tls/certificate-reloader.js';
import type { OwnEndpointOutcome } from '../pipeline/face.js';
import type { RequestObserver, Runtime, Services } from '../pipeline/runtime.js';
import type { Store } from '../store/store.js';

/** The parts of a running proxy an observer reads. */
export interface ObservedProxy {
  readonly runtime: Runtime;
  readonly services: Services;
}

/** Hooks for observers of what the proxy does (metrics); none of them can change a decision. */
export interface PortcullisHooks {
  request?: RequestObserver;
  /** What an own endpoint did (token requests, PCR-360 logins and logouts). */
  ownEndpoint?: (outcome: OwnEndpointOutcome) => void;
  reload?: (result: { ok: true; restartNeeded: string[] } | { ok: false; problems: string[] }) => void;
  /** Adds routes to the admin listener that need no admin token (metrics). */
  extendAdmin?: (app: Express) => void;
  /** Wraps the store right after it is created or received (timing its operations for metrics). */
  wrapStore?: (store: Store) => Store;
  /** A listener's TLS certificate: the one served at start, and each rotation applied or refused. */
  tlsCertificate?: (event: CertificateEvent) => void;
  /** Called once the proxy listens, so observers can read its runtime when they are scraped. */
  started?: (proxy: ObservedProxy) => void;
}

